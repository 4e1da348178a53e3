// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/xt/extension.h"

#include "core/xt/opaque.h"
#include "core/xt/registry.h"

namespace connlimit::core::xt {

Result<XtBlob> EncodeMatch(Family family, const Match& match) {
  if (const auto* opaque = std::get_if<OpaqueExtension>(&match)) return EncodeOpaqueMatch(*opaque);
  const Module* module = MatchModuleFor(match.index(), family);
  if (!module) return EncodeError("no xt module for this match");
  auto data = std::get<const MatchCodec*>(module->codec)->encode(family, match);
  if (!data.ok()) return data.error();
  return PaddedBlob(module->name, module->revision, data.take());
}

Result<XtBlob> EncodeTarget(Family family, const Target& target) {
  if (target.kind == Target::Kind::kOpaque) return EncodeOpaqueTarget(target.opaque);
  const Module* module = TargetModuleFor(target.kind, family);
  if (!module) return EncodeError("not an extension target");
  auto data = std::get<const TargetCodec*>(module->codec)->encode(family, target);
  if (!data.ok()) return data.error();
  return PaddedBlob(module->name, module->revision, data.take());
}

Match DecodeMatch(Family family, const std::string& name, uint8_t revision, const uint8_t* data, size_t len) {
  if (const Module* module = FindMatchModule(name, revision, family))
    if (auto typed = std::get<const MatchCodec*>(module->codec)->decode(family, data, len)) return *std::move(typed);
  return OpaqueOf(name, revision, data, len);
}

Target DecodeTarget(Family family, const std::string& name, uint8_t revision, const uint8_t* data, size_t len) {
  if (const Module* module = FindTargetModule(name, revision, family))
    if (auto typed = std::get<const TargetCodec*>(module->codec)->decode(family, data, len)) return *std::move(typed);
  Target t;
  t.kind = Target::Kind::kOpaque;
  t.opaque = OpaqueOf(name, revision, data, len);
  return t;
}

}  // namespace connlimit::core::xt
