// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: client sets on the native nftables form, as nf_tables named sets in our table
// (`connlimit`, family ip or ip6), written as nft 1.0.6 writes what `ipset-translate` prints
// for the same ipset command (docs/sets.md, "The native nftables form"):
//   hash:ip       `type ipv4_addr` / `ipv6_addr`
//   hash:net      the same with `flags interval`; an entry a/len is a start element and an end
//                 element (NFT_SET_ELEM_INTERVAL_END) at the first address after it, as nft sends it
//   hash:ip,port  `type ipv4_addr . inet_proto . inet_service`: each field padded to 4 bytes
//   hash:net,port the same with `flags interval` (nft adds the concat flag and the fields'
//                 lengths); an entry a/len,proto:port is one element, key and last key
//   hash:ip,port,ip  `type ipv4_addr . inet_proto . inet_service . ipv4_addr`
//   hash:net,iface   `type ipv4_addr . ifname` with `flags interval` (ifname 16 bytes, NUL-padded),
//                 one element per entry as hash:net,port; ipset's wildcard is nft's "eth*" (the
//                 key end's name padded with 0xff); ipset's physdev: has no nf_tables meaning
//                 here and is refused before this (src/sets/validate.ts)
//   timeout T     `flags timeout` and `timeout Ts` (T 0: `flags timeout` alone)
//   maxelem N     `size N`;  counters: `counter` (a set expression the kernel gives each element)
//   comment       nothing: every nf_tables element may carry one (its userdata)
// The model is ipset's (core/ipset/ipset_types.h), so the JS side converts once for both.
// No sockets here: test 59 compares these bytes with nft's (test/fixtures/nftables-sets/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/ipset/ipset_types.h"
#include "core/nft/message.h"
#include "core/result.h"
#include "core/rule_spec.h"

namespace connlimit::core::nft {

// NFT_MSG_NEWSET in `table` (NLM_F_EXCL unless spec.exist), as `nft add set` sends it.
Message EncodeNamedSet(Family family, const std::string& table, const ipset::CreateSpec& spec, uint32_t seq);
// NFT_MSG_DELSET (`nft delete set`), and DELSETELEM naming no element (`nft flush set`).
Message EncodeDestroySet(Family family, const std::string& table, const std::string& set, uint32_t seq);
Message EncodeFlushSet(Family family, const std::string& table, const std::string& set, uint32_t seq);

enum class ElemCmd { kAdd, kDelete, kGet };

// NEWSETELEM (NLM_F_EXCL unless `exist`: `nft create element` / `nft add element`),
// DELSETELEM (`nft delete element`) or GETSETELEM (`nft get element`) for `elements` of a set
// of `type` (interval types get their end elements). `first`..`first+count` of `elements`.
Message EncodeSetElements(ElemCmd cmd, Family family, const std::string& table, const std::string& set,
                          const std::string& type, const std::vector<ipset::Element>& elements, size_t first, size_t count,
                          bool exist, uint32_t seq);
// One add or delete (kAdd, kDelete) of `e` as EncodeSetElements writes it, appended to `body`
// (messages back to back, each padded). An IPv4 address without a comment into a hash:ip set,
// the usual add in flight, is written straight into `body`: no libnftnl set or element, no
// message of its own copied in. The same bytes either way (test 59).
void AppendSetElement(Message& body, ElemCmd cmd, Family family, const std::string& table, const std::string& set,
                      const std::string& type, const ipset::Element& e, bool exist, uint32_t seq);
// Elements per message of a batch: at most a 24-byte key, its end element, a timeout and a
// 255-byte comment each, so a message stays far inside the kernel's 64 KiB attribute limit.
constexpr size_t kElementsPerMessage = 128;

// A NEWSET message of a dump (GETSET): the header in ipset's terms (type from the key type and
// flags; revision, hashsize, memsize 0: nf_tables has none of them), nullopt for a set that is
// not one of ours to show (a connlimit rule's own set, or a type we do not model).
Result<std::optional<ipset::SetHeader>> DecodeNamedSet(Family family, const uint8_t* msg, size_t len);
// The elements of a GETSETELEM dump message, appended to `out` as raw keys with their flags.
struct RawElement {
  std::vector<uint8_t> key;
  std::optional<std::vector<uint8_t>> key_end;  // a concatenated interval's last key
  bool interval_end = false;
  std::optional<uint64_t> timeout_ms, expiration_ms;
  std::optional<uint64_t> packets, bytes;
  std::optional<std::string> comment;
};
Result<Unit> DecodeSetElements(const uint8_t* msg, size_t len, std::vector<RawElement>& out);
// The elements of the anonymous set a rule's lookup names: by its name in a dump (`__set0`), by
// its set id in a batch (named `__set%d` there); nullptr when unknown (the lookup stays opaque).
using AnonymousSetElements = std::function<const std::vector<RawElement>*(const std::string& set, uint32_t id)>;

// Raw elements of a set of `header`'s type as ipset entries, fed in the order a GETSETELEM dump
// gives them, so a streamed listing converts batch by batch: an interval set (hash:net, the
// kernel's rbtree) dumps keys in descending order, each interval's end element just before its
// start (a start with no end before it reaches the top of the address space); a concatenated
// interval (hash:net,port) carries its last key in the element. Remaining timeouts in seconds.
class ElementReader {
 public:
  explicit ElementReader(ipset::SetHeader header);
  // Appends the entry `r` completes, if any, to `out`.
  void Feed(const RawElement& r, std::vector<ipset::Element>& out);

 private:
  ipset::SetHeader header_;
  Family family_;
  uint8_t shape_;
  std::optional<std::vector<uint8_t>> pending_end_;  // the last end element, until its start
};
// A whole dump's raw elements, in any order, as ipset entries (sorted into the dump's order).
std::vector<ipset::Element> ElementsOf(const ipset::SetHeader& header, std::vector<RawElement> raw);

}  // namespace connlimit::core::nft
