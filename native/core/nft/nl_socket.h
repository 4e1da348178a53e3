// SPDX-License-Identifier: GPL-2.0-or-later
// One NETLINK_NETFILTER socket for nf_tables requests and batches (libmnl): requests with their
// replies, dumps redone when the kernel marks them inconsistent, the generation id, and batches
// whose errors map back to the failing message. Shared by every writer of nf_tables tables.
#pragma once

#include <libmnl/libmnl.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/nft/message.h"
#include "core/result.h"

namespace connlimit::core::nft {

// A dump the kernel marked inconsistent (NLM_F_DUMP_INTR) is redone up to this many times.
constexpr int kDumpAttempts = 8;

KernelError SysError(const std::string& op, const std::string& detail = "", ErrorKind kind = ErrorKind::kNone);

// What the kernel's echo of one committed NEWRULE tells: its handle, and the name it gave the
// set the rule adds to (a dynset's NFTA_DYNSET_SET_NAME; empty without one), so a later delete
// can remove the rule and its set without a dump.
struct EchoedRule {
  uint64_t handle = 0;
  std::string set_name;
};

// What a socket sent, for tests and benchmarks that prove a call read nothing: plain requests
// (GETGEN, GETCHAIN...), dumps (each attempt of one counts), batches.
struct SocketCounts {
  uint64_t requests = 0, dumps = 0, batches = 0;
};

// (errno, extended ack text) of an NLMSG_ERROR; errno 0 for an ACK.
std::pair<int, std::string> ErrorOf(const struct nlmsghdr* nlh);

// One NETLINK_NETFILTER socket, created in the caller's (already entered) namespace; it stays
// bound to that namespace for its whole life, so a long-lived owner reuses it without setns.
// Not thread-safe: its owner serializes the calls. Replies left unread by an earlier call (an
// error mid-dump) are dropped before each send, and every reply read is checked against the
// request's sequence number and our port id, so a stale reply is never taken for a new one.
class Socket {
 public:
  static Result<std::unique_ptr<Socket>> Open();
  ~Socket();
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  uint32_t NextSeq() { return ++seq_; }
  // Every receive of Request() waits at most this long (SO_RCVTIMEO), then fails with EAGAIN;
  // for owners that must not hold a pool thread unbounded.
  void BoundReceives(int seconds);

  // The port id the kernel gave this socket: ruleset notifications of our commits carry it.
  uint32_t port() const { return portid_; }

  // Send one request and collect its replies until DONE (dump), the single reply (get), or an
  // error; or, for a dump, until `most` messages came: the rest of a dump cut short stays queued
  // on the socket, so make that the socket's last request.
  Result<std::vector<Message>> Request(const Message& req, bool dump, const std::string& what, bool* interrupted = nullptr,
                                       size_t most = SIZE_MAX);

  // Requests sent together in one sendmsg, each with NLM_F_ACK and its own sequence number
  // from `first_seq` on (`count` of them): nfnetlink runs each in our context before sendmsg
  // returns and queues its replies in order, so they are read without waiting. Each request's
  // answer: its replies and the errno of its NLMSG_ERROR (0 an ACK; -1 when none came, its
  // replies dropped on a full receive queue). Unlike dumps, any number may be in flight.
  struct Answer {
    int error = -1;
    std::vector<Message> replies;
  };
  Result<std::vector<Answer>> RequestEach(const Message& reqs, uint32_t first_seq, size_t count, const std::string& what);

  // A dump that the kernel marked inconsistent (the ruleset changed mid-dump) is redone.
  Result<std::vector<Message>> Dump(const std::function<Message(uint32_t)>& build, const std::string& what);

  // A dump read part by part, for a streamed listing (the socket's only business until it
  // ends): StartDump sends the request; each ReadDump appends the messages of one receive
  // (whole kernel messages, at most a 32 KiB dump part) and says whether the dump is over.
  Result<Unit> StartDump(const Message& req, const std::string& what);
  Result<bool> ReadDump(uint32_t seq, std::vector<Message>& out, const std::string& what);

  Result<uint32_t> GetGen();

  // Sends one batch; errors come back as NLMSG_ERRORs carrying the failing message's sequence
  // number, all queued before sendmsg returns (nfnetlink runs the batch in our context), so
  // they are read without waiting, as iptables-nft does. First error wins. Echoed NEWRULE
  // messages are appended to `echoed` in batch order. A batch whose BATCH_BEGIN
  // carries NLM_F_ECHO makes the kernel send the committing socket the generation id its
  // commit produced (nf_tables_gen_notify reports to the first message's sender); it is stored
  // in `new_gen` when given (0 if none came). `error_for` words a refusal for people (op,
  // detail, op index); its kind is the kernel's fact, set here from the refused message's type:
  // kNftCommitRule for a rule, kNftCommit for anything else.
  Result<Unit> SendBatch(const Message& batch, const std::function<KernelError(uint32_t, int, const std::string&)>& error_for,
                         std::vector<EchoedRule>* echoed, uint32_t* new_gen = nullptr);

  const SocketCounts& counts() const { return counts_; }

  // A send or receive failed (not a kernel refusal): replies may be lost or pending, so the
  // owner should close this socket and open another.
  bool broken() const { return broken_; }

 private:
  explicit Socket(struct mnl_socket* nl);
  // Reads and drops whatever is queued (replies to an earlier request cut short); every send
  // follows one.
  void Drain();
  KernelError Broken(const std::string& op, const std::string& detail = "", ErrorKind kind = ErrorKind::kNone);
  struct mnl_socket* nl_;
  std::unique_ptr<uint8_t[]> rx_;  // every receive's buffer; the calls copy out what they keep
  bool broken_ = false;
  bool drained_ = false;  // the last SendBatch read every reply: the next Drain has nothing to read
  uint32_t portid_ = 0;
  uint32_t seq_ = 0;
  SocketCounts counts_;
};

}  // namespace connlimit::core::nft
