// SPDX-License-Identifier: GPL-2.0-or-later
// The xtables lock: the flock() that iptables-legacy takes around every command
// (iptables/xshared.c xtables_lock, 1.8.9), so that our read-modify-commit never interleaves
// with theirs. libiptc itself takes no lock (NETFILTER-NOTES.md §2.5, §3).
#pragma once

#include <string>

#include "core/result.h"

namespace connlimit::core {

// XT_LOCK_NAME as Debian's iptables is configured; $XTABLES_LOCKFILE overrides it (resolved in TS).
constexpr const char* kDefaultXtablesLock = "/run/xtables.lock";

class XtablesLock {
 public:
  // Wait at most timeout_ms, polling with LOCK_NB and a growing sleep: a libuv pool thread is
  // never parked in a blocking flock().
  static Result<XtablesLock> Acquire(const std::string& path, int timeout_ms);
  XtablesLock(XtablesLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  XtablesLock(const XtablesLock&) = delete;
  XtablesLock& operator=(const XtablesLock&) = delete;
  XtablesLock& operator=(XtablesLock&&) = delete;
  ~XtablesLock();  // closing the fd releases the flock

 private:
  explicit XtablesLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace connlimit::core
