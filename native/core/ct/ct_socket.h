// SPDX-License-Identifier: GPL-2.0-or-later
// I/O: one NETLINK_NETFILTER socket created inside a target network namespace, and the
// requests that go over it (stats, dumps, batched deletes). Decoding, filtering and counting
// are the pure bricks beside it (ct_decoder, counter); this file only moves bytes.
//
// Threading: a CtSocket is used by one thread at a time. The owner (native/js/conntrack.cc)
// holds its mutex around each call; calls run in the libuv pool, never on the JS thread.
#pragma once

#include <libmnl/libmnl.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "core/ct/ct_types.h"
#include "core/netns_guard.h"
#include "core/result.h"

namespace connlimit::core::ct {

struct TableCount {
  uint32_t entries = 0;      // CTA_STATS_GLOBAL_ENTRIES
  uint32_t max_entries = 0;  // CTA_STATS_GLOBAL_MAX_ENTRIES (nf_conntrack_max)
};

struct DeleteStats {
  uint64_t matched = 0;    // entries the dump found matching
  uint64_t deleted = 0;    // acknowledged deletes
  uint64_t vanished = 0;   // ENOENT: gone (timed out, closed, replaced) between dump and delete
  bool kernel_side = false;  // one filtered flush request did the deleting
};

class CtSocket {
 public:
  // Create the socket inside `netns` (null: this thread's namespace) and check, with a stats
  // request, that ctnetlink answers and we may use it (EPERM without CAP_NET_ADMIN).
  static Result<std::unique_ptr<CtSocket>> Open(std::shared_ptr<NetnsFd> netns);
  ~CtSocket();
  CtSocket(const CtSocket&) = delete;
  CtSocket& operator=(const CtSocket&) = delete;

  // IPCTNL_MSG_CT_GET_STATS: the table size without a dump (what `conntrack -C` does).
  Result<TableCount> Count();

  // A whole dump; entries that pass `filter` go to `on_entry`. An NLM_F_DUMP_INTR dump is
  // read to its end, `on_restart` is called (drop what was gathered) and the dump is redone,
  // at most kMaxRestarts times; after that it fails with EINTR rather than return a partial answer.
  Result<DumpStats> Dump(const Filter& filter, const std::function<void(const Entry&)>& on_entry,
                         const std::function<void()>& on_restart);

  // Streaming: StartDump sends the request; ReadDump appends up to about `want` matching
  // entries to `out` and returns true once the dump is over. A stream cannot be restarted
  // (the caller has the first part already), so NLM_F_DUMP_INTR fails with EINTR.
  Result<Unit> StartDump(const Filter& filter);
  Result<bool> ReadDump(size_t want, std::vector<Entry>& out);

  // Delete what matches `filter`. When the kernel can apply the whole filter (KernelCanFlush),
  // a kernel-filtered dump counts the matches and one filtered flush request deletes them;
  // the flush's ack carries no count, so `deleted` is what the dump saw just before. Else (or
  // when the kernel refuses the flush) the dump's entries are deleted one IPCTNL_MSG_CT_DELETE
  // each (by tuple, zone and CTA_ID), many per sendmsg, and the counts are exact.
  Result<DeleteStats> Delete(const Filter& filter);

  static constexpr int kMaxRestarts = 3;

 private:
  CtSocket(std::shared_ptr<NetnsFd> netns) : netns_(std::move(netns)) {}
  Result<Unit> Connect();
  void Disconnect();
  Result<Unit> Send(const std::vector<uint8_t>& bytes, const char* op);
  Result<size_t> Receive(const char* op);
  // Read the current dump's remaining messages and forget them (after a failure mid-dump,
  // so the socket is usable again); closes the socket if that fails too.
  void Drain();
  Result<Unit> SendDump(const Filter& filter, const char* op);

  std::shared_ptr<NetnsFd> netns_;
  mnl_socket* nl_ = nullptr;
  uint32_t seq_ = 0;
  std::vector<uint8_t> buf_;
  bool kernel_tuple_filter_ = true;  // false once the kernel refused CTA_FILTER (pre-5.8)
  bool kernel_flush_ = true;         // false once the kernel refused a filtered flush
  // Stream state (StartDump/ReadDump).
  Filter stream_filter_;
  bool streaming_ = false;
  bool stream_seen_ = false;  // a reply to the stream request arrived
};

}  // namespace connlimit::core::ct
