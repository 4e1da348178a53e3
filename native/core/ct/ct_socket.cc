// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/ct/ct_socket.h"

#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <initializer_list>

#include "core/ct/counter.h"
#include "core/ct/ct_decoder.h"
#include "core/ct/ct_encoder.h"

namespace connlimit::core::ct {

namespace {

// A netlink dump skb is at most 32 KiB (net/netlink/af_netlink.c netlink_dump); twice that
// leaves room and never truncates (MSG_TRUNC would be ENOSPC from mnl_socket_recvfrom).
constexpr size_t kRecvBuffer = 64 * 1024;
// Deletes per sendmsg: each draws one ack, and acks must fit the receive buffer.
constexpr size_t kDeletesPerSend = 128;
// A reply that never comes must not park a pool thread forever (there are 4 by default).
constexpr int kRecvTimeoutS = 30;
// Acks of a batch are small, but each costs a whole skb of receive buffer: make room.
constexpr int kRcvBuf = 4 * 1024 * 1024;

KernelError Sys(const char* op, int err, ErrorKind kind = ErrorKind::kConntrack) { return KernelError{op, err, {}, -1, kind}; }

// A DecodeChunk failure that is the kernel's answer (NLMSG_ERROR) with one of `errnos`, not
// bytes we could not read.
bool KernelRefused(const KernelError& err, std::initializer_list<int> errnos) {
  if (err.kind != ErrorKind::kConntrack) return false;
  for (int e : errnos)
    if (err.errnum == e) return true;
  return false;
}

}  // namespace

Result<std::unique_ptr<CtSocket>> CtSocket::Open(std::shared_ptr<NetnsFd> netns) {
  std::unique_ptr<CtSocket> s(new CtSocket(std::move(netns)));
  auto c = s->Connect();
  if (!c.ok()) return c.error();
  auto probe = s->Count();
  if (!probe.ok()) return probe.error();
  return s;
}

CtSocket::~CtSocket() { Disconnect(); }

void CtSocket::Disconnect() {
  if (nl_) mnl_socket_close(nl_);
  nl_ = nullptr;
  streaming_ = false;
}

Result<Unit> CtSocket::Connect() {
  if (nl_) return Unit{};
  buf_.resize(kRecvBuffer);
  // A netlink socket belongs to the namespace of the thread that creates it (DESIGN.md).
  auto guard = NetnsGuard::Enter(netns_ ? netns_->fd() : -1);
  if (!guard.ok()) return guard.error();
  mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (!nl) return Sys("ct socket", errno, ErrorKind::kCtSocket);
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    int err = errno;
    mnl_socket_close(nl);
    return Sys("ct socket", err, ErrorKind::kCtSocket);
  }
  int one = 1;
  // Error text from the kernel (NLMSGERR_ATTR_MSG), and acks without the echoed request.
  mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
  mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
  int fd = mnl_socket_get_fd(nl);
  int size = kRcvBuf;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));  // capped by rmem_max; fine
  timeval tv{kRecvTimeoutS, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  nl_ = nl;
  return Unit{};
}

Result<Unit> CtSocket::Send(const std::vector<uint8_t>& bytes, const char* op) {
  if (mnl_socket_sendto(nl_, bytes.data(), bytes.size()) < 0) {
    int err = errno;
    Disconnect();
    return Sys(op, err);
  }
  return Unit{};
}

Result<size_t> CtSocket::Receive(const char* op) {
  ssize_t n = mnl_socket_recvfrom(nl_, buf_.data(), buf_.size());
  if (n < 0) {
    int err = errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno;
    Disconnect();
    return Sys(op, err);
  }
  return static_cast<size_t>(n);
}

void CtSocket::Drain() {
  // The rest of an abandoned dump would answer our next request, and the kernel refuses a
  // new dump while one runs (EBUSY): a fresh socket is simpler and always right.
  Disconnect();
}

Result<TableCount> CtSocket::Count() {
  auto c = Connect();
  if (!c.ok()) return c.error();
  uint32_t seq = ++seq_;
  auto sent = Send(EncodeStatsRequest(seq), "ct stats");
  if (!sent.ok()) return sent.error();
  // The reply carries NLM_F_MULTI but no NLMSG_DONE follows (NETFILTER-NOTES.md §5.2, §8.8):
  // stop at the first message that answers us.
  for (;;) {
    auto n = Receive("ct stats");
    if (!n.ok()) return n.error();
    auto info = DecodeChunk(buf_.data(), n.value(), seq, "ct stats", true, [](const Entry&, EntryKind) {});
    if (!info.ok()) {
      Drain();
      return info.error();
    }
    if (info.value().has_stats) return TableCount{info.value().stats_entries, info.value().stats_max_entries};
    if (info.value().done) return KernelError{"ct stats", EBADMSG, "no CTA_STATS_GLOBAL_ENTRIES in the reply", -1, ErrorKind::kMalformed};
  }
}

Result<Unit> CtSocket::SendDump(const Filter& filter, const char* op) {
  auto c = Connect();
  if (!c.ok()) return c.error();
  return Send(EncodeDumpRequest(filter, ++seq_, kernel_tuple_filter_), op);
}

