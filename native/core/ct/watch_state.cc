// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/ct/watch_state.h"

#include <sys/socket.h>

#include <algorithm>

namespace connlimit::core::ct {

size_t WatchKeyHash::operator()(const WatchKey& k) const {
  uint64_t h = 1469598103934665603ull ^ k.family;  // FNV-1a, as KeyCounter
  for (uint8_t b : k.addr) h = (h ^ b) * 1099511628211ull;
  return static_cast<size_t>(h);
}

FlowId FlowId::Of(const Entry& e) { return FlowId{e.id, e.zone, e.family, e.protocol, e.orig}; }

bool FlowId::operator==(const FlowId& o) const {
  return id == o.id && zone == o.zone && family == o.family && protocol == o.protocol && orig.src == o.orig.src &&
         orig.dst == o.orig.dst && orig.sport == o.orig.sport && orig.dport == o.orig.dport &&
         orig.icmp_type == o.orig.icmp_type && orig.icmp_code == o.orig.icmp_code;
}

size_t FlowIdHash::operator()(const FlowId& f) const {
  // FNV-1a over the fields, as WatchKeyHash: the id is already a good hash, the rest makes
  // two flows that share it land apart.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++, v >>= 8) h = (h ^ (v & 0xff)) * 1099511628211ull;
  };
  mix(f.id, 4);
  mix(f.zone, 2);
  mix(f.family, 1);
  mix(f.protocol, 1);
  for (uint8_t b : f.orig.src) h = (h ^ b) * 1099511628211ull;
  for (uint8_t b : f.orig.dst) h = (h ^ b) * 1099511628211ull;
  mix(f.orig.sport, 2);
  mix(f.orig.dport, 2);
  mix(f.orig.icmp_type, 1);
  mix(f.orig.icmp_code, 1);
  return static_cast<size_t>(h);
}

uint8_t WatchConfig::PrefixFor(uint8_t family) const { return family == AF_INET6 ? prefix6 : prefix4; }

WatchKey WatchConfig::KeyOf(const Entry& e) const {
  const Addr& a = key == KeyField::kSource ? e.orig.src : e.orig.dst;
  return WatchKey{e.family, MaskAddr(a, PrefixFor(e.family))};
}

void DumpTally::Add(const Entry& e) {
  WatchKey k = config.KeyOf(e);
  flows.emplace(FlowId::Of(e), k);
}

void WatchState::Cross(const WatchKey& k, uint64_t before, uint64_t now) {
  uint64_t t = config_.threshold;
  if (t == 0 || (before > t) == (now > t)) return;
  if (pending_.crossings.size() >= kMaxCrossings) {
    pending_.crossings_dropped++;
    return;
  }
  pending_.crossings.push_back(Crossing{k, now > t, now});
}

void WatchState::Touch(const WatchKey& k, int step) {
  uint64_t& n = counts_[k];
  uint64_t before = n;
  n = step > 0 ? n + 1 : (n > 0 ? n - 1 : 0);
  version_++;
  KeyChange& c = changed_[k];
  c.key = k;
  c.count = n;
  (step > 0 ? c.opened : c.closed)++;
  Cross(k, before, n);
}

void WatchState::Start(const FlowId& flow, const WatchKey& k) {
  flows_.emplace(flow, FlowInfo{k, false});
  Touch(k, +1);
}

void WatchState::Stop(FlowMap::iterator flow) {
  WatchKey k = flow->second.key;
  if (flow->second.unconfirmed) unconfirmed_--;
  flows_.erase(flow);
  Touch(k, -1);
}

void WatchState::Confirm(FlowInfo& flow) {
  if (!flow.unconfirmed) return;
  flow.unconfirmed = false;
  unconfirmed_--;
}

