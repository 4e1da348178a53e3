// SPDX-License-Identifier: GPL-2.0-or-later
// The one table of the xt modules we model: the kernel's name and revision, the families the
// module is registered for, and its codec. The legacy entry framing and the nf_tables compat
// form find modules only through here (via extension.h); a module never reaches another.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "core/rule_spec.h"
#include "core/xt/codec.h"

namespace connlimit::core::xt {

enum class Families : uint8_t { kIpv4 = 1, kIpv6 = 2, kBoth = 3 };

struct Module {
  const char* name;  // xt_match.name / xt_target.name
  uint8_t revision;
  Families families;
  // A match or a target: the kernel keeps their names apart (xt_find_match, xt_find_target).
  std::variant<const MatchCodec*, const TargetCodec*> codec;
};

// The module the kernel's (name, revision) means in `family`; nullptr when none is modelled.
const Module* FindMatchModule(const std::string& name, uint8_t revision, Family family);
const Module* FindTargetModule(const std::string& name, uint8_t revision, Family family);

// The module that writes a model (Match::index(), or a target kind) in `family`: the first row
// for it, so a newer revision goes above an older one it replaces.
const Module* MatchModuleFor(size_t model, Family family);
const Module* TargetModuleFor(Target::Kind model, Family family);

}  // namespace connlimit::core::xt
