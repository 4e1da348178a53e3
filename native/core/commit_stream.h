// SPDX-License-Identifier: GPL-2.0-or-later
// A commit whose ops arrive in parts: a big transaction is still being parsed and packed on the
// main thread while the pool already decodes (and, on legacy, applies) the parts packed so far,
// so the two overlap. Used by one pool job at a time (js/commit_stream.h runs the jobs); pure
// bookkeeping here, the backends' kernel work behind Take() and Finish().
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/result.h"
#include "core/rule_spec.h"
#include "core/table_ops.h"

namespace connlimit::core {

class CommitStream {
 public:
  virtual ~CommitStream() = default;

  // Decodes one packed part (a whole batch: header and ops) and hands its ops on. After the
  // first failure the rest is ignored: Finish() reports that failure, with op_index counted over
  // every part, as one commit of all the ops would have.
  void AddPacked(const uint8_t* bytes, size_t size, Family family);

  // Commits everything added, unless a part failed. All or nothing, as CommitOps.
  Result<std::vector<OpResult>> Finish();

 protected:
  // The ops of one part; `first` is the index of ops[0] among all. An error's op_index is
  // within `ops`.
  virtual Result<Unit> Take(std::vector<Op> ops, size_t first) = 0;
  virtual Result<std::vector<OpResult>> Commit() = 0;

 private:
  size_t count_ = 0;
  std::optional<KernelError> failed_;
};

}  // namespace connlimit::core
