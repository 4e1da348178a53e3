// SPDX-License-Identifier: GPL-2.0-or-later
// I/O: net.netfilter.nf_conntrack_events of one network namespace, read without leaving the
// thread there. The value decides whether a watch can trust events (NETFILTER-NOTES.md §12):
// 0 means the kernel reports no flow unless a rule asks (`ct event set`), so the watch polls.
#pragma once

#include <memory>

#include "core/netns_guard.h"
#include "core/result.h"

namespace connlimit::core::ct {

class EventsSysctl {
 public:
  // Opens /proc/sys/net/netfilter/nf_conntrack_events inside `netns` (null: this thread's).
  // /proc/sys/net answers for the namespace of the thread that opened the file, so the fd
  // keeps reading that namespace's value after the thread has gone back.
  static Result<std::unique_ptr<EventsSysctl>> Open(const std::shared_ptr<NetnsFd>& netns);
  ~EventsSysctl();
  EventsSysctl(const EventsSysctl&) = delete;
  EventsSysctl& operator=(const EventsSysctl&) = delete;

  // The current value (0, 1 or 2), or -1 when this kernel has no such setting (no event
  // support: nothing is ever reported, as with 0).
  int Read() const;

 private:
  explicit EventsSysctl(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace connlimit::core::ct
