// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/xt/opaque.h"

namespace connlimit::core::xt {
namespace {

constexpr size_t kHeader = XT_ALIGN(sizeof(struct xt_entry_match));  // 32, a target's alike

bool FitsName(const std::string& name) { return !name.empty() && name.size() < XT_EXTENSION_MAXNAMELEN; }

}  // namespace

OpaqueExtension OpaqueOf(const std::string& name, uint8_t revision, const uint8_t* data, size_t len) {
  OpaqueExtension o;
  o.name = name;
  o.revision = revision;
  o.data.assign(data, data + len);
  return o;
}

Result<XtBlob> EncodeOpaqueMatch(const OpaqueExtension& opaque) {
  if (!FitsName(opaque.name)) return EncodeError("extension name");
  if (kHeader + opaque.data.size() > 0xFFFF - 8) return EncodeError("extension data too large");
  return PaddedBlob(opaque.name, opaque.revision, opaque.data);
}

Result<XtBlob> EncodeOpaqueTarget(const OpaqueExtension& opaque) {
  if (!FitsName(opaque.name)) return EncodeError("extension name");
  return PaddedBlob(opaque.name, opaque.revision, opaque.data);
}

bool SameOpaque(const OpaqueExtension& a, const OpaqueExtension& b) {
  return a.name == b.name && a.revision == b.revision && a.data == b.data && a.sets == b.sets;
}

}  // namespace connlimit::core::xt
