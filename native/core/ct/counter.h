// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: the filter test every decoded entry goes through, and per-key counting (address masked
// to a prefix) while decoding, so memory grows with the number of keys, not of entries.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "core/ct/ct_types.h"

namespace connlimit::core::ct {

// Whether `e` passes every part of `f` (on the original tuple, as nf_conncount sees a flow).
bool Matches(const Filter& f, const Entry& e);

struct KeyCount {
  uint8_t family = 0;
  uint8_t prefix_len = 0;
  Addr addr{};
  uint64_t count = 0;
};

enum class KeyField { kSource, kDestination };

class KeyCounter {
 public:
  KeyCounter(KeyField field, uint8_t prefix4, uint8_t prefix6) : field_(field), prefix4_(prefix4), prefix6_(prefix6) {}
  void Add(const Entry& e);
  void Clear() { counts_.clear(); }
  // Every key, most entries first (ties: family, then address, ascending); at most `top` when > 0.
  std::vector<KeyCount> Take(size_t top) const;

 private:
  struct Key {
    uint8_t family;
    Addr addr;
    bool operator==(const Key& o) const { return family == o.family && addr == o.addr; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  KeyField field_;
  uint8_t prefix4_, prefix6_;
  std::unordered_map<Key, uint64_t, KeyHash> counts_;
};

}  // namespace connlimit::core::ct
