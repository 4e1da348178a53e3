// SPDX-License-Identifier: GPL-2.0-or-later
// The ipset model shared by the encoder, the decoder and the socket: what a set is created
// with, one element, and a listed set. Plain structs; the wire constants are the kernel's
// (<linux/netfilter/ipset/ip_set.h>), as ipset 7.17 sends them (NETFILTER-NOTES.md §11).
#pragma once

#include <linux/netfilter/ipset/ip_set.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace connlimit::core::ipset {

// NFPROTO_IPV4 / NFPROTO_IPV6 (<linux/netfilter.h>), the values IPSET_ATTR_FAMILY takes. Not
// included: <linux/in.h> after it would clash with glibc's <netinet/in.h> in our includers.
constexpr uint8_t kNfprotoIpv4 = 2;
constexpr uint8_t kNfprotoIpv6 = 10;

// The set types the library makes, with the revision ipset 7.17 sends for each on 6.x
// kernels; a set made with another revision lists differently (`ipset list` shows it).
struct SetType {
  const char* name;
  uint8_t revision;
  bool has_port;  // elements carry PORT and PROTO
};

// IFNAMSIZ less the NUL: hash:net,iface's interface names.
constexpr size_t kMaxIfaceLen = 15;

// nullptr for a type the library does not make.
const SetType* FindSetType(const std::string& name);

struct CreateSpec {
  std::string name;
  std::string type;
  uint8_t family = kNfprotoIpv4;  // or kNfprotoIpv6
  std::optional<uint32_t> timeout;  // seconds: the set has timeout support, this the default
  std::optional<uint32_t> hashsize;
  std::optional<uint32_t> maxelem;
  bool counters = false;
  bool comment = false;
  bool exist = false;  // NLM_F_EXCL cleared: an equal set already there is no error
};

struct Element {
  uint8_t family = kNfprotoIpv4;
  std::array<uint8_t, 16> addr{};  // network order; the first 4 bytes for IPv4
  std::optional<uint8_t> cidr;
  std::optional<uint16_t> port;  // with proto, on the port types
  uint8_t proto = 0;
  std::optional<std::array<uint8_t, 16>> addr2;  // hash:ip,port,ip's second address (IP2)
  std::optional<std::string> iface;              // hash:net,iface (IFACE)
  bool physdev = false;                          // the iface is a bridge port (IPSET_FLAG_PHYSDEV)
  bool wildcard = false;                         // the iface is a name prefix (IPSET_FLAG_IFACE_WILDCARD)
  bool nomatch = false;                          // matching addresses are not in the set (IPSET_FLAG_NOMATCH)
  std::optional<uint32_t> timeout;
  std::optional<std::string> comment;
  // Listed only.
  std::optional<uint64_t> packets;
  std::optional<uint64_t> bytes;
};

// Which command an element message is.
enum class Adt : uint8_t { kAdd = IPSET_CMD_ADD, kDel = IPSET_CMD_DEL, kTest = IPSET_CMD_TEST };

// One add, del or test call of its own, sent beside others (IpsetSocket::Each).
struct ElementCall {
  Adt cmd = Adt::kAdd;
  std::string set;
  Element element;
  bool exist = false;
};

// The elements of one addMany or deleteMany as the socket encodes them. An IPv4 address with
// at most a timeout and nomatch (what a big batch is made of) stays its four bytes and flags and
// is written straight into its message: an Element per entry was 100k constructions on the JS
// thread and libmnl's calls per attribute on the handle's, most of a 100k addMany over the
// kernel's inserts (docs/sets.md). Any other element is a whole Element in `full`.
struct BatchEntry {
  static constexpr uint8_t kTimeout = 1, kNomatch = 2, kFull = 4;
  uint8_t flags = 0;
  std::array<uint8_t, 4> addr{};  // network order (without kFull)
  uint32_t timeout = 0;           // seconds (with kTimeout)
  uint32_t full = 0;              // index into ElementBatch::full (with kFull)
};

struct ElementBatch {
  std::vector<BatchEntry> entries;
  std::vector<Element> full;
  // Entry i as an Element, whichever way it is kept.
  Element At(size_t i) const;
};

struct SetHeader {
  std::string name;
  std::string type;
  uint8_t family = 0;
  uint8_t revision = 0;
  uint32_t hashsize = 0;
  uint32_t maxelem = 0;
  uint32_t bucketsize = 0;  // 0 when the kernel sent none
  std::optional<uint32_t> timeout;  // the set's default timeout when it has timeout support
  uint32_t cadt_flags = 0;          // IPSET_FLAG_WITH_COUNTERS, _WITH_COMMENT, ...
  uint32_t references = 0;
  uint32_t memsize = 0;
  uint32_t elements = 0;
};

struct ListedSet {
  SetHeader header;
  std::vector<Element> entries;
};

// Longest set name the kernel takes, without the NUL (IPSET_MAXNAMELEN includes it).
constexpr size_t kMaxNameLen = IPSET_MAXNAMELEN - 1;

}  // namespace connlimit::core::ipset
