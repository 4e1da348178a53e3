// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/ruleset_watcher.h"

#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>

namespace connlimit::core::nft {

namespace {

// A 1k-rule commit is about 1k messages of a few hundred bytes: room for several such bursts
// before ENOBUFS, which is reported (the caller then checks the tables) rather than hidden.
constexpr int kReceiveBuffer = 4 << 20;

constexpr int kNetnsCheckMs = 1000;

KernelError Sys(int err) { return KernelError{"nft ruleset watch", err, {}, -1, ErrorKind::kNftSocket}; }

// The first attribute of a message (after its nfgenmsg) of `type`, or null.
const struct nlattr* Attr(const struct nlmsghdr* nlh, uint16_t type) {
  size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
  while (off + NLA_HDRLEN <= nlh->nlmsg_len) {
    auto* a = reinterpret_cast<const struct nlattr*>(reinterpret_cast<const uint8_t*>(nlh) + off);
    if (a->nla_len < NLA_HDRLEN || off + a->nla_len > nlh->nlmsg_len) return nullptr;
    if ((a->nla_type & NLA_TYPE_MASK) == type) return a;
    off += NLA_ALIGN(a->nla_len);
  }
  return nullptr;
}

// A delivery that is no commit (ready, overrun).
Generation Marker(Generation::Kind kind) {
  Generation g;
  g.kind = kind;
  return g;
}

void Signal(int fd) {
  uint64_t one = 1;
  // An eventfd write only fails when the counter would overflow, i.e. it is already signalled.
  [[maybe_unused]] ssize_t n = write(fd, &one, sizeof(one));
}

}  // namespace

RulesetWatcher::RulesetWatcher(RulesetWatcherOptions options, Deliver deliver, Fail fail)
    : options_(std::move(options)), deliver_(std::move(deliver)), fail_(std::move(fail)), buf_(64 * 1024) {}

RulesetWatcher::~RulesetWatcher() { Stop(); }

Result<Unit> RulesetWatcher::Start() {
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) return Sys(errno);
  thread_ = std::thread([this] { Run(); });
  return Unit{};
}

