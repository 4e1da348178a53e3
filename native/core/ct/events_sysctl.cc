// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/ct/events_sysctl.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace connlimit::core::ct {

namespace {
constexpr const char* kPath = "/proc/sys/net/netfilter/nf_conntrack_events";
}

Result<std::unique_ptr<EventsSysctl>> EventsSysctl::Open(const std::shared_ptr<NetnsFd>& netns) {
  auto guard = NetnsGuard::Enter(netns ? netns->fd() : -1);
  if (!guard.ok()) return guard.error();
  int fd = open(kPath, O_RDONLY | O_CLOEXEC);
  // ENOENT: a kernel built without CONFIG_NF_CONNTRACK_EVENTS. Read() then says -1.
  if (fd < 0 && errno != ENOENT) return KernelError{"ct events sysctl", errno, kPath};
  return std::unique_ptr<EventsSysctl>(new EventsSysctl(fd));
}

EventsSysctl::~EventsSysctl() {
  if (fd_ >= 0) close(fd_);
}

int EventsSysctl::Read() const {
  if (fd_ < 0) return -1;
  char buf[16] = {};
  ssize_t n = pread(fd_, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return -1;
  return static_cast<int>(strtol(buf, nullptr, 10));
}

}  // namespace connlimit::core::ct
