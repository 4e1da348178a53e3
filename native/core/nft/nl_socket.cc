// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/nl_socket.h"

#include <arpa/inet.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>

#include "core/netlink_extack.h"
#include "core/nft/expr_reader.h"

namespace connlimit::core::nft {
namespace {
// The receive buffer: a batch's replies and echoes, or a dump part, in one read.
constexpr size_t kRecvSize = 1 << 17;
// RequestEach's answers: the receive buffer cut into slots, one datagram each.
constexpr size_t kAnswerSlots = 64, kAnswerSlot = kRecvSize / kAnswerSlots;
// A batch's replies, the same way, in slots a committed rule's echo fits in.
constexpr size_t kReplySlots = 4, kReplySlot = kRecvSize / kReplySlots;

// Whatever datagrams are queued, up to N, without waiting: datagram i in `buf`'s slot i of
// `slot` bytes (recvmmsg's count, or -1 and errno).
template <size_t N>
int ReceiveInSlots(int fd, uint8_t* buf, size_t slot, std::array<struct mmsghdr, N>& mm, std::array<struct iovec, N>& iov) {
  for (size_t i = 0; i < N; i++) {
    iov[i] = {buf + i * slot, slot};
    mm[i].msg_hdr = {};
    mm[i].msg_hdr.msg_iov = &iov[i];
    mm[i].msg_hdr.msg_iovlen = 1;
  }
  return recvmmsg(fd, mm.data(), N, MSG_DONTWAIT, nullptr);
}

// NFTA_GEN_ID of a NEWGEN message (the reply to GETGEN, or the echo of a commit).
uint32_t GenOf(const struct nlmsghdr* nlh) {
  uint32_t gen = 0;
  int left = static_cast<int>(nlh->nlmsg_len - mnl_nlmsg_size(sizeof(struct nfgenmsg)));
  const auto* a = static_cast<const struct nlattr*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(struct nfgenmsg)));
  for (; mnl_attr_ok(a, left); a = reinterpret_cast<const struct nlattr*>(reinterpret_cast<const char*>(a) + MNL_ALIGN(a->nla_len))) {
    left -= static_cast<int>(MNL_ALIGN(a->nla_len));
    if (mnl_attr_get_type(a) == NFTA_GEN_ID) gen = ntohl(mnl_attr_get_u32(a));
  }
  return gen;
}

// The type of the request an NLMSG_ERROR answers: its header always comes back, with or
// without NETLINK_CAP_ACK. 0 (no message type) when the error is too short to hold it.
uint16_t RefusedMessageType(const struct nlmsghdr* nlh) {
  const auto* err = static_cast<const struct nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof *err)) return 0;
  return err->msg.nlmsg_type;
}
// Calls f(attribute) for each attribute in `left` bytes from `p`.
template <typename F>
void EachAttr(const void* p, int left, F f) {
  for (auto* a = static_cast<const struct nlattr*>(p); mnl_attr_ok(a, left);) {
    f(a);
    left -= static_cast<int>(MNL_ALIGN(a->nla_len));
    a = reinterpret_cast<const struct nlattr*>(reinterpret_cast<const char*>(a) + MNL_ALIGN(a->nla_len));
  }
}

template <typename F>
void EachNested(const struct nlattr* nest, F f) {
  EachAttr(mnl_attr_get_payload(nest), static_cast<int>(mnl_attr_get_payload_len(nest)), f);
}

bool IsDynset(const struct nlattr* name) {
  static constexpr char kDynset[] = "dynset";
  const char* p = static_cast<const char*>(mnl_attr_get_payload(name));
  size_t n = mnl_attr_get_payload_len(name);
  return strnlen(p, n) == sizeof kDynset - 1 && std::memcmp(p, kDynset, sizeof kDynset - 1) == 0;
}

