// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: NEWRULE messages of a bulk load without building each one with libnftnl. The rules of
// a bulk load mostly differ in one value only (10,000 `--dport N` rules; a ban list of `-s A`),
// and libnftnl's object model (an allocation per expression and attribute, then the payload
// walk) cost about 2 µs a rule, a fifth of what a 10k-rule commit spends outside the kernel.
// So per thread the last few shapes (a rule with its addresses and exact ports left out, with
// its table, chain and placement) keep the message libnftnl built for them and where each of
// those values sits in it; a rule of a known shape is that message with its own values
// written in. A shape's places are found by encoding it with two probe values that differ in
// every byte, and it is used only if the bytes that differ are exactly those places and the
// rule that made it, written in, gives the bytes libnftnl gives for it. A shape that fails
// that is encoded by libnftnl every time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/nft/rule_placement.h"
#include "core/result.h"
#include "core/rule_spec.h"

namespace connlimit::core::nft {

// libnftnl's encoding of one NEWRULE (rule_codec.cc).
using RuleEncoder = Result<std::vector<uint8_t>> (*)(Family family, const std::string& table, const std::string& chain,
                                                     const RuleSpec& rule, const RulePlacement& where, uint32_t seq);

// The bytes `encode` gives for the rule, from a shape this thread already knows when it can.
Result<std::vector<uint8_t>> EncodeByShape(Family family, const std::string& table, const std::string& chain, const RuleSpec& rule,
                                           const RulePlacement& where, uint32_t seq, RuleEncoder encode);

// What this thread's shapes did: rules written from one, shapes learned, and of those the ones
// found unusable (tests show by it that the shapes are used).
struct ShapeCounts {
  uint64_t written = 0, learned = 0, unusable = 0;
};
ShapeCounts ThreadShapeCounts();

}  // namespace connlimit::core::nft
