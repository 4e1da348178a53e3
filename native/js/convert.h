// SPDX-License-Identifier: GPL-2.0-or-later
// JS <-> plain core structs, on the main thread only. Into C++, ops and rules come as the packed
// bytes src/op-pack.ts writes (decoded by core/packed_ops): no JS object of the caller's is read
// here, so no prototype (or polluted Object.prototype) can supply a field. Input has been
// validated in TypeScript (src/rule/*); bytes that do not decode are an internal bug (TypeError).
// Out of C++, listings and results are built as JS objects.
#pragma once

#include <napi.h>

#include <memory>
#include <vector>

#include "core/rule_spec.h"
#include "core/table_ops.h"

namespace connlimit::js {

core::Family FamilyFromJs(const Napi::Value& v);
// A copy of the packed bytes src/op-pack.ts wrote (a Uint8Array), for a pool worker to decode.
std::shared_ptr<const std::vector<uint8_t>> PackedFromJs(const Napi::Value& v);
// One packed rule (src/op-pack.ts packRule), decoded now: for the synchronous calls and check.
core::RuleSpec RuleFromJs(const Napi::Value& v, core::Family family);

Napi::Object RuleToJs(Napi::Env env, const core::RuleSpec& rule, core::Family family);
// Flat pairs (changed 0/1, index) per op: one allocation however many ops a commit had.
Napi::Int32Array OpResultsToJs(Napi::Env env, const std::vector<core::OpResult>& results);
Napi::Array ChainsToJs(Napi::Env env, const std::vector<core::ListedChain>& chains, core::Family family);

}  // namespace connlimit::js