// The handle and set name of an echoed rule; a zero handle when it does not read. Read in
// place, the handle and the dynset expressions only: every append reads one, and decoding it
// whole (ReadRuleMessage: a vector of every expression with a table of its attributes) made
// the batch's receive 2.7-3.8 µs instead of 1.6-2.3 (docs/nft.md, "The per-call fixed cost").
EchoedRule EchoOf(const uint8_t* msg, size_t len) {
  const auto* nlh = reinterpret_cast<const struct nlmsghdr*>(msg);
  const size_t headers = mnl_nlmsg_size(sizeof(struct nfgenmsg));
  if (len < headers || nlh->nlmsg_len > len || nlh->nlmsg_len < headers) return EchoedRule{};
  EchoedRule out{0, ""};
  const auto* p = static_cast<const char*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(struct nfgenmsg)));
  EachAttr(p, static_cast<int>(reinterpret_cast<const char*>(msg) + nlh->nlmsg_len - p), [&out](const struct nlattr* a) {
    if (mnl_attr_get_type(a) == NFTA_RULE_HANDLE) out.handle = Be64(a);
    if (mnl_attr_get_type(a) != NFTA_RULE_EXPRESSIONS) return;
    EachNested(a, [&out](const struct nlattr* expr) {
      const struct nlattr* name = nullptr;
      const struct nlattr* data = nullptr;
      EachNested(expr, [&](const struct nlattr* x) {
        if (mnl_attr_get_type(x) == NFTA_EXPR_NAME) name = x;
        if (mnl_attr_get_type(x) == NFTA_EXPR_DATA) data = x;
      });
      if (!name || !data || !IsDynset(name)) return;
      // The set the rule adds to (connlimit's, deleted with it); a meter's `update` names one the
      // kernel deletes with the rule itself.
      const struct nlattr* op = nullptr;
      const struct nlattr* set = nullptr;
      EachNested(data, [&](const struct nlattr* x) {
        if (mnl_attr_get_type(x) == NFTA_DYNSET_OP) op = x;
        if (mnl_attr_get_type(x) == NFTA_DYNSET_SET_NAME) set = x;
      });
      if (Be32(op) == NFT_DYNSET_OP_ADD) out.set_name = Str(set);
    });
  });
  return out;
}
}  // namespace

KernelError SysError(const std::string& op, const std::string& detail, ErrorKind kind) { return KernelError{op, errno, detail, -1, kind}; }

std::pair<int, std::string> ErrorOf(const struct nlmsghdr* nlh) {
  const auto* err = static_cast<const struct nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof *err)) return {EBADMSG, ""};
  int e = -err->error;
  return {e, e != 0 ? ExtackMessage(nlh) : std::string()};
}

Result<std::unique_ptr<Socket>> Socket::Open() {
  struct mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (!nl) return SysError("nft socket", "", ErrorKind::kNftSocket);
  std::unique_ptr<Socket> s(new Socket(nl));
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) return SysError("nft socket", "bind", ErrorKind::kNftSocket);
  int one = 1;
  // The kernel's own words for a refusal (NLMSGERR_ATTR_MSG), without echoing our message back.
  mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof one);
  mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof one);
  s->portid_ = mnl_socket_get_portid(nl);
  return s;
}

Socket::~Socket() { mnl_socket_close(nl_); }

void Socket::BoundReceives(int seconds) {
  struct timeval tv = {seconds, 0};
  setsockopt(mnl_socket_get_fd(nl_), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

KernelError Socket::Broken(const std::string& op, const std::string& detail, ErrorKind kind) {
  broken_ = true;
  return SysError(op, detail, kind);
}

// Allocated once per socket and left uninitialized: a zeroed 128 KiB vector per call cost
// about 50 µs (fresh pages faulted in each time), the same order as the kernel's whole commit
// of a one-rule batch.
Socket::Socket(struct mnl_socket* nl) : nl_(nl), rx_(new uint8_t[kRecvSize]) {}

void Socket::Drain() {
  // Every send comes right after a Drain, so clearing the mark here covers them all.
  bool skip = drained_;
  drained_ = false;
  if (skip) return;  // SendBatch read its replies to the end: nothing can be queued since
  while (recv(mnl_socket_get_fd(nl_), rx_.get(), kRecvSize, MSG_DONTWAIT | MSG_TRUNC) >= 0) {
  }
}

Result<std::vector<Message>> Socket::Request(const Message& req, bool dump, const std::string& what, bool* interrupted, size_t most) {
  const auto* rh = reinterpret_cast<const struct nlmsghdr*>(req.data());
  uint32_t seq = rh->nlmsg_seq;
  (dump ? counts_.dumps : counts_.requests)++;
  Drain();
  if (mnl_socket_sendto(nl_, req.data(), req.size()) < 0) return Broken(what);
  std::vector<Message> out;
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl_, rx_.get(), kRecvSize);
    if (n < 0) return Broken(what);
    int left = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<const struct nlmsghdr*>(rx_.get()); mnl_nlmsg_ok(nlh, left);
         nlh = mnl_nlmsg_next(nlh, &left)) {
      if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portid_) continue;  // a late reply to an earlier request
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        auto [e, text] = ErrorOf(nlh);
        if (e == 0) return out;
        return KernelError{what, e, text, -1};
      }
      if (nlh->nlmsg_type == NLMSG_DONE) return out;
      if (interrupted && (nlh->nlmsg_flags & NLM_F_DUMP_INTR)) *interrupted = true;
      const auto* p = reinterpret_cast<const uint8_t*>(nlh);
      out.emplace_back(p, p + nlh->nlmsg_len);
      if (!dump || out.size() >= most) return out;
    }
  }
}

