// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: RuleSpec <-> one NFT_MSG_NEWRULE netlink message, with the expressions iptables-nft
// 1.8.9 emits for the same rule (NETFILTER-NOTES.md §4.1), built with the same libnftnl
// setters so the bytes are the CLI's own; and the way back from a rule dump, which reads the
// attributes itself (libmnl) so that expressions we don't model stay as raw bytes.
// No sockets here: tests feed it bytes captured from iptables-nft (test/fixtures/nft/).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/nft/expr_reader.h"
#include "core/nft/rule_placement.h"
#include "core/result.h"
#include "core/rule_spec.h"

namespace connlimit::core::nft {

// The whole NEWRULE message (nlmsghdr + nfgenmsg + attributes) with sequence number `seq`.
Result<std::vector<uint8_t>> EncodeRuleMessage(Family family, const std::string& table, const std::string& chain,
                                               const RuleSpec& rule, const RulePlacement& where, uint32_t seq);

struct DecodedRule {
  std::string table, chain;
  uint64_t handle = 0;
  uint64_t packets = 0, bytes = 0;  // from the rule's counter expression (0 without one)
  RuleSpec rule;
};

// One NFT_MSG_NEWRULE message as a dump returns it (or as we built it).
Result<DecodedRule> DecodeRuleMessage(Family family, const uint8_t* msg, size_t len);

}  // namespace connlimit::core::nft
