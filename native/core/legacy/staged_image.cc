// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/legacy/staged_image.h"

#include <algorithm>
#include <utility>

#include "core/packed_ops.h"

namespace connlimit::core::legacy {
namespace {

// The ops before the image's: the flush and the deletion EmptiesTable() found.
constexpr int kEmptyingOps = 2;
// Room for the rules' entries, reserved (not touched, so a generous guess costs nothing) so that
// the arena is not copied as it grows: a connlimit rule's entry is 264 bytes, more with IPv6
// addresses or a comment. Capped: beyond it the arena grows as a vector does.
constexpr size_t kEntryBytesGuess = 512;
constexpr size_t kMaxReserve = size_t{64} << 20;

bool Empties(int index, const Op& op) {
  if (index == 0) return op.kind == Op::Kind::kFlush && op.chain.empty();
  return op.kind == Op::Kind::kDeleteUserChains;
}

}  // namespace

StagedImage::StagedImage(Family family, const std::string& table, size_t expected_rules)
    : family_(family), image_(family, TableHooks(table)) {
  image_.Reserve(std::min(expected_rules, kMaxReserve / kEntryBytesGuess) * kEntryBytesGuess);
}

void StagedImage::Apply(const uint8_t* bytes, size_t size) {
  if (error_) return;
  PackedOpReader in(bytes, size, family_);
  Op op;
  while (in.Next(op)) {
    const int index = ops_++;
    if (index < kEmptyingOps) {
      if (!Empties(index, op)) {
        error_ = KernelError{"packed ops", EINVAL, "a table replace that does not start by emptying the table", index,
                             ErrorKind::kMalformed};
        return;
      }
      results_.push_back(OpResult{});
      continue;
    }
    auto r = image_.Apply(op);
    if (!r.ok()) {
      error_ = r.error();
      error_->op_index = index;
      return;
    }
    results_.push_back(r.value());
  }
  if (in.error()) error_ = *in.error();
}

bool StagedImage::Add(std::vector<uint8_t> chunk) {
  std::lock_guard<std::mutex> lock(mu_);
  pending_.push_back(std::move(chunk));
  if (scheduled_) return false;
  scheduled_ = true;
  return true;
}

bool StagedImage::Take(std::unique_lock<std::mutex>& lock, std::vector<uint8_t>& chunk) {
  if (pending_.empty()) return false;
  chunk = std::move(pending_.front());
  pending_.pop_front();
  applying_ = true;
  lock.unlock();
  return true;
}

void StagedImage::Applied(std::unique_lock<std::mutex>& lock) {
  lock.lock();
  applying_ = false;
  idle_.notify_all();
}

void StagedImage::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  std::vector<uint8_t> chunk;
  while (!finishing_ && Take(lock, chunk)) {
    Apply(chunk.data(), chunk.size());
    image_.PrepareBuild();
    Applied(lock);
  }
  scheduled_ = false;
}

Result<std::vector<OpResult>> StagedImage::Finish() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [this] { return !applying_; });
  finishing_ = true;
  std::vector<uint8_t> chunk;
  while (Take(lock, chunk)) {
    Apply(chunk.data(), chunk.size());
    Applied(lock);
  }
  lock.unlock();
  if (error_) return *error_;
  return std::move(results_);
}

}  // namespace connlimit::core::legacy
