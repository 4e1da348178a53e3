// SPDX-License-Identifier: GPL-2.0-or-later
// The normalized rule: the C++ mirror of NativeRule in src/native-types.ts. Plain, copyable,
// no kernel structs. Each match and target module in xt/ turns its part into xt data and back;
// legacy/entry_codec frames that as ipt_entry/ip6t_entry bytes, nft/rule_codec as nf_tables expressions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace connlimit::core {

enum class Family { kIpv4, kIpv6 };

inline int AddressBytes(Family f) { return f == Family::kIpv4 ? 4 : 16; }

struct Address {
  uint8_t addr[16] = {};  // IPv4 uses the first 4 bytes
  uint8_t mask[16] = {};
  bool invert = false;
};

struct Interface {
  std::string name;  // without the trailing '+'
  bool wildcard = false;
  bool invert = false;
};

struct PortRange {
  uint16_t lo = 0;
  uint16_t hi = 0xFFFF;
};

struct TcpMatch {
  PortRange sport, dport;
  uint8_t option = 0;
  uint8_t flag_mask = 0;
  uint8_t flag_compare = 0;
  bool inv_sport = false, inv_dport = false, inv_flags = false, inv_option = false;
};

struct UdpMatch {
  PortRange sport, dport;
  bool inv_sport = false, inv_dport = false;
};

struct ConnlimitMatch {
  uint32_t limit = 0;
  bool invert = false;  // XT_CONNLIMIT_INVERT: --connlimit-upto
  bool daddr = false;   // XT_CONNLIMIT_DADDR
  int mask_bits = -1;   // -1: no --connlimit-mask given (all 16 mask bytes 0xFF, as the CLI writes)
};

struct CommentMatch {
  std::string comment;
};

// A match or target we don't model: its name, revision and the data after the 32-byte header.
struct OpaqueExtension {
  std::string name;
  uint8_t revision = 0;
  std::vector<uint8_t> data;
  // The named sets a `set` match refers to: on the native nftables form the rule's lookup
  // names them (core/nft/native/nftables_set_match.h); ipset's blobs hold indexes instead.
  std::vector<std::string> sets;
};

using Match = std::variant<TcpMatch, UdpMatch, ConnlimitMatch, CommentMatch, OpaqueExtension>;

struct Target {
  enum class Kind { kNone, kVerdict, kJump, kGoto, kReject, kOpaque };
  Kind kind = Kind::kNone;
  std::string name;          // verdict ("ACCEPT", "DROP", "RETURN", "QUEUE"), chain, or reject type name
  OpaqueExtension opaque;    // kOpaque only
};

// Field-for-field equality of a match or target: equal values encode to the same bytes, so an
// encoder may reuse what it wrote for one (legacy/entry_codec's EntryEncoder). Equal in meaning,
// as the kernel matches, is another question: xt/same_rule.h.
inline bool operator==(const PortRange& a, const PortRange& b) { return a.lo == b.lo && a.hi == b.hi; }
inline bool operator==(const TcpMatch& a, const TcpMatch& b) {
  return a.sport == b.sport && a.dport == b.dport && a.option == b.option && a.flag_mask == b.flag_mask &&
         a.flag_compare == b.flag_compare && a.inv_sport == b.inv_sport && a.inv_dport == b.inv_dport &&
         a.inv_flags == b.inv_flags && a.inv_option == b.inv_option;
}
inline bool operator==(const UdpMatch& a, const UdpMatch& b) {
  return a.sport == b.sport && a.dport == b.dport && a.inv_sport == b.inv_sport && a.inv_dport == b.inv_dport;
}
inline bool operator==(const ConnlimitMatch& a, const ConnlimitMatch& b) {
  return a.limit == b.limit && a.invert == b.invert && a.daddr == b.daddr && a.mask_bits == b.mask_bits;
}
inline bool operator==(const CommentMatch& a, const CommentMatch& b) { return a.comment == b.comment; }
inline bool operator==(const OpaqueExtension& a, const OpaqueExtension& b) {
  return a.name == b.name && a.revision == b.revision && a.data == b.data && a.sets == b.sets;
}
inline bool operator==(const Target& a, const Target& b) { return a.kind == b.kind && a.name == b.name && a.opaque == b.opaque; }

struct RuleSpec {
  uint16_t protocol = 0;
  bool inv_protocol = false;
  std::optional<Address> src, dst;
  std::optional<Interface> in_interface, out_interface;
  std::optional<bool> fragment;  // IPv4 only
  std::vector<Match> matches;
  Target target;
};

}  // namespace connlimit::core