void RulesetWatcher::Stop() {
  if (stopped_.exchange(true)) return;
  if (stop_fd_ >= 0) Signal(stop_fd_);
  if (thread_.joinable()) thread_.join();
  // Deterministic: close() frees every fd now, not when the JS object is collected.
  for (int* fd : {&sock_, &stop_fd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
  netns_.reset();
}

Result<Unit> RulesetWatcher::Open() {
  auto opened = OpenNetns(options_.netns_path);
  if (!opened.ok()) return opened.error();
  netns_ = opened.take();
  {
    // A netlink socket listens in the namespace of the thread that created it.
    auto guard = NetnsGuard::Enter(netns_ ? netns_->fd() : -1);
    if (!guard.ok()) return guard.error();
    sock_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_NETFILTER);
    if (sock_ < 0) return Sys(errno);
  }
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  if (bind(sock_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) return Sys(errno);
  int size = kReceiveBuffer;
  if (setsockopt(sock_, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0) {
    setsockopt(sock_, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }
  // EPERM here without CAP_NET_ADMIN over the namespace.
  unsigned group = NFNLGRP_NFTABLES;
  if (setsockopt(sock_, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) return Sys(errno);
  return Unit{};
}

// Whether a message of a commit is about a watched table: its family, and its table's name,
// which every nf_tables object message carries as attribute 1 (NFTA_TABLE_NAME,
// NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE, NFTA_SET_ELEM_LIST_TABLE, NFTA_OBJ_TABLE,
// NFTA_FLOWTABLE_TABLE all equal 1).
bool RulesetWatcher::Watched(const struct nlmsghdr* nlh) const {
  if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct nfgenmsg)) return false;
  auto* g = static_cast<const struct nfgenmsg*>(NLMSG_DATA(nlh));
  if (g->nfgen_family != options_.family) return false;
  const struct nlattr* a = Attr(nlh, 1);
  if (!a) return false;
  const char* name = reinterpret_cast<const char*>(a) + NLA_HDRLEN;
  size_t len = strnlen(name, a->nla_len - NLA_HDRLEN);
  std::string table(name, len);
  bool ours = options_.table_prefix ? table.compare(0, options_.table.size(), options_.table) == 0 : table == options_.table;
  if (!ours || options_.set.empty()) return ours;
  // A set's messages name it in attribute 2 (NFTA_SET_NAME, NFTA_SET_ELEM_LIST_SET).
  uint8_t type = nlh->nlmsg_type & 0xff;
  if (type != NFT_MSG_NEWSET && type != NFT_MSG_DELSET && type != NFT_MSG_NEWSETELEM && type != NFT_MSG_DELSETELEM) return false;
  const struct nlattr* s = Attr(nlh, 2);
  if (!s) return false;
  const char* set = reinterpret_cast<const char*>(s) + NLA_HDRLEN;
  return std::string(set, strnlen(set, s->nla_len - NLA_HDRLEN)) == options_.set;
}

Result<bool> RulesetWatcher::Drain() {
  for (;;) {
    ssize_t n = recv(sock_, buf_.data(), buf_.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      if (errno == ENOBUFS) {
        // Lost notifications may have been about our tables: say so, the caller checks.
        pending_ = Generation{};
        if (!deliver_(Marker(Generation::Kind::kOverrun))) return false;
        continue;
      }
      return Sys(errno);
    }
    int left = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<struct nlmsghdr*>(buf_.data()); NLMSG_OK(nlh, left); nlh = NLMSG_NEXT(nlh, left)) {
      if ((nlh->nlmsg_type >> 8) != NFNL_SUBSYS_NFTABLES) continue;
      if ((nlh->nlmsg_type & 0xff) != NFT_MSG_NEWGEN) {
        if (!Watched(nlh)) continue;
        pending_.messages++;
        if (!options_.set.empty()) {
          uint8_t type = nlh->nlmsg_type & 0xff;
          const auto* bytes = reinterpret_cast<const uint8_t*>(nlh);
          if (type == NFT_MSG_NEWSETELEM || type == NFT_MSG_DELSETELEM) {
            auto& out = type == NFT_MSG_NEWSETELEM ? pending_.added : pending_.deleted;
            out.insert(out.end(), bytes, bytes + NLMSG_ALIGN(nlh->nlmsg_len));
          } else {
            pending_.set_changed = true;
          }
        }
        if (std::find(pending_.ports.begin(), pending_.ports.end(), nlh->nlmsg_pid) == pending_.ports.end()) {
          pending_.ports.push_back(nlh->nlmsg_pid);
        }
        continue;
      }
      // The commit's end: hand it over if it touched a watched table.
      if (pending_.messages == 0) continue;
      const struct nlattr* id = Attr(nlh, NFTA_GEN_ID);
      uint32_t genid = 0;
      if (id && id->nla_len >= NLA_HDRLEN + sizeof(uint32_t)) {
        memcpy(&genid, reinterpret_cast<const char*>(id) + NLA_HDRLEN, sizeof(genid));
        genid = ntohl(genid);
      }
      Generation g = std::move(pending_);
      pending_ = Generation{};
      g.kind = Generation::Kind::kCommit;
      g.genid = genid;
      if (!deliver_(std::move(g))) return false;
    }
  }
}

void RulesetWatcher::Run() {
  pthread_setname_np(pthread_self(), "connlimit-nft");
  auto end = [this](const KernelError& e) {
    if (!stopped_) fail_(e);
  };
  auto opened = Open();
  if (!opened.ok()) return end(opened.error());
  if (!deliver_(Marker(Generation::Kind::kReady))) return;
  pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {sock_, POLLIN, 0}};
  // A namespace whose name was deleted (or given to another) sends nothing: look at the path
  // once a second (one stat), as a conntrack watch does, and end with "netns gone". On the
  // clock, not after a quiet second: other commits in the namespace wake the thread however
  // often they come, and must not put the look off.
  using Clock = std::chrono::steady_clock;
  auto next_check = Clock::now() + std::chrono::milliseconds(kNetnsCheckMs);
  for (;;) {
    int timeout = -1;
    if (netns_) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next_check - Clock::now()).count();
      timeout = static_cast<int>(std::max<decltype(left)>(left, 0));
    }
    int ready = poll(fds, 2, timeout);
    if (ready < 0 && errno != EINTR) return end(Sys(errno));
    if (netns_ && Clock::now() >= next_check) {
      auto named = CheckNetnsPath(netns_);
      if (!named.ok()) return end(named.error());
      next_check = Clock::now() + std::chrono::milliseconds(kNetnsCheckMs);
    }
    if (ready <= 0) continue;
    if (fds[0].revents) return;
    if (fds[1].revents) {
      auto drained = Drain();
      if (!drained.ok()) return end(drained.error());
      if (!drained.value()) return;
    }
  }
}

}  // namespace connlimit::core::nft
