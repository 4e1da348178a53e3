// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/ipset/ipset_socket.h"

#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>

#include "core/ipset/ipset_decoder.h"
#include "core/ipset/ipset_encoder.h"

namespace connlimit::core::ipset {

namespace {

// A dump skb is at most 32 KiB; an ipset error echoes a whole request (at most one batch
// message): twice that leaves room and never truncates.
constexpr size_t kRecvBuffer = 128 * 1024;
// A reply that never comes must not park a pool thread forever (there are 4 by default).
constexpr int kRecvTimeoutS = 30;
// Each batch message draws an ack: leave room for them in the receive buffer.
constexpr int kRcvBuf = 1024 * 1024;
// Side-by-side single calls (Each): every refused message draws an answer of its own, an skb
// of about 1 KiB truesize however small; 256 of them stay well inside kRcvBuf (ENOBUFS otherwise).
constexpr size_t kEachPerSend = 256;

// The socket itself failed (open, send, receive): kIpsetSocket, whatever the request was.
KernelError Sys(const char* op, int err, const std::string& detail = {}) { return KernelError{op, err, detail, -1, ErrorKind::kIpsetSocket}; }

const IpsetOp& OpOf(Adt cmd) { return cmd == Adt::kTest ? kOpTest : cmd == Adt::kAdd ? kOpAdd : kOpDelete; }

}  // namespace

Result<std::unique_ptr<IpsetSocket>> IpsetSocket::Open(std::shared_ptr<NetnsFd> netns) {
  std::unique_ptr<IpsetSocket> s(new IpsetSocket(std::move(netns)));
  auto c = s->Connect();
  if (!c.ok()) return c.error();
  return s;
}

IpsetSocket::~IpsetSocket() { Disconnect(); }

void IpsetSocket::Disconnect() {
  if (nl_) mnl_socket_close(nl_);
  nl_ = nullptr;
}

Result<Unit> IpsetSocket::Connect() {
  if (nl_) return Unit{};
  buf_.resize(kRecvBuffer);
  {
    auto guard = NetnsGuard::Enter(netns_ ? netns_->fd() : -1);
    if (!guard.ok()) return guard.error();
    mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
    if (!nl) return Sys("ipset socket", errno);
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
      int err = errno;
      mnl_socket_close(nl);
      return Sys("ipset socket", err);
    }
    nl_ = nl;
  }
  // No NETLINK_CAP_ACK: an error must echo the request, whose LINENO names the failing element.
  int fd = mnl_socket_get_fd(nl_);
  int size = kRcvBuf;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  timeval tv{kRecvTimeoutS, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  // The handshake every ipset run starts with: proves the subsystem is there and ours to use.
  uint32_t seq = ++seq_;
  auto sent = Send(EncodeProtocol(seq), kOpProtocol, {});
  if (!sent.ok()) return sent.error();
  bool answered = false;
  auto r = Await(seq, 0, false, kOpProtocol, {}, [&](const nlmsghdr*) -> Result<Unit> {
    answered = true;
    return Unit{};
  });
  if (!r.ok()) {
    Disconnect();
    return r.error();
  }
  if (!answered) {
    Disconnect();
    return KernelError{kOpProtocol.text, EBADMSG, "no reply to the PROTOCOL request", -1, ErrorKind::kMalformed};
  }
  return Unit{};
}

Result<Unit> IpsetSocket::Send(const std::vector<uint8_t>& bytes, const IpsetOp& op, const std::string& detail) {
  if (mnl_socket_sendto(nl_, bytes.data(), bytes.size()) < 0) {
    int err = errno;
    Disconnect();
    return Sys(op.text, err, detail);
  }
  return Unit{};
}

// count 0: a query answered by one data message and no ack (PROTOCOL, TYPE, HEADER).
Result<Unit> IpsetSocket::Await(uint32_t seq, uint32_t count, bool dump, const IpsetOp& op, const std::string& detail,
                                const std::function<Result<Unit>(const nlmsghdr*)>& on_message) {
  uint32_t answers = 0;
  bool data = false;
  std::optional<KernelError> first;
  uint32_t last = count == 0 ? seq : seq + count - 1;
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl_, buf_.data(), buf_.size());
    if (n < 0) {
      int err = errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno;
      Disconnect();
      return Sys(op.text, err, detail);
    }
    auto info = DecodeChunk(buf_.data(), static_cast<size_t>(n), seq, last, op, detail, [&](const nlmsghdr* nlh) {
      data = true;
      return on_message(nlh);
    });
    if (!info.ok()) {
      Disconnect();  // what is left of this answer would meet the next request
      return info.error();
    }
    answers += info.value().answers;
    if (info.value().error && !first) first = info.value().error;
    if (dump ? (info.value().done || first) : count == 0 ? (data || first) : answers >= count) break;
  }
  // A refused dump ends with its error and no NLMSG_DONE; nothing else of it follows.
  if (first) return *first;
  return Unit{};
}

