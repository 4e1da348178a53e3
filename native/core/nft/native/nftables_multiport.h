// SPDX-License-Identifier: GPL-2.0-or-later
// Pure, internal to the native nftables form: `-m multiport --sports|--dports LIST` (with `!`)
// as iptables-translate 1.8.9 renders it and nft 1.0.6 sends it. A list of two or more is an
// anonymous set: `tcp dport { 22, 80-89 }` is NEWSET `__set%d` (flags anonymous|constant, and
// interval when a range is in it; key inet_service) and NEWSETELEM (an interval set as start
// elements and end elements, NFT_SET_ELEM_INTERVAL_END, at the port after each range, and at 0
// when the set does not start there) before the rule, whose payload load of the port is
// followed by a `lookup` of the set by NFTA_SET_ID (NFT_LOOKUP_F_INV for `!=`). The kernel binds
// the set to the rule and deletes it with the rule. One port or range is nft's comparison,
// `tcp dport 80-88` (the same expressions as `--dport 80:88`). The list is written sorted,
// with overlapping and adjacent ranges merged, as nft merges them; it reads back so.
// `--ports` (either port) is refused: nft has no "sport or dport in set" in one lookup, and the
// concatenation iptables-translate 1.8.9 writes for it drops `!` and splits ranges.
// The rule language carries the match as libxt_multiport's revision-1 blob
// (src/rule/modules/multiport.ts).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/nft/message.h"
#include "core/nft/native/nftables_anonymous_set.h"
#include "core/result.h"
#include "core/rule_spec.h"

namespace connlimit::core::nft::nftables {

struct PortList {
  bool source = false;            // --sports (else --dports)
  std::vector<PortRange> ranges;  // ascending, disjoint, not adjacent
  bool invert = false;
};

// The protocols libxt_multiport takes (check_proto): tcp, udp, udplite, sctp, dccp.
bool MultiportProtocol(uint16_t protocol);

// What a `multiport` match says on the native form: nullopt for another module; EncodeError for
// `--ports` or a blob libxt_multiport would not write.
std::optional<Result<PortList>> PortListOf(const OpaqueExtension& x);

// The `multiport` match a port list reads back as; nullopt when it does not fit the struct's 15
// slots (a range takes two).
std::optional<OpaqueExtension> MultiportOf(const PortList& list);

// NEWSET + NEWSETELEM of the list's anonymous set in `table`, as nft sends them: set id `id`,
// the key's `typeof` (the rule's protocol, its sport or dport) in the set's userdata.
Message EncodePortSet(Family family, const std::string& table, const PortList& list, uint8_t protocol, uint32_t id, uint32_t seq);

// An anonymous set's elements as port ranges (ascending), from its start and end elements;
// nullopt for keys that are no port, or an interval set that does not read as nft writes one.
std::optional<std::vector<PortRange>> PortRangesOf(const std::vector<RawElement>& elements);

}  // namespace connlimit::core::nft::nftables
