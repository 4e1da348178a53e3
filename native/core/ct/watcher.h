// SPDX-License-Identifier: GPL-2.0-or-later
// I/O: one live watch. A named thread of its own (never the libuv pool: it waits forever)
// subscribes to events first, then dumps, so no flow opened during start-up is missed or
// counted twice (WatchState dedupes by CTA_ID). It applies events as they come, hands
// coalesced batches to `deliver` one at a time (the next only after Acknowledge(), so a flood
// of events is a handful of JS calls), and on ENOBUFS reports the overrun and rebuilds the
// counts from a fresh dump.
//
// Events alone are not the truth: a flow older than the watch may never report its end
// (nf_conntrack_events=2, NETFILTER-NOTES.md §12), and at nf_conntrack_events=0 no flow
// reports anything. So every `reconcile_ms` the thread reads the sysctl and, while it is 0 or
// while any counted flow is unconfirmed (see FlowInfo), merges a fresh dump: counts converge
// to the kernel's within reconcile_ms plus one dump. Once every old flow is gone a watch at
// the default sysctl dumps no more.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/ct/ct_socket.h"
#include "core/ct/event_socket.h"
#include "core/ct/events_sysctl.h"
#include "core/ct/watch_state.h"
#include "core/netns_guard.h"
#include "core/result.h"

namespace connlimit::core::ct {

struct WatcherOptions {
  WatchConfig config;
  std::string netns_path;  // empty: the namespace of the thread that starts the watch
  bool updates = false;    // also UPDATE events (needed when the filter looks at state, mark, status)
  int receive_buffer = 32 << 20;
  int reconcile_ms = 1000;
  // Tests only: sleep this long after the start-up dump before reading events, so a burst
  // overflows the receive buffer on purpose (there is no other way to make the thread lag).
  int test_stall_ms = 0;
};

struct WatcherStats {
  uint64_t events = 0;     // event messages decoded
  uint64_t overruns = 0;   // ENOBUFS seen
  uint64_t resyncs = 0;    // dumps after an overrun
  uint64_t discarded = 0;  // queued events dropped before a resync dump
  int receive_buffer = 0;  // bytes the kernel granted
  uint64_t reconciles = 0;          // periodic dumps merged
  uint64_t reconcile_entries = 0;   // entries those dumps carried (before the C++ filter)
  uint64_t reconcile_bytes = 0;     // netlink bytes those dumps carried
  uint64_t unconfirmed = 0;         // counted flows no event has confirmed (now)
  bool polling = false;             // nf_conntrack_events was 0 (or absent) at the last check
};

class Watcher {
 public:
  // Called on the watcher thread. `deliver` returns false when nobody listens any more (the
  // thread then ends); `fail` is called once, for an error that ends the watch.
  using Deliver = std::function<bool(WatchBatch&&)>;
  using Fail = std::function<void(const KernelError&)>;

  Watcher(WatcherOptions options, Deliver deliver, Fail fail);
  ~Watcher();  // Stop()
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // Starts the thread; sockets are opened on it, and their errors arrive through `fail`.
  Result<Unit> Start();
  // The batch in flight was consumed: the next may go. Any thread; never blocks.
  void Acknowledge();
  // Stops and joins the thread, then closes every fd it used. Idempotent; not from the
  // watcher thread itself.
  void Stop();

  std::vector<KeyCount> Counts() const;
  // WatchState::version(), read under the lock: what Counts() gave is current while it holds.
  uint64_t CountsVersion() const;
  // The count of the key holding `addr` (AF_INET or AF_INET6), masked to the watch's prefix.
  uint64_t CountOf(uint8_t family, const Addr& addr) const;
  WatcherStats Stats() const;
  const WatchConfig& config() const { return options_.config; }

 private:
  void Run();
  Result<Unit> Open();
  Result<Unit> Sync(SyncKind kind);
  Result<Unit> Drain();
  // The periodic check: a dump when events cannot be trusted to tell the whole truth.
  Result<Unit> MaybeReconcile();
  void MaybeDeliver();

  WatcherOptions options_;
  Deliver deliver_;
  Fail fail_;
  mutable std::mutex mu_;  // state_ and stats_: the thread writes, Counts()/Stats() read
  WatchState state_;
  WatcherStats stats_;
  std::unique_ptr<EventSocket> events_;
  std::unique_ptr<CtSocket> dumps_;
  std::unique_ptr<EventsSysctl> sysctl_;
  std::shared_ptr<NetnsFd> netns_;  // null in the caller's own namespace; see Run()
  std::mutex fd_mu_;  // Acknowledge() (JS thread) against Stop() closing wake_fd_
  int stop_fd_ = -1;  // eventfd: Stop() -> thread
  int wake_fd_ = -1;  // eventfd: Acknowledge() -> thread
  std::atomic<bool> in_flight_{false};
  std::atomic<bool> stopped_{false};
  std::thread thread_;
};

}  // namespace connlimit::core::ct
