// SPDX-License-Identifier: GPL-2.0-or-later
// I/O: one NETLINK_NETFILTER socket for the ipset subsystem, created inside a target network
// namespace (a netlink socket stays bound to the namespace it was made in), and the round
// trips over it. Building and reading messages is the pure bricks beside it.
//
// Threading: an IpsetSocket is used by one thread at a time; the owner (native/js/ipset.cc)
// holds its mutex around each call, on the handle's own thread. Every wait is bounded (SO_RCVTIMEO).
#pragma once

#include <libmnl/libmnl.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/ipset/ipset_decoder.h"
#include "core/ipset/ipset_op.h"
#include "core/ipset/ipset_types.h"
#include "core/netns_guard.h"
#include "core/result.h"

namespace connlimit::core::ipset {

class IpsetSocket {
 public:
  // Batch packing: `ipset restore` uses about 4 KiB per message; bigger messages cost the
  // kernel nothing more and mean fewer acks. One sendmsg stays under the default socket send
  // buffer (net.core.wmem_default, 212992), so no SO_SNDBUFFORCE is needed. Public for the
  // bench's floor, which sends what Elements() sends.
  static constexpr size_t kBatchMessage = 32 * 1024;
  static constexpr size_t kBatchSend = 192 * 1024;

  // Create the socket inside `netns` (null: this thread's namespace) and check with the
  // PROTOCOL handshake that ip_set answers and speaks protocol 7 (EPERM without CAP_NET_ADMIN).
  static Result<std::unique_ptr<IpsetSocket>> Open(std::shared_ptr<NetnsFd> netns);
  ~IpsetSocket();
  IpsetSocket(const IpsetSocket&) = delete;
  IpsetSocket& operator=(const IpsetSocket&) = delete;

  // CREATE with the revision ipset 7.17 would send: the type's known revision, or the
  // kernel's highest when that is lower (one TYPE query per type and family per socket).
  Result<Unit> Create(const CreateSpec& spec);
  // One element per message, as the CLI; or, with several, `ipset restore`'s packing, many
  // messages per sendmsg. Not atomic (ipset has no transactions): on a refusal the elements
  // before the failing one are in place, it and the rest of its message are not, the other
  // messages of the same sendmsg were applied all the same, and nothing after it is sent.
  Result<Unit> Elements(Adt cmd, const std::string& set, const ElementBatch& elements, bool exist);
  // Independent single-element calls sent side by side (many messages per sendmsg, each with
  // its own ack): one thread hop and a few syscalls for calls that queued up together. Each
  // answer is its own, as if the calls had been made one by one, in order: nullopt, or the
  // refusal (a TEST's "not in the set" is IPSET_ERR_EXIST, as from Test()). A failure of the
  // socket itself fails them all (the error of the whole result).
  Result<std::vector<std::optional<KernelError>>> Each(const std::vector<ElementCall>& calls);
  // TEST: whether the element is in the set (IPSET_ERR_EXIST means no).
  Result<bool> Test(const std::string& set, const Element& e);
  // The set's header without its elements (LIST with LIST_HEADER, as `ipset list -t`): type,
  // family, and the options element calls are checked against.
  Result<SetHeader> Header(const std::string& set);
  // DESTROY, FLUSH, RENAME, SWAP.
  Result<Unit> Named(uint8_t cmd, const IpsetOp& op, const std::string& name, const std::string& name2, bool excl);
  Result<ListedSet> List(const std::string& set, bool header_only = false);
  Result<std::vector<std::string>> Names();
  // Streaming LIST, for sets too big to hold whole: StartList sends the request; ReadList
  // moves out the header and at least `want` entries (whole kernel messages, so a few more),
  // or what is left, and says whether the dump is over. The kernel makes the next part of the
  // dump only when it is read, so memory stays one batch on both sides. A socket that streams
  // does nothing else until the dump is over (the owner gives each listing its own socket).
  Result<Unit> StartList(const std::string& set);
  Result<bool> ReadList(size_t want, ListedSet& out);
  // The namespace the socket lives in, for the getsockopt bricks (ipset_sockopt.h).
  const std::shared_ptr<NetnsFd>& netns() const { return netns_; }

 private:
  explicit IpsetSocket(std::shared_ptr<NetnsFd> netns) : netns_(std::move(netns)) {}
  Result<Unit> Connect();
  void Disconnect();
  Result<Unit> Send(const std::vector<uint8_t>& bytes, const IpsetOp& op, const std::string& detail);
  // Read until `count` requests numbered from `seq` are answered (or, for a dump, NLMSG_DONE);
  // returns the first refusal, if any, after every answer is in.
  Result<Unit> Await(uint32_t seq, uint32_t count, bool dump, const IpsetOp& op, const std::string& detail,
                     const std::function<Result<Unit>(const nlmsghdr*)>& on_message);
  Result<Unit> Ack(const std::vector<uint8_t>& bytes, uint32_t seq, const IpsetOp& op, const std::string& detail);
  Result<uint8_t> Revision(const std::string& type, uint8_t family);

  std::shared_ptr<NetnsFd> netns_;
  mnl_socket* nl_ = nullptr;
  uint32_t seq_ = 0;
  std::vector<uint8_t> buf_;
  std::map<std::pair<std::string, uint8_t>, uint8_t> revisions_;
  // The streamed listing in progress (StartList/ReadList).
  uint32_t list_seq_ = 0;
  std::string list_set_;
  ListDecoder list_;
};

}  // namespace connlimit::core::ipset
