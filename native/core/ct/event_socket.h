// SPDX-License-Identifier: GPL-2.0-or-later
// I/O: a ctnetlink socket subscribed to conntrack events (NEW, DESTROY, optionally UPDATE),
// created inside the target network namespace. Reads never block: the watcher thread poll()s
// fd() and drains what is queued. Overruns are reported, never hidden: ENOBUFS stays on
// (no NETLINK_NO_ENOBUFS), see docs/threads.md for why we resync instead of asking the kernel
// for reliable delivery.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/ct/ct_decoder.h"
#include "core/netns_guard.h"
#include "core/result.h"

namespace connlimit::core::ct {

struct EventRead {
  uint64_t messages = 0;  // event messages decoded
  bool overrun = false;   // ENOBUFS: the kernel dropped events since the last read
  bool empty = false;     // nothing was queued
};

class EventSocket {
 public:
  // `receive_buffer`: bytes asked of SO_RCVBUFFORCE (the kernel doubles it); falls back to
  // SO_RCVBUF (capped by net.core.rmem_max) without CAP_NET_ADMIN over the namespace.
  static Result<std::unique_ptr<EventSocket>> Open(const std::shared_ptr<NetnsFd>& netns, bool updates, int receive_buffer);
  ~EventSocket();
  EventSocket(const EventSocket&) = delete;
  EventSocket& operator=(const EventSocket&) = delete;

  int fd() const { return fd_; }
  // The buffer size the kernel granted (getsockopt SO_RCVBUF, already doubled).
  int receive_buffer() const { return granted_; }

  // Reads up to `max_messages` queued events and hands each to `sink`. Stops early on an
  // overrun so the caller can resync before reading on.
  Result<EventRead> Read(size_t max_messages, const EntrySink& sink);
  // Reads and drops everything queued: events older than the dump a resync is about to take.
  Result<uint64_t> Discard();

 private:
  explicit EventSocket(int fd) : fd_(fd), buf_(64 * 1024) {}
  int fd_;
  int granted_ = 0;
  std::vector<uint8_t> buf_;
};

}  // namespace connlimit::core::ct
