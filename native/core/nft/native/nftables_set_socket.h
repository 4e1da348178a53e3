// SPDX-License-Identifier: GPL-2.0-or-later
// I/O: client sets on the native nftables form (backend 'nftables'): nf_tables named sets in
// our first table (`connlimit`, family ip or ip6, created by the first create()), the same
// calls as core/ipset/ipset_socket.h on the same structs, so the JS handle and src/sets/ serve
// both. One NETLINK_NETFILTER socket made inside the namespace and kept; every change is one
// nfnetlink batch (atomic: addMany/deleteMany are all or nothing here, unlike ipset); every
// receive bounded by SO_RCVTIMEO. Messages are core/nft/native/nftables_sets.h's.
//
// Threading: used by one thread at a time; the owner (native/js/nftables_sets.cc) holds its
// mutex around each call, on the handle's own thread (js/handle_thread).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/ipset/ipset_types.h"
#include "core/netns_guard.h"
#include "core/nft/native/nftables_sets.h"
#include "core/nft/nl_socket.h"
#include "core/result.h"
#include "core/rule_spec.h"

namespace connlimit::core::nft {

class NftablesSetSocket {
 public:
  static Result<std::unique_ptr<NftablesSetSocket>> Open(std::shared_ptr<NetnsFd> netns);

  // NEWTABLE (as the rule writer sends it: kept when there) + NEWSET, one batch.
  Result<Unit> Create(Family family, const ipset::CreateSpec& spec);
  // NEWSETELEM (EXCL unless `exist`) or DELSETELEM, every element in one batch. On a refusal
  // nothing is applied; op_index is the element of the first refused message's first element.
  Result<Unit> Elements(Family family, bool add, const std::string& set, const std::vector<ipset::Element>& elements, bool exist);
  // Independent adds and deletes (no test), each answered as if sent alone in call order: runs
  // of them go in one batch, one sendmsg (a delete with `exist` goes alone, through Elements()).
  // A batch refused at one message is sent again without that call, which gets the refusal;
  // the calls before it saw what they would have seen alone, and it changed nothing.
  Result<std::vector<std::optional<KernelError>>> Each(Family family, const std::vector<ipset::ElementCall>& calls);
  // GETSETELEM: whether the set holds the element (for hash:net, an address inside an entry).
  Result<bool> Test(Family family, const std::string& set, const ipset::Element& e);
  Result<ipset::SetHeader> Header(Family family, const std::string& set);
  // Header() with `elements` counted: nf_tables reports no element count (ipset's
  // IPSET_ATTR_ELEMENTS), so one GETSETELEM dump is read part by part and its entries counted.
  Result<ipset::SetHeader> HeaderWithSize(Family family, const std::string& set);
  // DELSET (`exist`: a missing set is no error) or a DELSETELEM naming no element (flush).
  Result<Unit> Destroy(Family family, const std::string& set, bool exist);
  Result<Unit> Flush(Family family, const std::string& set);
  Result<ipset::ListedSet> List(Family family, const std::string& set);
  // A streamed listing (this socket's only business until it ends, as a dump owns its socket):
  // StartList reads the header and starts the GETSETELEM dump; each ReadList reads whole dump
  // parts until at least `want` entries or the end (true), converted as they come (ElementReader).
  Result<Unit> StartList(Family family, const std::string& set);
  Result<bool> ReadList(size_t want, ipset::ListedSet& out);
  // The client sets of our table (not the connlimit rules' own sets).
  Result<std::vector<std::string>> Names(Family family);

 private:
  // One receive of a GETSETELEM dump, its elements converted into `entries`; true at its end.
  Result<bool> ReadDumpPart(uint32_t seq, const std::string& set, ElementReader& reader, std::vector<ipset::Element>& entries);
  explicit NftablesSetSocket(std::unique_ptr<Socket> s) : s_(std::move(s)) {}
  // Each()'s batch of calls[run...], answers in `out`.
  void EachBatch(Family family, const std::vector<ipset::ElementCall>& calls, std::vector<size_t> run,
                 std::vector<std::optional<KernelError>>& out);
  // One batch of `body`'s messages (back to back, each padded; numbered here). A refusal's
  // op_index is first_of[i] for the i-th message (none past first_of's end).
  Result<Unit> Commit(Message body, const std::string& set, ErrorKind kind, const std::vector<int>& first_of);
  // The set's type (ipset's name), from what this socket learned or one GETSET.
  Result<std::string> TypeOf(Family family, const std::string& set);

  std::unique_ptr<Socket> s_;
  std::map<std::pair<Family, std::string>, std::string> types_;
  // The listing in progress.
  uint32_t list_seq_ = 0;
  std::string list_set_;
  std::optional<ipset::SetHeader> list_header_;
  std::optional<ElementReader> list_reader_;
};

}  // namespace connlimit::core::nft
