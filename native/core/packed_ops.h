// SPDX-License-Identifier: GPL-2.0-or-later
// The packed op form (layout: src/op-pack.ts, which writes it): a commit's ops as one byte
// buffer, decoded here in the libuv pool rather than read field by field through Node-API on
// the main thread. Pure: no kernel, no Node.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/result.h"
#include "core/rule_spec.h"
#include "core/table_ops.h"

namespace connlimit::core {

// Every op of a packed batch written for `family`. Bytes that do not read as the layout says
// (an internal bug: TypeScript wrote them) give a kMalformed error with op "packed ops".
Result<std::vector<Op>> DecodePackedOps(const uint8_t* bytes, size_t size, Family family);

// One packed rule (check, sameRule, the test encoders).
Result<RuleSpec> DecodePackedRule(const uint8_t* bytes, size_t size, Family family);

}  // namespace connlimit::core
