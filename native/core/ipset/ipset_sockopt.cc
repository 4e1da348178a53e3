// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/ipset/ipset_sockopt.h"

#include <linux/netfilter/ipset/ip_set.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace connlimit::core::ipset {

namespace {

constexpr const char* kOp = "ipset getsockopt";

// One getsockopt on a fresh raw socket in the namespace; `req` is both the request and the answer.
Result<Unit> Ask(const std::shared_ptr<NetnsFd>& netns, void* req, socklen_t size) {
  int fd;
  {
    auto guard = NetnsGuard::Enter(netns ? netns->fd() : -1);
    if (!guard.ok()) return guard.error();
    fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
    if (fd < 0) return KernelError{kOp, errno, "socket", -1, ErrorKind::kIpsetSocket};
  }
  socklen_t got = size;
  int rc = getsockopt(fd, SOL_IP, SO_IP_SET, req, &got);
  int err = errno;
  close(fd);
  // ENOPROTOOPT: no ip_set in the kernel (the option is registered by the module).
  if (rc < 0) return KernelError{kOp, err, "SO_IP_SET", -1, err == ENOPROTOOPT ? ErrorKind::kIpsetHandshake : ErrorKind::kIpset};
  if (got != size) return KernelError{kOp, EBADMSG, "SO_IP_SET answer of unexpected size", -1, ErrorKind::kMalformed};
  return Unit{};
}

}  // namespace

Result<std::optional<SetIndex>> SetIndexByName(const std::shared_ptr<NetnsFd>& netns, const std::string& name) {
  ip_set_req_get_set_family req;
  std::memset(&req, 0, sizeof req);
  req.op = IP_SET_OP_GET_FNAME;
  req.version = IPSET_PROTOCOL;
  if (name.size() >= sizeof req.set.name) return std::optional<SetIndex>{};
  std::memcpy(req.set.name, name.data(), name.size());
  auto r = Ask(netns, &req, sizeof req);
  if (!r.ok()) return r.error();
  if (req.set.index == IPSET_INVALID_ID) return std::optional<SetIndex>{};
  return std::optional<SetIndex>{SetIndex{req.set.index, static_cast<uint8_t>(req.family)}};
}

Result<std::optional<std::string>> SetNameByIndex(const std::shared_ptr<NetnsFd>& netns, uint16_t index) {
  ip_set_req_get_set req;
  std::memset(&req, 0, sizeof req);
  req.op = IP_SET_OP_GET_BYINDEX;
  req.version = IPSET_PROTOCOL;
  req.set.index = index;
  auto r = Ask(netns, &req, sizeof req);
  // ERANGE: an index beyond the namespace's table of sets.
  if (!r.ok() && r.error().errnum == ERANGE) return std::optional<std::string>{};
  if (!r.ok()) return r.error();
  std::string name(req.set.name, strnlen(req.set.name, sizeof req.set.name));
  if (name.empty()) return std::optional<std::string>{};
  return std::optional<std::string>{name};
}

}  // namespace connlimit::core::ipset