Result<std::vector<Socket::Answer>> Socket::RequestEach(const Message& reqs, uint32_t first_seq, size_t count, const std::string& what) {
  counts_.requests += count;
  Drain();
  if (mnl_socket_sendto(nl_, reqs.data(), reqs.size()) < 0) return Broken(what);
  std::vector<Answer> out(count);
  // Each answer is a datagram of its own (a found element, an ACK or error: well under a slot),
  // so they are taken kAnswerSlots to a recvmmsg rather than one recv each.
  std::array<struct mmsghdr, kAnswerSlots> mm{};
  std::array<struct iovec, kAnswerSlots> iov{};
  for (size_t open = count; open > 0;) {
    int got = ReceiveInSlots(mnl_socket_get_fd(nl_), rx_.get(), kAnswerSlot, mm, iov);
    if (got < 0) {
      if (errno == EINTR) continue;
      break;  // EAGAIN: the rest was dropped (ENOBUFS says so too); those answers stay unknown
    }
    for (int i = 0; i < got; i++) {
      if (mm[i].msg_hdr.msg_flags & MSG_TRUNC) continue;  // cut short: its answer stays unknown
      int left = static_cast<int>(mm[i].msg_len);
      for (auto* nlh = reinterpret_cast<const struct nlmsghdr*>(iov[i].iov_base); mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
        if (nlh->nlmsg_pid != portid_ || nlh->nlmsg_seq - first_seq >= count) continue;
        Answer& a = out[nlh->nlmsg_seq - first_seq];
        if (a.error >= 0) continue;
        if (nlh->nlmsg_type == NLMSG_ERROR) {
          a.error = ErrorOf(nlh).first;
          open--;
          continue;
        }
        const auto* p = reinterpret_cast<const uint8_t*>(nlh);
        a.replies.emplace_back(p, p + nlh->nlmsg_len);
      }
    }
  }
  return out;
}

Result<std::vector<Message>> Socket::Dump(const std::function<Message(uint32_t)>& build, const std::string& what) {
  for (int attempt = 1;; attempt++) {
    bool interrupted = false;
    auto r = Request(build(NextSeq()), true, what, &interrupted);
    if (!r.ok() && r.error().errnum == EINTR && attempt < kDumpAttempts) continue;
    if (!r.ok() || !interrupted || attempt == kDumpAttempts) return r;
  }
}

Result<Unit> Socket::StartDump(const Message& req, const std::string& what) {
  counts_.dumps++;
  Drain();
  if (mnl_socket_sendto(nl_, req.data(), req.size()) < 0) return Broken(what);
  return Unit{};
}

Result<bool> Socket::ReadDump(uint32_t seq, std::vector<Message>& out, const std::string& what) {
  ssize_t n = mnl_socket_recvfrom(nl_, rx_.get(), kRecvSize);
  if (n < 0) return Broken(what);
  int left = static_cast<int>(n);
  for (auto* nlh = reinterpret_cast<const struct nlmsghdr*>(rx_.get()); mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
    if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portid_) continue;
    if (nlh->nlmsg_type == NLMSG_DONE) return true;
    if (nlh->nlmsg_type == NLMSG_ERROR) {
      auto [e, text] = ErrorOf(nlh);
      if (e == 0) return true;
      return KernelError{what, e, text, -1};
    }
    const auto* p = reinterpret_cast<const uint8_t*>(nlh);
    out.emplace_back(p, p + nlh->nlmsg_len);
  }
  return false;
}

