// SPDX-License-Identifier: GPL-2.0-or-later
// The xt codecs as the two framings use them: legacy/entry_codec (the data after each
// xt_entry_match / xt_entry_target header of an ipt_entry or ip6t_entry) and nft/rule_codec
// (NFTA_MATCH_INFO / NFTA_TARGET_INFO of iptables-nft's match and target compat expressions).
// Modules are found through the registry; what none models stays an OpaqueExtension. Pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/result.h"
#include "core/rule_spec.h"
#include "core/xt/codec.h"

namespace connlimit::core::xt {

Result<XtBlob> EncodeMatch(Family family, const Match& match);
// kReject and kOpaque targets only; the standard targets are xt/standard.h's, and nf_tables
// says them with an immediate verdict instead.
Result<XtBlob> EncodeTarget(Family family, const Target& target);

Match DecodeMatch(Family family, const std::string& name, uint8_t revision, const uint8_t* data, size_t len);
// REJECT with a known --reject-with becomes kReject; anything else kOpaque.
Target DecodeTarget(Family family, const std::string& name, uint8_t revision, const uint8_t* data, size_t len);

}  // namespace connlimit::core::xt
