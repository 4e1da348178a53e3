// SPDX-License-Identifier: GPL-2.0-or-later
// I/O: a NETLINK_NETFILTER socket in a namespace, subscribed to the kernel's nf_tables ruleset
// notifications (NFNLGRP_NFTABLES), read on a named thread of its own (it waits forever, so
// never in the libuv pool). For fw.keep(): no polling, the kernel says when the ruleset changed.
// Every commit is a run of NEWTABLE/NEWCHAIN/DELRULE/... messages closed by one NEWGEN carrying
// the new generation id; the thread counts the messages about the watched tables and hands one
// Generation per commit that touched them. Each message carries the netlink port id of the
// socket that committed it (nlmsg_pid), so the caller can tell its own commits from others'.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/netns_guard.h"
#include "core/result.h"

struct nlmsghdr;

namespace connlimit::core::nft {

struct RulesetWatcherOptions {
  std::string netns_path;  // empty: the namespace of the thread that starts the watch
  uint8_t family = 0;      // NFPROTO_IPV4 / NFPROTO_IPV6: messages of other families are not ours
  std::string table;       // the table the messages must name ...
  bool table_prefix = false;  // ... exactly, or as a prefix (the native form's connlimit, connlimit_1, ...)
  std::string set;         // not empty: only messages about this set of the table count (NEWSET,
                           // DELSET, NEWSETELEM, DELSETELEM naming it): a watch filtered by a set
};

// One commit that touched a watched table, or the news that notifications were lost.
struct Generation {
  enum class Kind { kReady, kCommit, kOverrun } kind = Kind::kCommit;
  uint32_t genid = 0;            // the generation the commit produced (kCommit)
  uint32_t messages = 0;         // messages of the commit about the watched tables
  std::vector<uint32_t> ports;   // the port ids that sent them, each once
  // With a set: the commit's NEWSETELEM and DELSETELEM messages about it, each run of them
  // as received (whole netlink messages, one element each), so the caller can apply them to
  // what it knows of the set; `set_changed` when a NEWSET or DELSET named it (made or destroyed).
  std::vector<uint8_t> added, deleted;
  bool set_changed = false;
};

class RulesetWatcher {
 public:
  // Called on the watcher thread: `deliver` first with kReady once subscribed, then per commit;
  // false when nobody listens any more (the thread then ends). `fail` once, for an error that
  // ends the watch.
  using Deliver = std::function<bool(Generation&&)>;
  using Fail = std::function<void(const KernelError&)>;

  RulesetWatcher(RulesetWatcherOptions options, Deliver deliver, Fail fail);
  ~RulesetWatcher();  // Stop()
  RulesetWatcher(const RulesetWatcher&) = delete;
  RulesetWatcher& operator=(const RulesetWatcher&) = delete;

  // Starts the thread; the socket is opened on it, and its errors arrive through `fail`.
  Result<Unit> Start();
  // Stops and joins the thread, then closes every fd it used. Idempotent; not from the thread.
  void Stop();

 private:
  void Run();
  Result<Unit> Open();
  // Reads what is queued; false when `deliver` says nobody listens.
  Result<bool> Drain();
  bool Watched(const ::nlmsghdr* nlh) const;

  RulesetWatcherOptions options_;
  Deliver deliver_;
  Fail fail_;
  std::shared_ptr<NetnsFd> netns_;
  int sock_ = -1;
  int stop_fd_ = -1;  // eventfd: Stop() -> thread
  Generation pending_;  // the commit being read, until its NEWGEN
  std::vector<uint8_t> buf_;
  std::atomic<bool> stopped_{false};
  std::thread thread_;
};

}  // namespace connlimit::core::nft