Result<uint32_t> Socket::GetGen() {
  Message req(MNL_SOCKET_BUFFER_SIZE);
  auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(req.data()), NFT_MSG_GETGEN, AF_UNSPEC, 0, NextSeq());
  req.resize(nlh->nlmsg_len);
  auto r = Request(req, false, "nft getgen");
  if (!r.ok()) {
    // Every commit starts here: a refusal says whether this kernel has nf_tables at all.
    KernelError e = r.error();
    e.kind = ErrorKind::kNftSocket;
    return e;
  }
  if (r.value().empty()) return KernelError{"nft getgen", EBADMSG, "no reply", -1, ErrorKind::kNftSocket};
  return GenOf(reinterpret_cast<const struct nlmsghdr*>(r.value()[0].data()));
}

Result<Unit> Socket::SendBatch(const Message& batch, const std::function<KernelError(uint32_t, int, const std::string&)>& error_for,
                             std::vector<EchoedRule>* echoed, uint32_t* new_gen) {
  // Replies to this batch carry sequence numbers from its first to its last message.
  const auto* head = reinterpret_cast<const struct nlmsghdr*>(batch.data());
  uint32_t first_seq = head->nlmsg_seq;
  uint32_t last_seq = seq_;
  if (new_gen) *new_gen = 0;
  counts_.batches++;
  Drain();
  int size = static_cast<int>(batch.size()) + (1 << 16);
  // A large transaction is one message stream larger than the default send buffer.
  if (batch.size() > (1 << 17)) setsockopt(mnl_socket_get_fd(nl_), SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size);
  if (mnl_socket_sendto(nl_, batch.data(), batch.size()) < 0) return Broken("nft commit", "", ErrorKind::kNftCommit);
  std::optional<KernelError> first;
  auto take = [&](const struct nlmsghdr* nlh) {
    if (nlh->nlmsg_pid != portid_ || nlh->nlmsg_seq < first_seq || nlh->nlmsg_seq > last_seq) return;
    if (nlh->nlmsg_type == (NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWGEN)) {
      if (new_gen) *new_gen = GenOf(nlh);
      return;
    }
    if (nlh->nlmsg_type == (NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWRULE)) {
      const auto* p = reinterpret_cast<const uint8_t*>(nlh);
      echoed->push_back(EchoOf(p, nlh->nlmsg_len));
      return;
    }
    if (nlh->nlmsg_type != NLMSG_ERROR) return;
    auto [e, text] = ErrorOf(nlh);
    if (e != 0 && !first) {
      first = error_for(nlh->nlmsg_seq, e, text);
      bool rule = RefusedMessageType(nlh) == (NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWRULE);
      first->kind = rule ? ErrorKind::kNftCommitRule : ErrorKind::kNftCommit;
    }
  };
  // nfnetlink runs the batch in sendmsg: every reply (the NEWGEN, each echo, each error: a
  // datagram each) is queued when it returns, and nothing comes after. So they are taken
  // kReplySlots to a recvmmsg, and a call that fills fewer slots has emptied the queue: a
  // lone append's three replies are one system call, not four recv calls and an empty fifth.
  std::array<struct mmsghdr, kReplySlots> mm{};
  std::array<struct iovec, kReplySlots> iov{};
  for (;;) {
    int got = ReceiveInSlots(mnl_socket_get_fd(nl_), rx_.get(), kReplySlot, mm, iov);
    if (got < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      // ENOBUFS: replies were dropped, so whether the batch was applied is unknown.
      if (!first) first = Broken("nft commit", "reading the batch's replies; the outcome is unknown", ErrorKind::kNftCommit);
      break;
    }
    // A reply cut short (an echo larger than its slot; errors are short, NETLINK_CAP_ACK) reads
    // as no message: that echo is missed, which leaves the cache unused, as a full buffer does.
    for (int i = 0; i < got; i++) {
      int left = static_cast<int>(mm[i].msg_len);
      for (auto* nlh = reinterpret_cast<const struct nlmsghdr*>(iov[i].iov_base); mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
        take(nlh);
    }
    if (static_cast<size_t>(got) < kReplySlots) {
      drained_ = true;
      break;
    }
  }
  if (first) return *first;
  return Unit{};
}

}  // namespace connlimit::core::nft
