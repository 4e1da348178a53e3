// SPDX-License-Identifier: GPL-2.0-or-later
// JS <-> plain core structs, on the main thread only. Input has been validated in TypeScript
// (src/rule/*); a shape error here is an internal bug and throws a TypeError.
#pragma once

#include <napi.h>

#include <vector>

#include "core/legacy/iptc_table.h"
#include "core/rule_spec.h"

namespace connlimit::js {

core::Family FamilyFromJs(const Napi::Value& v);
core::RuleSpec RuleFromJs(const Napi::Value& v, core::Family family);
std::vector<core::legacy::Op> OpsFromJs(const Napi::Value& v, core::Family family);

Napi::Object RuleToJs(Napi::Env env, const core::RuleSpec& rule, core::Family family);
Napi::Array OpResultsToJs(Napi::Env env, const std::vector<core::legacy::OpResult>& results);
Napi::Array ChainsToJs(Napi::Env env, const std::vector<core::legacy::ListedChain>& chains, core::Family family);

}  // namespace connlimit::js
