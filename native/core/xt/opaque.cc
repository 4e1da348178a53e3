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
  // Set names decide only where both sides carry them (the native form's lookups, whose blobs
  // hold no index); an ipset blob's index says which set, and a listing's names are JS-only.
  bool same_sets = a.sets.empty() || b.sets.empty() || a.sets == b.sets;
  return a.name == b.name && a.revision == b.revision && a.data == b.data && same_sets;
}

}  // namespace connlimit::core::xt
