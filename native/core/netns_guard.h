// SPDX-License-Identifier: GPL-2.0-or-later
// Network-namespace targeting without moving the process: a socket belongs to the namespace of
// the thread that created it, so a pool thread enters the target namespace, creates its
// libiptc handle or socket, and goes back before it is handed back to libuv.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>

#include "core/result.h"

namespace connlimit::core {

// An owned fd of a network namespace file (/run/netns/NAME, /proc/PID/ns/net), with the path
// it was opened from and the namespace's identity (the nsfs inode) at that moment. A handle is
// bound to that namespace: `ip netns del` and `add` again give the name another one.
class NetnsFd {
 public:
  NetnsFd(int fd, std::string path, dev_t dev, ino_t ino) : fd_(fd), path_(std::move(path)), dev_(dev), ino_(ino) {}
  ~NetnsFd();
  NetnsFd(const NetnsFd&) = delete;
  NetnsFd& operator=(const NetnsFd&) = delete;
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  // The namespace's identity: equal for two fds exactly when they are the same namespace,
  // whatever paths named it (src/firewall.ts groups handles' commits by it).
  dev_t dev() const { return dev_; }
  ino_t ino() const { return ino_; }
  // Whether path() still names this namespace: false once it was deleted, or names another
  // one. One stat(2), well under a microsecond (docs/reliability.md).
  bool StillNamed() const;

 private:
  int fd_;
  std::string path_;
  dev_t dev_;
  ino_t ino_;
};

// Open `path` and check that it is a network namespace, without ever blocking: the path is
// looked up with O_PATH (a FIFO's open would wait for a writer, a device's would run its
// driver), refused unless it is an nsfs file, and only then opened for setns. Not a namespace:
// op "netns type". An empty path is the caller's own namespace: null, which NetnsGuard and the
// sockets take as "stay here".
Result<std::shared_ptr<NetnsFd>> OpenNetns(const std::string& path);

// Unit while `ns` is null (the caller's own namespace) or its path still names it; else op
// "netns gone" (errno ENOENT: deleted; ESTALE: the path names another namespace now). Every
// call on a handle checks this first, so nothing is written into a namespace its name has left.
Result<Unit> CheckNetnsPath(const std::shared_ptr<NetnsFd>& ns);

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
