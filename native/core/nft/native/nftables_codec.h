// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: the native nftables form of a connlimit rule (backend 'nftables'), in a table of our
// own: the rule as `iptables-translate` renders it, sent as `nft` 1.0.6 sends that text (the
// same libnftnl setters in the same order), with a dynamic set per connlimit rule keyed by
// the (masked) address: `add @set { ip saddr [and MASK] ct count [over] N }` (NOTES §4.4).
// IPv6 sets are `ipv6_addr` (ip6tables-translate 1.8.9 wrongly says ipv4_addr, NOTES §8).
// And the way back from a rule dump; expressions we don't model stay as raw bytes.
// No sockets here: tests feed it bytes captured from nft (test/fixtures/nftables/). Encoding is
// in nftables_encoder.cc, decoding in nftables_decoder.cc (shared layout: nftables_layout.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/nft/chain_codec.h"
#include "core/nft/native/nftables_sets.h"
#include "core/nft/rule_placement.h"
#include "core/result.h"
#include "core/rule_spec.h"

namespace connlimit::core::nft {

// The table of the native form in each family (ip / ip6).
inline constexpr const char* kNftablesTable = "connlimit";
// The set name we ask for: the kernel replaces %d with the lowest number free in the table
// (nf_tables_set_alloc_name), so sets read connlimit0, connlimit1, ... without a dump; the
// rule refers to its set by NFTA_DYNSET_SET_ID within the batch.
inline constexpr const char* kConnlimitSetPattern = "connlimit%d";

// NFT_MSG_NEWTABLE as `nft add table` sends it (creates it or leaves it as it is).
std::vector<uint8_t> EncodeNftablesTable(Family family, const std::string& table, uint32_t seq);
// NFT_MSG_DELTABLE as `nft delete table` sends it: the kernel removes the table with all it
// holds (rules, sets, chains) in the same batch.
std::vector<uint8_t> EncodeDelNftablesTable(Family family, const std::string& table, uint32_t seq);
// NFT_MSG_NEWCHAIN: one of our base chains (`type filter hook input priority filter; policy
// accept;`), as `nft add chain` sends it.
std::vector<uint8_t> EncodeNftablesBaseChain(Family family, const std::string& table, const BuiltinChain& chain, uint32_t seq);
// NFT_MSG_NEWSET: `{ type ipv4_addr|ipv6_addr; flags dynamic; }`, with NFTA_SET_ID `id`. No
// size, as iptables-translate writes it: the kernel then bounds the set at 65535 elements
// (`nft list` shows `size 65535`) and grows its hash table as elements come; an explicit
// `size 65535` makes it allocate the whole table up front, about 1.7 MB per set (measured,
// docs/nft.md). When the set is full, the dynset `add` fails and the rule does not match:
// new addresses go unlimited until idle ones are collected.
std::vector<uint8_t> EncodeConnlimitSet(Family family, const std::string& table, const std::string& name, uint32_t id,
                                        uint32_t seq);
std::vector<uint8_t> EncodeDelSet(Family family, const std::string& table, const std::string& name, uint32_t seq,
                                  Writing how = Writing::kDirect);

// The rule's connlimit match, if any (the native form allows one).
const ConnlimitMatch* ConnlimitOf(const RuleSpec& rule);

// NFT_MSG_NEWRULE. `set_name`/`set_id` name the rule's connlimit set (ignored without one).
// A rule with anonymous sets (multiport lists of two or more entries, several weekdays) comes
// after them (NEWSET + NEWSETELEM each, core/nft/native/nftables_anonymous_set.h), all in the one byte string with the
// same sequence number; the first set has id `anonymous_set_id`, the next ones follow.
// EINVAL (op "encode") for what the native form cannot say; src/rule/nftables-form.ts
// refuses those first, with the reason.
// The rule's expressions are written straight into the message when the rule holds nothing but
// what core/nft/expr_writer.h's Put* builders and the connlimit set say (interfaces, protocol,
// addresses, ports, TCP flags, connlimit, comment, DROP/REJECT: the usual rule, and every
// append's cost), otherwise through libnftnl objects, the reference: test 26 compares the two
// for every rule of its corpora that the direct path writes. `how` picks one for that test
// (kDirect: empty when the rule needs libnftnl).
enum class RuleWriting { kFast, kObjects, kDirect };
Result<std::vector<uint8_t>> EncodeNftablesRule(Family family, const std::string& table, const std::string& chain,
                                                const RuleSpec& rule, const std::string& set_name, uint32_t set_id,
                                                uint32_t anonymous_set_id, const RulePlacement& where, uint32_t seq,
                                                RuleWriting how = RuleWriting::kFast);

struct DecodedNftablesRule {
  std::string table, chain;
  uint64_t handle = 0;
  uint64_t packets = 0, bytes = 0;
  RuleSpec rule;
  std::string set_name;  // the dynset's set, empty without one
};

// One NFT_MSG_NEWRULE message of our table as a dump returns it (or as we built it).
Result<DecodedNftablesRule> DecodeNftablesRule(Family family, const uint8_t* msg, size_t len, const AnonymousSetElements& sets = {});

// The rule of EncodeNftablesRule's bytes (after any NEWSET + NEWSETELEM of its anonymous sets, whose
// elements its lookups read), or of a golden batch cut from nft's.
Result<DecodedNftablesRule> DecodeNftablesRuleBatch(Family family, const uint8_t* bytes, size_t len);

}  // namespace connlimit::core::nft
