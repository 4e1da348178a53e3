// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: RuleSpec <-> one ipt_entry / ip6t_entry blob, laid out exactly as iptables-legacy
// 1.8.9 builds it (NETFILTER-NOTES.md §2.1-2.2), and the semantic comparison that delete,
// check and ensure use. No I/O, no libiptc calls.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/rule_spec.h"

namespace connlimit::core::legacy {

// Build the entry (ipt_entry or ip6t_entry, its matches and its target) for `rule`.
// Standard targets and jumps carry their label in the target name, as libiptc expects before
// it maps them (iptcc_map_target). Counters and comefrom are zero.
Result<std::vector<uint8_t>> EncodeEntry(Family family, const RuleSpec& rule);

// Decode one entry of `size` bytes.
// `label` is what iptc_get_target() says of the entry: for a standard target whose name in the
// blob is empty (as every rule read back from the kernel has) it tells the verdict or the
// jump's chain. Without a libiptc handle (nullopt) the verdict number is read instead.
// `is_chain` decides, for a blob built before libiptc mapped it, whether a non-empty
// standard-sized target name is a user chain. Unknown matches and targets become
// OpaqueExtension, byte for byte.
Result<RuleSpec> DecodeEntry(Family family, const uint8_t* entry, size_t size, const std::optional<std::string>& label,
                             const std::function<bool(const std::string&)>& is_chain);

// Equal in meaning, as the kernel would match them. Differs from libiptc's is_same() where
// the CLI's own comparison is too strict: an IPv4 connlimit with no --connlimit-mask equals one
// with --connlimit-mask 32 (NETFILTER-NOTES.md §1.4), and match order does not matter.
bool SameRule(Family family, const RuleSpec& a, const RuleSpec& b);

// One xt extension's name, revision and data (after the 32-byte header, padded as the header's
// size says). The nf_tables backend sends these as NFTA_MATCH_INFO / NFTA_TARGET_INFO of its
// `match` and `target` compat expressions, exactly as iptables-nft takes them from the same
// xt_entry_match (iptables/nft.c __add_match: data length = match_size - header).
struct XtBlob {
  std::string name;
  uint8_t revision = 0;
  std::vector<uint8_t> data;
};
Result<XtBlob> EncodeMatchBlob(Family family, const Match& match);
// kReject and kOpaque targets only; standard targets have no blob in nf_tables.
Result<XtBlob> EncodeTargetBlob(Family family, const Target& target);
Match DecodeMatchBlob(Family family, const std::string& name, uint8_t revision, const uint8_t* data, size_t len);
// REJECT with a known --reject-with becomes kReject; anything else kOpaque.
Target DecodeTargetBlob(Family family, const std::string& name, uint8_t revision, const uint8_t* data, size_t len);

}  // namespace connlimit::core::legacy
