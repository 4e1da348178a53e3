// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/xt/same_rule.h"

#include <cstring>
#include <optional>
#include <vector>

#include "core/xt/opaque.h"
#include "core/xt/registry.h"

namespace connlimit::core::xt {
namespace {

bool SameAddress(Family f, const std::optional<Address>& a, const std::optional<Address>& b) {
  if (!a || !b) return !a && !b;
  int n = AddressBytes(f);
  return a->invert == b->invert && memcmp(a->addr, b->addr, n) == 0 && memcmp(a->mask, b->mask, n) == 0;
}

bool SameInterface(const std::optional<Interface>& a, const std::optional<Interface>& b) {
  if (!a || !b) return !a && !b;
  return a->name == b->name && a->wildcard == b->wildcard && a->invert == b->invert;
}

bool SameMatch(Family f, const Match& a, const Match& b) {
  if (a.index() != b.index()) return false;
  if (const auto* x = std::get_if<OpaqueExtension>(&a)) return SameOpaque(*x, std::get<OpaqueExtension>(b));
  const Module* module = MatchModuleFor(a.index(), f);
  return module && std::get<const MatchCodec*>(module->codec)->same(f, a, b);
}

bool SameTarget(const Target& a, const Target& b) {
  if (a.kind != b.kind) return false;
  if (a.kind == Target::Kind::kOpaque) return SameOpaque(a.opaque, b.opaque);
  return a.name == b.name;
}

}  // namespace

bool SameRule(Family family, const RuleSpec& a, const RuleSpec& b) {
  if (a.protocol != b.protocol || a.inv_protocol != b.inv_protocol || a.fragment != b.fragment) return false;
  if (!SameAddress(family, a.src, b.src) || !SameAddress(family, a.dst, b.dst)) return false;
  if (!SameInterface(a.in_interface, b.in_interface) || !SameInterface(a.out_interface, b.out_interface)) return false;
  if (!SameTarget(a.target, b.target)) return false;
  if (a.matches.size() != b.matches.size()) return false;
  // Match order does not change what a rule matches: pair each match of a with an unused equal one of b.
  std::vector<bool> used(b.matches.size(), false);
  for (const auto& m : a.matches) {
    bool found = false;
    for (size_t i = 0; i < b.matches.size() && !found; i++) {
      if (!used[i] && SameMatch(family, m, b.matches[i])) used[i] = found = true;
    }
    if (!found) return false;
  }
  return true;
}

}  // namespace connlimit::core::xt