Result<Unit> IpsetSocket::Ack(const std::vector<uint8_t>& bytes, uint32_t seq, const IpsetOp& op, const std::string& detail) {
  auto sent = Send(bytes, op, detail);
  if (!sent.ok()) return sent.error();
  return Await(seq, 1, false, op, detail, [](const nlmsghdr*) -> Result<Unit> { return Unit{}; });
}

Result<uint8_t> IpsetSocket::Revision(const std::string& type, uint8_t family) {
  const SetType* known = FindSetType(type);
  if (!known) return KernelError{kOpCreate.text, EINVAL, "unknown set type " + type};
  auto key = std::make_pair(type, family);
  auto hit = revisions_.find(key);
  if (hit != revisions_.end()) return hit->second;
  auto c = Connect();
  if (!c.ok()) return c.error();
  uint32_t seq = ++seq_;
  auto sent = Send(EncodeTypeQuery(type, family, seq), kOpType, type);
  if (!sent.ok()) return sent.error();
  uint8_t kernel_max = 0;
  auto r = Await(seq, 0, false, kOpType, type, [&](const nlmsghdr* nlh) -> Result<Unit> {
    auto rev = DecodeTypeReply(nlh);
    if (!rev.ok()) return rev.error();
    kernel_max = rev.value();
    return Unit{};
  });
  if (!r.ok()) return r.error();
  uint8_t rev = std::min(known->revision, kernel_max);
  revisions_[key] = rev;
  return rev;
}

Result<Unit> IpsetSocket::Create(const CreateSpec& spec) {
  auto rev = Revision(spec.type, spec.family);
  if (!rev.ok()) return rev.error();
  uint32_t seq = ++seq_;
  return Ack(EncodeCreate(spec, rev.value(), seq), seq, kOpCreate, spec.name);
}

Result<Unit> IpsetSocket::Elements(Adt cmd, const std::string& set, const ElementBatch& elements, bool exist) {
  const IpsetOp& op = OpOf(cmd);
  auto c = Connect();
  if (!c.ok()) return c.error();
  if (elements.entries.size() == 1) {
    uint32_t seq = ++seq_;
    return Ack(EncodeElement(cmd, set, elements.At(0), exist, seq), seq, op, set);
  }
  std::optional<KernelError> first;
  for (size_t i = 0; i < elements.entries.size();) {
    std::vector<uint8_t> out;
    size_t end = i;
    uint32_t seq = seq_ + 1;
    size_t messages = AppendElementBatch(out, cmd, set, elements, i, end, exist, seq, kBatchMessage, kBatchSend);
    seq_ += static_cast<uint32_t>(messages);
    auto sent = Send(out, op, set);
    if (!sent.ok()) return sent.error();
    auto r = Await(seq, static_cast<uint32_t>(messages), false, op, set, [](const nlmsghdr*) -> Result<Unit> { return Unit{}; });
    if (!r.ok()) {
      if (r.error().kind != op.kind) return r.error();  // the socket failed: nothing more can be said
      first = r.error();
      break;  // stop at the first send with a refusal: later elements are not sent
    }
    i = end;
  }
  if (first) return *first;
  return Unit{};
}

Result<std::vector<std::optional<KernelError>>> IpsetSocket::Each(const std::vector<ElementCall>& calls) {
  auto c = Connect();
  if (!c.ok()) return c.error();
  std::vector<std::optional<KernelError>> out(calls.size());
  for (size_t i = 0; i < calls.size();) {
    std::vector<uint8_t> bytes;
    uint32_t first = seq_ + 1;
    size_t from = i;
    size_t last_at = 0;
    do {
      const ElementCall& call = calls[i++];
      auto m = EncodeElement(call.cmd, call.set, call.element, call.exist, ++seq_);
      m.resize(MNL_ALIGN(m.size()), 0);
      last_at = bytes.size();
      bytes.insert(bytes.end(), m.begin(), m.end());
    } while (i < calls.size() && i - from < kEachPerSend && bytes.size() < kBatchSend - 4096);
    // Only the last message of the send asks for an ack. The kernel runs the messages of one
    // sendmsg in order and answers a refused one whatever its flags, so that ack comes after
    // every refusal before it, and a call with no answer went in. An ack per message was a
    // receive per call on this thread (one skb each), about as much as the kernel's add.
    for (size_t at = 0; at < last_at;) {
      auto* nlh = reinterpret_cast<nlmsghdr*>(bytes.data() + at);
      nlh->nlmsg_flags &= ~NLM_F_ACK;
      at += MNL_ALIGN(nlh->nlmsg_len);
    }
    const IpsetOp& op = OpOf(calls[from].cmd);
    auto sent = Send(bytes, op, calls[from].set);
    if (!sent.ok()) return sent.error();
    bool last_answered = false;
    while (!last_answered) {
      ssize_t n = mnl_socket_recvfrom(nl_, buf_.data(), buf_.size());
      if (n < 0) {
        int err = errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno;
        Disconnect();
        return Sys(op.text, err, calls[from].set);
      }
      auto info = DecodeChunk(buf_.data(), static_cast<size_t>(n), first, seq_, op, {}, [](const nlmsghdr*) -> Result<Unit> { return Unit{}; });
      if (!info.ok()) {
        Disconnect();
        return info.error();
      }
      // The one ack without an error is the last message's.
      if (info.value().answers > info.value().refusals.size()) last_answered = true;
      for (auto& [seq, e] : info.value().refusals) {
        if (seq == seq_) last_answered = true;
        const ElementCall& call = calls[from + (seq - first)];
        // The op and set of this call, not of the first one of the send.
        e.op = OpOf(call.cmd).text;
        e.kind = OpOf(call.cmd).kind;
        e.detail = call.set;
        e.op_index = -1;
        out[from + (seq - first)] = e;
      }
    }
  }
  return out;
}

