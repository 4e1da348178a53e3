// SPDX-License-Identifier: GPL-2.0-or-later
// The packed op form (layout: src/op-pack.ts, which writes it): a commit's ops as one byte
// buffer, decoded here in the libuv pool rather than read field by field through Node-API on
// the main thread. Pure: no kernel, no Node.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/result.h"
#include "core/rule_spec.h"
#include "core/table_ops.h"

namespace connlimit::core {

// A packed batch written for `family`, read one op at a time into an Op the caller keeps:
// each op overwrites the previous one in place, reusing its strings and match list, so a
// batch of 10,000 rule ops is read without allocating per op or holding them all at once.
// Bytes that do not read as the layout says (an internal bug: TypeScript wrote them) end the
// reading with a kMalformed error, op "packed ops", naming the op (-1: the header).
class PackedOpReader {
 public:
  PackedOpReader(const uint8_t* bytes, size_t size, Family family);
  // False at the end of the batch, or at bytes that don't read (then error() is set).
  bool Next(Op& op);
  const std::optional<KernelError>& error() const { return error_; }

 private:
  const uint8_t* at_;
  const uint8_t* end_;
  Family family_;
  int index_ = -1;
  std::optional<KernelError> error_;
};

// Every op of a packed batch written for `family`. Bytes that do not read as the layout says
// (an internal bug: TypeScript wrote them) give a kMalformed error with op "packed ops".
Result<std::vector<Op>> DecodePackedOps(const uint8_t* bytes, size_t size, Family family);

// One packed rule (check, sameRule, the test encoders).
Result<RuleSpec> DecodePackedRule(const uint8_t* bytes, size_t size, Family family);

}  // namespace connlimit::core
