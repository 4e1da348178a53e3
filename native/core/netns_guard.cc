// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/netns_guard.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace connlimit::core {

NetnsFd::~NetnsFd() {
  if (fd_ >= 0) close(fd_);
}

Result<std::shared_ptr<NetnsFd>> OpenNetns(const std::string& path) {
  if (path.empty()) return std::shared_ptr<NetnsFd>();
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return KernelError{"open netns", errno, path};
  int type = ioctl(fd, NS_GET_NSTYPE);
  if (type != CLONE_NEWNET) {
    int err = type < 0 ? errno : EINVAL;
    close(fd);
    return KernelError{"open netns", err, path + " is not a network namespace"};
  }
  return std::make_shared<NetnsFd>(fd);
}

Result<NetnsGuard> NetnsGuard::Enter(int target_fd) {
  if (target_fd < 0) return NetnsGuard(-1);
  // /proc/thread-self: the namespace of this thread, not of the process's main thread.
  int saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (saved < 0) return KernelError{"setns", errno, "/proc/thread-self/ns/net"};
  if (setns(target_fd, CLONE_NEWNET) != 0) {
    int err = errno;
    close(saved);
    return KernelError{"setns", err, "entering the target namespace"};
  }
  return NetnsGuard(saved);
}

NetnsGuard::~NetnsGuard() {
  if (saved_fd_ < 0) return;
  // Going back to a namespace we were in cannot fail short of a kernel bug; a libuv pool
  // thread left in a foreign namespace would silently run every later call there, which is
  // worse than stopping.
  if (setns(saved_fd_, CLONE_NEWNET) != 0) {
    perror("connlimit: cannot return a thread to its network namespace");
    abort();
  }
  close(saved_fd_);
}

}  // namespace connlimit::core
