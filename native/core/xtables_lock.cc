// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/xtables_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

namespace connlimit::core {

Result<XtablesLock> XtablesLock::Acquire(const std::string& path, int timeout_ms) {
  int fd = open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return KernelError{"xtables lock", errno, "open " + path};
  XtablesLock lock(fd);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto pause = std::chrono::microseconds(100);
  for (;;) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return lock;
    if (errno != EWOULDBLOCK && errno != EINTR) return KernelError{"xtables lock", errno, path};
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return KernelError{"xtables lock", EWOULDBLOCK, path + " held by another program"};
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, std::chrono::microseconds(20000));
  }
}

XtablesLock::~XtablesLock() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace connlimit::core
