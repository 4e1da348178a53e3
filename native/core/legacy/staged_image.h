// SPDX-License-Identifier: GPL-2.0-or-later
// No I/O (threads share it under a mutex): the table a batch that empties the table first (table_replace.h's EmptiesTable: a
// restore without noflush) leaves, built from its packed ops (core/packed_ops.h) in chunks as
// they come: restore() hands each slice's ops over while the main thread parses the next
// (docs/threads.md), so the entries are encoded in the pool meanwhile and the replace
// (iptc_table.h's CommitStaged) starts once the last slice is applied. A whole batch in one
// chunk is the same image, op for op (the commit of such a batch from commit() is that).
// Chunks are applied in the order they came, by one thread at a time: Add() says when the
// caller must queue a Drain(); Finish() waits only for a chunk being applied (never for a Drain
// still queued, which may need the very pool thread Finish() holds) and applies the rest itself.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/legacy/table_image.h"
#include "core/result.h"
#include "core/table_ops.h"

namespace connlimit::core::legacy {

class StagedImage {
 public:
  // Table `table` emptied: its built-in chains (TableHooks) with no rule and no policy of their
  // own. `expected_rules`: how many rules the ops will append, for the room their entries take.
  StagedImage(Family family, const std::string& table, size_t expected_rules);

  // Applies one chunk now, on the calling thread (no Drain() may be running).
  void Apply(const uint8_t* bytes, size_t size);
  // Queues a chunk (its packed header, then whole ops); true when no Drain() is queued or
  // running, and the caller must queue one.
  bool Add(std::vector<uint8_t> chunk);
  // Applies the queued chunks in order until none is left, or Finish() took over.
  void Drain();
  // Once the chunk being applied (if any) is, every chunk left applied here: each op's result,
  // or the first op that failed (its op_index counts from the first chunk's first op). Then
  // image(). Called once, after the last Add().
  Result<std::vector<OpResult>> Finish();
  TableImage& image() { return image_; }

 private:
  Family family_;
  TableImage image_;
  // Touched by the one thread applying (Apply(), or whoever set applying_).
  std::vector<OpResult> results_;
  std::optional<KernelError> error_;
  int ops_ = 0;
  std::mutex mu_;
  std::condition_variable idle_;
  // Under mu_: the chunks not taken yet, whether a Drain() is queued or running, whether a
  // chunk is being applied, whether Finish() took over.
  std::deque<std::vector<uint8_t>> pending_;
  bool scheduled_ = false;
  bool applying_ = false;
  bool finishing_ = false;

  // The next chunk for the caller to apply, unlocked (applying_ set), or false (still locked)
  // when none is left; Applied() locks again once it is applied.
  bool Take(std::unique_lock<std::mutex>& lock, std::vector<uint8_t>& chunk);
  void Applied(std::unique_lock<std::mutex>& lock);
};

}  // namespace connlimit::core::legacy
