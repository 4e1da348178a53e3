// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/netns_guard.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace connlimit::core {

NetnsFd::~NetnsFd() {
  if (fd_ >= 0) close(fd_);
}

namespace {

// What a file that is not a namespace is, for the message.
const char* KindOf(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "a regular file";
}

KernelError NotNetns(const std::string& path, const std::string& what) {
  return KernelError{"netns type", EINVAL, path + " is " + what + ", not a network namespace", -1, ErrorKind::kNetnsPathInvalid};
}

}  // namespace

Result<std::shared_ptr<NetnsFd>> OpenNetns(const std::string& path) {
  if (path.empty()) return std::shared_ptr<NetnsFd>();
  // O_PATH opens nothing: no FIFO waits for a writer, no driver runs. fstat and fstatfs work on it.
  int probe = open(path.c_str(), O_PATH | O_CLOEXEC);
  if (probe < 0) return KernelError{"open netns", errno, path, -1, ErrorKind::kNetnsOpen};
  struct stat st;
  struct statfs fs;
  if (fstat(probe, &st) != 0 || fstatfs(probe, &fs) != 0) {
    int err = errno;
    close(probe);
    return KernelError{"open netns", err, path, -1, ErrorKind::kNetnsOpen};
  }
  if (fs.f_type != NSFS_MAGIC) {
    close(probe);
    return NotNetns(path, KindOf(st.st_mode));
  }
  // An O_PATH fd takes neither ioctl nor setns: open the same inode for real through it (no
  // second lookup of `path`, so nothing can be swapped in between).
  std::string self = "/proc/self/fd/" + std::to_string(probe);
  int fd = open(self.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  int open_err = errno;
  close(probe);
  if (fd < 0) return KernelError{"open netns", open_err, path, -1, ErrorKind::kNetnsOpen};
  int type = ioctl(fd, NS_GET_NSTYPE);
  if (type != CLONE_NEWNET) {
    int err = errno;
    close(fd);
    if (type < 0) return KernelError{"open netns", err, path, -1, ErrorKind::kNetnsOpen};
    return NotNetns(path, "a namespace of another kind");
  }
  return std::make_shared<NetnsFd>(fd, path, st.st_dev, st.st_ino);
}

bool NetnsFd::StillNamed() const {
  struct stat st;
  return stat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_;
}

Result<Unit> CheckNetnsPath(const std::shared_ptr<NetnsFd>& ns) {
  if (!ns || ns->StillNamed()) return Unit{};
  struct stat st;
  bool exists = stat(ns->path().c_str(), &st) == 0;
  return KernelError{"netns gone", exists ? ESTALE : ENOENT, ns->path(), -1, ErrorKind::kNetnsGone};
}

Result<NetnsGuard> NetnsGuard::Enter(int target_fd) {
  if (target_fd < 0) return NetnsGuard(-1);
  // /proc/thread-self: the namespace of this thread, not of the process's main thread.
  int saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (saved < 0) return KernelError{"setns", errno, "/proc/thread-self/ns/net", -1, ErrorKind::kNetnsEnter};
  if (setns(target_fd, CLONE_NEWNET) != 0) {
    int err = errno;
    close(saved);
    return KernelError{"setns", err, "entering the target namespace", -1, ErrorKind::kNetnsEnter};
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