Result<DumpStats> CtSocket::Dump(const Filter& filter, const std::function<void(const Entry&)>& on_entry,
                                 const std::function<void()>& on_restart) {
  DumpStats st;
  for (int attempt = 0;;) {
    auto sent = SendDump(filter, "ct dump");
    if (!sent.ok()) return sent.error();
    bool interrupted = false, done = false;
    uint64_t before = st.messages;
    while (!done) {
      auto n = Receive("ct dump");
      if (!n.ok()) return n.error();
      st.bytes += n.value();
      auto info = DecodeChunk(buf_.data(), n.value(), seq_, "ct dump", true, [&](const Entry& e, EntryKind) {
        st.messages++;
        if (Matches(filter, e)) {
          st.matched++;
          on_entry(e);
        }
      });
      if (!info.ok()) {
        const KernelError& err = info.error();
        // A kernel whose ctnetlink knows CTA_FILTER but not a flag we set says EOPNOTSUPP
        // before sending anything; ask again and filter in C++ alone.
        bool refused = KernelRefused(err, {EOPNOTSUPP, EINVAL});
        if (refused && kernel_tuple_filter_ && KernelTupleFlags(filter) && st.messages == before) {
          kernel_tuple_filter_ = false;
          st.kernel_filter_refused = true;
          break;
        }
        if (err.kind == ErrorKind::kMalformed) Drain();
        return err;
      }
      interrupted |= info.value().interrupted;
      st.kernel_filtered |= info.value().filtered;
      done = info.value().done;
    }
    if (!done) continue;  // refused filter: same attempt, without the tuple filter
    if (!interrupted) return st;
    if (++attempt > kMaxRestarts) return KernelError{"ct dump", EINTR, "the table kept changing during the dump (NLM_F_DUMP_INTR)", -1, ErrorKind::kCtDumpInterrupted};
    st.restarts++;
    st.messages = st.matched = 0;  // bytes keep counting: they were all received
    on_restart();
  }
}

Result<Unit> CtSocket::StartDump(const Filter& filter) {
  stream_filter_ = filter;
  stream_seen_ = false;
  auto sent = SendDump(filter, "ct dump");
  if (!sent.ok()) return sent.error();
  streaming_ = true;
  return Unit{};
}

Result<bool> CtSocket::ReadDump(size_t want, std::vector<Entry>& out) {
  size_t start = out.size();
  while (streaming_ && out.size() - start < want) {
    auto n = Receive("ct dump");
    if (!n.ok()) return n.error();
    auto info = DecodeChunk(buf_.data(), n.value(), seq_, "ct dump", true, [&](const Entry& e, EntryKind) {
      if (Matches(stream_filter_, e)) out.push_back(e);
    });
    if (!info.ok()) {
      const KernelError& err = info.error();
      bool refused = KernelRefused(err, {EOPNOTSUPP, EINVAL});
      if (refused && kernel_tuple_filter_ && KernelTupleFlags(stream_filter_) && !stream_seen_) {
        // As in Dump(): nothing was sent yet, so ask again without the tuple filter.
        kernel_tuple_filter_ = false;
        auto again = SendDump(stream_filter_, "ct dump");
        if (!again.ok()) return again.error();
        continue;
      }
      Drain();
      return err;
    }
    stream_seen_ = true;
    if (info.value().interrupted) {
      // Part of the listing is with the caller already: report, never return it silently partial.
      Drain();
      return KernelError{"ct dump", EINTR, "the table changed during the listing (NLM_F_DUMP_INTR)", -1, ErrorKind::kCtDumpInterrupted};
    }
    if (info.value().done) streaming_ = false;
  }
  return !streaming_;
}

Result<DeleteStats> CtSocket::Delete(const Filter& filter) {
  if (kernel_flush_ && KernelCanFlush(filter)) {
    uint64_t matched = 0;
    auto dumped = Dump(filter, [&](const Entry&) { matched++; }, [&] { matched = 0; });
    if (!dumped.ok()) return dumped.error();
    if (matched == 0) return DeleteStats{};
    uint32_t seq = ++seq_;
    auto sent = Send(EncodeFlushRequest(filter, seq), "ct delete");
    if (!sent.ok()) return sent.error();
    for (;;) {
      auto n = Receive("ct delete");
      if (!n.ok()) return n.error();
      auto info = DecodeChunk(buf_.data(), n.value(), seq, "ct delete", true, [](const Entry&, EntryKind) {});
      if (!info.ok()) {
        const KernelError& err = info.error();
        if (KernelRefused(err, {EINVAL, EOPNOTSUPP})) {
          kernel_flush_ = false;  // an older flush: do it entry by entry below
          break;
        }
        if (err.kind == ErrorKind::kMalformed) Drain();
        return err;
      }
      if (info.value().acks) {
        DeleteStats st;
        st.matched = st.deleted = matched;
        st.kernel_side = true;
        return st;
      }
    }
  }
  std::vector<Entry> victims;
  auto dumped = Dump(filter, [&](const Entry& e) { victims.push_back(e); }, [&] { victims.clear(); });
  if (!dumped.ok()) return dumped.error();
  DeleteStats st;
  st.matched = victims.size();
  for (size_t i = 0; i < victims.size(); i += kDeletesPerSend) {
    size_t end = std::min(victims.size(), i + kDeletesPerSend);
    uint32_t seq = ++seq_;
    std::vector<uint8_t> batch;
    for (size_t j = i; j < end; j++) AppendDeleteRequest(batch, victims[j], seq);
    auto sent = Send(batch, "ct delete");
    if (!sent.ok()) return sent.error();
    uint64_t answered = 0, want = end - i;
    while (answered < want) {
      auto n = Receive("ct delete");
      if (!n.ok()) return n.error();
      auto info = DecodeChunk(buf_.data(), n.value(), seq, "ct delete", false, [](const Entry&, EntryKind) {});
      if (!info.ok()) {
        Drain();
        return info.error();
      }
      st.deleted += info.value().acks;
      st.vanished += info.value().not_found;
      answered += info.value().acks + info.value().not_found;
    }
  }
  return st;
}

}  // namespace connlimit::core::ct
