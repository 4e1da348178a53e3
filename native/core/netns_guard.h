// SPDX-License-Identifier: GPL-2.0-or-later
// Network-namespace targeting without moving the process: a socket belongs to the namespace of
// the thread that created it, so a pool thread enters the target namespace, creates its
// libiptc handle or socket, and goes back before it is handed back to libuv.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"

namespace connlimit::core {

// An owned fd of a network namespace file (/run/netns/NAME, /proc/PID/ns/net).
class NetnsFd {
 public:
  explicit NetnsFd(int fd) : fd_(fd) {}
  ~NetnsFd();
  NetnsFd(const NetnsFd&) = delete;
  NetnsFd& operator=(const NetnsFd&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// Open `path` and check that it is a network namespace (NS_GET_NSTYPE). An empty path is the
// caller's own namespace: null, which NetnsGuard and the sockets take as "stay here".
Result<std::shared_ptr<NetnsFd>> OpenNetns(const std::string& path);

// RAII: this thread is in the target namespace while the guard lives. A guard for fd -1 does nothing.
class NetnsGuard {
 public:
  static Result<NetnsGuard> Enter(int target_fd);
  NetnsGuard(NetnsGuard&& other) noexcept : saved_fd_(other.saved_fd_) { other.saved_fd_ = -1; }
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;
  NetnsGuard& operator=(NetnsGuard&&) = delete;
  ~NetnsGuard();

 private:
  explicit NetnsGuard(int saved_fd) : saved_fd_(saved_fd) {}
  int saved_fd_;  // this thread's own namespace, -1 when nothing was entered
};

}  // namespace connlimit::core