void WatchState::Apply(const Entry& e, EntryKind kind) {
  FlowId id = FlowId::Of(e);
  auto flow = flows_.find(id);
  bool counted = flow != flows_.end();
  switch (kind) {
    case EntryKind::kNew:
      // Already counted: a dump saw it before its event was read. The event proves the
      // kernel will report its end too.
      if (counted) Confirm(flow->second);
      else if (Matches(config_.filter, e)) Start(id, config_.KeyOf(e));
      break;
    case EntryKind::kDestroy:
      if (counted) Stop(flow);
      break;
    case EntryKind::kEntry: {  // UPDATE: state, mark or status changed; the tuple did not
      bool match = Matches(config_.filter, e);
      if (counted && !match) Stop(flow);
      if (counted && match) Confirm(flow->second);
      if (!counted && match) Start(id, config_.KeyOf(e));
      break;
    }
  }
}

void WatchState::Merge(DumpTally&& tally, SyncKind kind) {
  struct Moved {
    uint32_t opened = 0, closed = 0;
  };
  std::unordered_map<WatchKey, Moved, WatchKeyHash> moved;
  for (auto it = flows_.begin(); it != flows_.end();) {
    if (tally.flows.count(it->first)) {
      ++it;
      continue;
    }
    moved[it->second.key].closed++;
    if (it->second.unconfirmed) unconfirmed_--;
    it = flows_.erase(it);
  }
  for (const auto& [id, key] : tally.flows) {
    if (!flows_.emplace(id, FlowInfo{key, true}).second) continue;
    moved[key].opened++;
    unconfirmed_++;
  }
  if (!moved.empty()) version_++;
  for (const auto& [k, m] : moved) {
    uint64_t& n = counts_[k];
    uint64_t before = n;
    n = n + m.opened - m.closed;  // never below zero: n counted every flow of k in flows_
    KeyChange& c = changed_[k];
    c.key = k;
    c.count = n;
    c.opened += m.opened;
    c.closed += m.closed;
    Cross(k, before, n);
  }
  switch (kind) {
    case SyncKind::kInitial: pending_.initial = true; break;
    case SyncKind::kResync: pending_.resynced = true; break;
    case SyncKind::kReconcile: pending_.reconciled |= !moved.empty(); break;
  }
}

bool WatchState::HasPending() const {
  return !changed_.empty() || !pending_.crossings.empty() || pending_.crossings_dropped || pending_.overruns ||
         pending_.initial || pending_.resynced;
}

WatchBatch WatchState::Take() {
  WatchBatch out = std::move(pending_);
  pending_ = WatchBatch{};
  out.overruns_total = overruns_total_;
  for (auto& [k, c] : changed_) {
    uint64_t& seen = reported_[k];
    c.delta = static_cast<int64_t>(c.count) - static_cast<int64_t>(seen);
    seen = c.count;
    if (c.count == 0) {
      reported_.erase(k);
      counts_.erase(k);
    }
    // A flow that opened and closed between two batches leaves the count as it was: no change.
    if (c.delta != 0) out.changes.push_back(c);
  }
  changed_.clear();
  auto order = [](const KeyChange& a, const KeyChange& b) {
    if (a.count != b.count) return a.count > b.count;
    if (a.key.family != b.key.family) return a.key.family < b.key.family;
    return a.key.addr < b.key.addr;
  };
  std::sort(out.changes.begin(), out.changes.end(), order);
  return out;
}

uint64_t WatchState::CountOf(const WatchKey& k) const {
  auto it = counts_.find(k);
  return it == counts_.end() ? 0 : it->second;
}

std::vector<KeyCount> WatchState::Counts() const {
  std::vector<KeyCount> out;
  out.reserve(counts_.size());
  for (const auto& [k, n] : counts_) {
    if (n == 0) continue;
    out.push_back(KeyCount{k.family, config_.PrefixFor(k.family), k.addr, n});
  }
  std::sort(out.begin(), out.end(), [](const KeyCount& a, const KeyCount& b) {
    if (a.count != b.count) return a.count > b.count;
    if (a.family != b.family) return a.family < b.family;
    return a.addr < b.addr;
  });
  return out;
}

}  // namespace connlimit::core::ct
