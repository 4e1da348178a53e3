// SPDX-License-Identifier: GPL-2.0-or-later
// What the IPv4 and IPv6 REJECT modules (reject_ipv4.cc, reject_ipv6.cc) share: a table from the
// kernel's --reject-with enum to the name iptables-save 1.8.9 prints, read the same way both
// ways. Each module's data is one 32-bit `with` field.
#pragma once

#include <cstdint>
#include <optional>

#include "core/xt/codec.h"

namespace connlimit::core::xt {

struct RejectName {
  unsigned value;
  const char* name;
};

// The data for the target's --reject-with name; `Info` is the module's kernel struct.
template <typename Info, size_t N>
Result<Bytes> EncodeRejectWith(const RejectName (&names)[N], const Target& target) {
  for (const auto& r : names) {
    if (target.name != r.name) continue;
    Info info{};
    info.with = static_cast<decltype(info.with)>(r.value);
    return StructBytes(info);
  }
  return EncodeError("unknown --reject-with " + target.name);
}

// A kReject target, or nullopt for a value not in `names` (the target then stays opaque).
template <typename Info, size_t N>
std::optional<Target> DecodeRejectWith(const RejectName (&names)[N], const uint8_t* data, size_t len) {
  static_assert(sizeof(Info) == sizeof(uint32_t), "one 32-bit with field");
  if (len != XT_ALIGN(sizeof(Info))) return std::nullopt;
  uint32_t with;  // read as a number: the kernel's value need not be one of the enum's
  std::memcpy(&with, data, sizeof with);
  for (const auto& r : names) {
    if (r.value != with) continue;
    Target t;
    t.kind = Target::Kind::kReject;
    t.name = r.name;
    return t;
  }
  return std::nullopt;
}

}  // namespace connlimit::core::xt
