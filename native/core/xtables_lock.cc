// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/xtables_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

namespace connlimit::core {

namespace {

KernelError NotALockFile(const std::string& path) {
  return KernelError{"xtables lock type", EINVAL, path + " is not a regular file", -1, ErrorKind::kLockPathInvalid};
}

}  // namespace

Result<XtablesLock> XtablesLock::Acquire(const std::string& path, int timeout_ms) {
  // Only a regular file can be the lock. Look before opening: opening a FIFO waits for a
  // writer (forever, past any timeout), opening a device runs its driver.
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) return NotALockFile(path);
  // O_NONBLOCK: should a FIFO be swapped in after the look, the open still returns at once.
  int fd = open(path.c_str(), O_RDONLY | O_CREAT | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0600);
  if (fd < 0) return KernelError{"xtables lock", errno, "open " + path, -1, ErrorKind::kXtablesLock};
  XtablesLock lock(fd);
  if (fstat(fd, &st) != 0) return KernelError{"xtables lock", errno, "fstat " + path, -1, ErrorKind::kXtablesLock};
  if (!S_ISREG(st.st_mode)) return NotALockFile(path);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto pause = std::chrono::microseconds(100);
  for (;;) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return lock;
    if (errno != EWOULDBLOCK && errno != EINTR) return KernelError{"xtables lock", errno, path, -1, ErrorKind::kXtablesLock};
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return KernelError{"xtables lock", EWOULDBLOCK, path + " held by another program", -1, ErrorKind::kXtablesLock};
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, std::chrono::microseconds(20000));
  }
}

XtablesLock::~XtablesLock() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace connlimit::core