Result<bool> IpsetSocket::Test(const std::string& set, const Element& e) {
  auto c = Connect();
  if (!c.ok()) return c.error();
  uint32_t seq = ++seq_;
  auto r = Ack(EncodeElement(Adt::kTest, set, e, false, seq), seq, kOpTest, set);
  if (r.ok()) return true;
  if (r.error().kind == kOpTest.kind && r.error().errnum == IPSET_ERR_EXIST) return false;  // the kernel's "not in the set"
  return r.error();
}

Result<SetHeader> IpsetSocket::Header(const std::string& set) {
  auto listed = List(set, true);
  if (!listed.ok()) return listed.error();
  return listed.value().header;
}

Result<Unit> IpsetSocket::Named(uint8_t cmd, const IpsetOp& op, const std::string& name, const std::string& name2, bool excl) {
  auto c = Connect();
  if (!c.ok()) return c.error();
  uint32_t seq = ++seq_;
  return Ack(EncodeNamed(cmd, name, name2, excl, seq), seq, op, name);
}

Result<ListedSet> IpsetSocket::List(const std::string& set, bool header_only) {
  auto c = Connect();
  if (!c.ok()) return c.error();
  uint32_t seq = ++seq_;
  auto sent = Send(EncodeList(set, header_only, seq), kOpList, set);
  if (!sent.ok()) return sent.error();
  ListDecoder dec;
  auto r = Await(seq, 1, true, kOpList, set, [&](const nlmsghdr* nlh) { return dec.Feed(nlh); });
  if (!r.ok()) return r.error();
  return dec.take();
}

Result<Unit> IpsetSocket::StartList(const std::string& set) {
  auto c = Connect();
  if (!c.ok()) return c.error();
  list_seq_ = ++seq_;
  list_set_ = set;
  list_ = ListDecoder{};
  return Send(EncodeList(set, false, list_seq_), kOpList, set);
}

Result<bool> IpsetSocket::ReadList(size_t want, ListedSet& out) {
  if (!nl_) return Sys(kOpList.text, EBADF, list_set_);
  bool done = false;
  size_t have = 0;
  std::vector<Element> entries;
  while (!done && have < want) {
    ssize_t n = mnl_socket_recvfrom(nl_, buf_.data(), buf_.size());
    if (n < 0) {
      int err = errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno;
      Disconnect();
      return Sys(kOpList.text, err, list_set_);
    }
    auto info = DecodeChunk(buf_.data(), static_cast<size_t>(n), list_seq_, list_seq_, kOpList, list_set_,
                            [&](const nlmsghdr* nlh) { return list_.Feed(nlh); });
    if (!info.ok()) {
      Disconnect();
      return info.error();
    }
    if (info.value().error) {
      Disconnect();  // a refused dump ends with its error; nothing else of it follows
      return *info.value().error;
    }
    done = info.value().done;
    have = list_.set().entries.size();
  }
  out.header = list_.set().header;
  out.entries = list_.TakeEntries();
  return done;
}

Result<std::vector<std::string>> IpsetSocket::Names() {
  auto c = Connect();
  if (!c.ok()) return c.error();
  uint32_t seq = ++seq_;
  auto sent = Send(EncodeList({}, false, seq), kOpList, {});
  if (!sent.ok()) return sent.error();
  ListDecoder dec;
  auto r = Await(seq, 1, true, kOpList, {}, [&](const nlmsghdr* nlh) { return dec.Feed(nlh); });
  if (!r.ok()) return r.error();
  return dec.names();
}

}  // namespace connlimit::core::ipset
