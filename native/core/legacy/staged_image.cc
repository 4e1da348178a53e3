// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/legacy/staged_image.h"

#include <utility>

#include "core/packed_ops.h"

namespace connlimit::core::legacy {
namespace {

// The ops before the image's: the flush and the deletion EmptiesTable() found.
constexpr int kEmptyingOps = 2;
// A rule's entry is ~4 times its packed op (a connlimit rule: 63 bytes packed, 264 as an entry;
// more with IPv6 addresses): reserved, not touched, so a generous guess costs nothing. Made for
// the first chunk, which is the whole batch when it comes at once; a staged one grows from there.
constexpr size_t kEntryPerPackedByte = 8;

bool Empties(int index, const Op& op) {
  if (index == 0) return op.kind == Op::Kind::kFlush && op.chain.empty();
  return op.kind == Op::Kind::kDeleteUserChains;
}

}  // namespace

StagedImage::StagedImage(Family family, const std::string& table) : family_(family), image_(family, TableHooks(table)) {}

void StagedImage::Apply(const uint8_t* bytes, size_t size) {
  if (error_) return;
  if (ops_ == 0) image_.Reserve(size * kEntryPerPackedByte);
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
