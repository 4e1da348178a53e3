// SPDX-License-Identifier: GPL-2.0-or-later
// JS <-> plain core structs, on the main thread only. Input has been validated in TypeScript
// (src/rule/*); a shape error here is an internal bug and throws a TypeError. It is never the
// caller's object: normalizeRule builds it from a private copy of plain data
// (src/rule/snapshot.ts), every field set as an own property, so the prototype-chain reads of
// Napi::Object::Get find nothing a prototype (or a polluted Object.prototype) could supply.
#pragma once

#include <napi.h>

#include <vector>

#include "core/rule_spec.h"
#include "core/table_ops.h"

namespace connlimit::js {

core::Family FamilyFromJs(const Napi::Value& v);
core::RuleSpec RuleFromJs(const Napi::Value& v, core::Family family);
// One NativeOp (src/native-types.ts); js/op_batch collects them for a commit.
core::Op OpFromJs(const Napi::Value& v, core::Family family);

Napi::Object RuleToJs(Napi::Env env, const core::RuleSpec& rule, core::Family family);
// Flat pairs (changed 0/1, index) per op: one allocation however many ops a commit had.
Napi::Int32Array OpResultsToJs(Napi::Env env, const std::vector<core::OpResult>& results);
Napi::Array ChainsToJs(Napi::Env env, const std::vector<core::ListedChain>& chains, core::Family family);

}  // namespace connlimit::js
