// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: the state of one live watch. Which flows are counted (FlowId), how many per key,
// what changed since JS last heard, and threshold crossings in the order they happened. The
// event thread (event_reader) feeds it decoded entries; nothing here does I/O or locking.
//
// Memory is bounded by the flows that pass the filter plus the keys, never by the number of
// events: changes coalesce per key until JS takes them, crossings are capped (kMaxCrossings).
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "core/ct/counter.h"
#include "core/ct/ct_types.h"

namespace connlimit::core::ct {

struct WatchKey {
  uint8_t family = 0;
  Addr addr{};  // masked to the key's prefix
  bool operator==(const WatchKey& o) const { return family == o.family && addr == o.addr; }
};

struct WatchKeyHash {
  size_t operator()(const WatchKey& k) const;
};

// One key's change since the last Take(): coalesced, so a flood becomes one record per key.
struct KeyChange {
  WatchKey key;
  uint64_t count = 0;     // now
  int64_t delta = 0;      // since the last Take()
  uint32_t opened = 0;    // flows that started counting (NEW, or UPDATE into the filter)
  uint32_t closed = 0;    // flows that stopped (DESTROY, or UPDATE out of it, e.g. TIME_WAIT)
};

// A key's count rose above the threshold (count == threshold + 1) or fell back to it.
struct Crossing {
  WatchKey key;
  bool above = false;
  uint64_t count = 0;
};

struct WatchBatch {
  std::vector<KeyChange> changes;
  std::vector<Crossing> crossings;
  uint64_t crossings_dropped = 0;  // beyond kMaxCrossings since the last Take()
  uint64_t events = 0;             // events decoded since the last Take() (matching or not)
  bool initial = false;            // the first batch: counts from the start-up dump
  bool resynced = false;           // counts were rebuilt from a dump after an overrun
  bool reconciled = false;         // a periodic dump corrected counts the events left wrong
  uint64_t overruns = 0;           // ENOBUFS seen since the last Take()
  uint64_t overruns_total = 0;
};

struct WatchConfig {
  Filter filter;
  KeyField key = KeyField::kSource;
  uint8_t prefix4 = 32, prefix6 = 128;
  uint64_t threshold = 0;  // 0: no crossings

  uint8_t PrefixFor(uint8_t family) const;
  WatchKey KeyOf(const Entry& e) const;
};

// Which flow an event is about. CTA_ID alone is not enough: it is a 32-bit hash
// (nf_ct_get_id(), siphash of the entry's address and tuple, truncated), so two live entries
// can share one. At 100k entries about one pair does (birthday bound: n^2 / 2^33), and the
// second flow's NEW was taken for the first's and never counted. The original tuple and zone
// are unique among live entries (they are the hash table's key); the id is kept beside them
// so a flow that reuses a tuple is still told from the one before it.
struct FlowId {
  uint32_t id = 0;
  uint16_t zone = 0;
  uint8_t family = 0;
  uint8_t protocol = 0;
  Tuple orig;
  static FlowId Of(const Entry& e);
  bool operator==(const FlowId& o) const;
};
struct FlowIdHash {
  size_t operator()(const FlowId& f) const;
};
// A counted flow. `unconfirmed`: known only from a dump, and no event has shown that the
// kernel reports on it. At the default nf_conntrack_events=2 the kernel attaches the event
// extension only to entries created while some ctnetlink listener exists, so a flow older
// than the watch may close without a DESTROY (NETFILTER-NOTES.md §12): only a later dump can
// tell it is gone. Any event about a flow (NEW, UPDATE) proves it has the extension.
struct FlowInfo {
  WatchKey key;
  bool unconfirmed = false;
};
using FlowMap = std::unordered_map<FlowId, FlowInfo, FlowIdHash>;
using KeyCounts = std::unordered_map<WatchKey, uint64_t, WatchKeyHash>;

// The flows of one dump, built by the event thread while JS may still read the previous
// counts; handed to WatchState::Merge in one step.
struct DumpTally {
  explicit DumpTally(const WatchConfig& c) : config(c) {}
  void Add(const Entry& e);  // entries already filtered
  void Clear() { flows.clear(); }
  const WatchConfig& config;
  std::unordered_map<FlowId, WatchKey, FlowIdHash> flows;
};

// Why a dump is merged: the first counts, a rebuild after lost events, or the periodic check
// of flows the events may never report on.
enum class SyncKind { kInitial, kResync, kReconcile };

class WatchState {
 public:
  explicit WatchState(WatchConfig config) : config_(std::move(config)) {}

  // One decoded event. NEW counts a matching flow once; DESTROY uncounts a counted one; an
  // UPDATE re-checks the filter, so a flow entering TIME_WAIT leaves a filter that excludes it.
  void Apply(const Entry& e, EntryKind kind);

  // Make the flows those of a dump (built without the lock, see DumpTally): flows it lacks stop
  // counting, flows it adds start counting unconfirmed, flows in both keep what events told
  // of them. Every key whose count moved is reported with one crossing for its net move.
  // Events read after the dump are applied on top, so a change racing the dump still lands.
  void Merge(DumpTally&& tally, SyncKind kind);

  void NoteEvents(uint64_t n) { pending_.events += n; }
  void NoteOverrun() {
    pending_.overruns++;
    overruns_total_++;
  }

  bool HasPending() const;
  // Everything since the last Take(), and forget it. Keys at zero are dropped from the state.
  WatchBatch Take();

  // Every key's current count, most first (ties: family, then address).
  std::vector<KeyCount> Counts() const;
  // One key's count (its address already masked to the key prefix); 0 for a key holding none.
  uint64_t CountOf(const WatchKey& k) const;
  // Moves on whenever a count may have changed (never back): a reader that kept what Counts()
  // gave at one version knows it is still exact while the version is the same.
  uint64_t version() const { return version_; }
  const WatchConfig& config() const { return config_; }
  // Counted flows no event has confirmed: while any remain, only a dump can see them close.
  uint64_t unconfirmed() const { return unconfirmed_; }

  static constexpr size_t kMaxCrossings = 4096;

 private:
  void Start(const FlowId& flow, const WatchKey& k);
  void Confirm(FlowInfo& flow);
  void Stop(FlowMap::iterator flow);
  void Touch(const WatchKey& k, int step);
  void Cross(const WatchKey& k, uint64_t before, uint64_t now);

  WatchConfig config_;
  FlowMap flows_;
  KeyCounts counts_;
  KeyCounts reported_;  // counts as JS last saw them
  std::unordered_map<WatchKey, KeyChange, WatchKeyHash> changed_;
  WatchBatch pending_;
  uint64_t overruns_total_ = 0;
  uint64_t unconfirmed_ = 0;
  uint64_t version_ = 0;
};

}  // namespace connlimit::core::ct
