// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/ct/event_socket.h"

#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace connlimit::core::ct {

namespace {
KernelError Sys(const char* op, int err) { return KernelError{op, err, {}, -1, ErrorKind::kConntrack}; }
}  // namespace

Result<std::unique_ptr<EventSocket>> EventSocket::Open(const std::shared_ptr<NetnsFd>& netns, bool updates,
                                                       int receive_buffer) {
  int fd = -1;
  {
    // A netlink socket listens in the namespace of the thread that created it.
    auto guard = NetnsGuard::Enter(netns ? netns->fd() : -1);
    if (!guard.ok()) return guard.error();
    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_NETFILTER);
    if (fd < 0) return Sys("ct events", errno);
  }
  std::unique_ptr<EventSocket> s(new EventSocket(fd));
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) return Sys("ct events", errno);
  int size = receive_buffer;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }
  socklen_t len = sizeof(s->granted_);
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &s->granted_, &len);
  // Joining a group is where a missing ctnetlink or privilege shows (EPERM without
  // CAP_NET_ADMIN; ENOENT when nf_conntrack_netlink is not there to serve the group).
  unsigned groups[] = {NFNLGRP_CONNTRACK_NEW, NFNLGRP_CONNTRACK_DESTROY, NFNLGRP_CONNTRACK_UPDATE};
  for (unsigned i = 0; i < (updates ? 3u : 2u); i++) {
    if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &groups[i], sizeof(groups[i])) < 0) {
      return Sys("ct events", errno);
    }
  }
  return s;
}

EventSocket::~EventSocket() {
  if (fd_ >= 0) close(fd_);
}

Result<EventRead> EventSocket::Read(size_t max_messages, const EntrySink& sink) {
  EventRead r;
  while (r.messages < max_messages) {
    ssize_t n = recv(fd_, buf_.data(), buf_.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        r.empty = r.messages == 0;
        return r;
      }
      if (errno == ENOBUFS) {
        r.overrun = true;
        return r;
      }
      return Sys("ct events", errno);
    }
    auto info = DecodeChunk(buf_.data(), static_cast<size_t>(n), kAnySeq, "ct events", false, sink);
    if (!info.ok()) return info.error();
    r.messages += info.value().entries;
  }
  return r;
}

Result<uint64_t> EventSocket::Discard() {
  uint64_t dropped = 0;
  for (;;) {
    ssize_t n = recv(fd_, buf_.data(), buf_.size(), MSG_DONTWAIT);
    if (n >= 0) {
      dropped++;
      continue;
    }
    if (errno == EINTR || errno == ENOBUFS) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return dropped;
    return Sys("ct events", errno);
  }
}

}  // namespace connlimit::core::ct
