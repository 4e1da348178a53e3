// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/commit_stream.h"

#include <utility>

#include "core/packed_ops.h"

namespace connlimit::core {

void CommitStream::AddPacked(const uint8_t* bytes, size_t size, Family family) {
  if (failed_) return;
  auto ops = DecodePackedOps(bytes, size, family);
  size_t first = count_;
  Result<Unit> taken = ops.ok() ? Result<Unit>(Unit{}) : Result<Unit>(ops.error());
  if (ops.ok()) {
    count_ += ops.value().size();
    taken = Take(ops.take(), first);
  }
  if (taken.ok()) return;
  failed_ = taken.error();
  if (failed_->op_index >= 0) failed_->op_index += static_cast<int>(first);
}

Result<std::vector<OpResult>> CommitStream::Finish() {
  if (failed_) return *failed_;
  return Commit();
}

}  // namespace connlimit::core
