// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: RuleSpec <-> one ipt_entry / ip6t_entry blob, laid out exactly as iptables-legacy
// 1.8.9 builds it (NETFILTER-NOTES.md §2.1-2.2): the IP header part and the framing of its
// matches and target, whose data the xt modules (core/xt/) write and read. No I/O, no libiptc
// calls. Rule equality is core/xt/same_rule.h.
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

// EncodeEntry for rule after rule (a commit's appends), into one buffer it reuses. A match or
// target equal to the one at the same place in the previous rule is copied from the bytes
// written for it then: the rules of a bulk batch mostly differ in a port or an address, so
// their connlimit match and their target are encoded once, not once per rule.
class EntryEncoder {
 public:
  explicit EntryEncoder(Family family) : family_(family) {}
  // The entry, exactly EncodeEntry's bytes; valid until the next call.
  Result<const std::vector<uint8_t>*> Encode(const RuleSpec& rule);

 private:
  // The last match or target written at one place, and its bytes with their header (empty: none).
  template <typename Value>
  struct Framed {
    Value value;
    std::vector<uint8_t> bytes;
  };
  template <typename Value>
  Result<Unit> AppendFramed(Framed<Value>& last, const Value& value);
  template <typename Entry>
  Result<Unit> Write(const RuleSpec& rule);

  Family family_;
  std::vector<uint8_t> entry_;
  std::vector<Framed<Match>> last_matches_;
  Framed<Target> last_target_;
};

// Decode one entry of `size` bytes.
// `label` is what iptc_get_target() says of the entry: for a standard target whose name in the
// blob is empty (as every rule read back from the kernel has) it tells the verdict or the
// jump's chain. Without a libiptc handle (nullopt) the verdict number is read instead.
// `is_chain` decides, for a blob built before libiptc mapped it, whether a non-empty
// standard-sized target name is a user chain. Unknown matches and targets become
// OpaqueExtension, byte for byte.
Result<RuleSpec> DecodeEntry(Family family, const uint8_t* entry, size_t size, const std::optional<std::string>& label,
                             const std::function<bool(const std::string&)>& is_chain);

}  // namespace connlimit::core::legacy
