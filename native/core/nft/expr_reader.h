// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: the attributes of one NFT_MSG_NEWRULE message read back (libmnl), shared by the
// decoders of both nf_tables forms (rule_codec: iptables-nft's; nftables_codec: nft's own),
// so an expression neither models keeps its raw bytes.
#pragma once

#include <libmnl/libmnl.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/rule_spec.h"

namespace connlimit::core::nft {

// An nf_tables expression we don't model, kept as an OpaqueExtension match whose name is
// this prefix + the expression name and whose data is the raw NFTA_EXPR_DATA payload.
// Such rules list and delete (by handle) but are never re-encoded.
inline constexpr const char* kOpaqueExprPrefix = "nft:";

constexpr int kMaxAttr = 32;
using Attrs = std::array<const struct nlattr*, kMaxAttr>;

// The attributes nested in `nest`, by type (later duplicates win; types >= kMaxAttr skipped).
Attrs ParseNested(const struct nlattr* nest);
uint32_t Be32(const struct nlattr* a);  // 0 when absent or short
uint64_t Be64(const struct nlattr* a);
std::string Str(const struct nlattr* a);
// NFTA_DATA_VALUE inside a data attribute (cmp/bitwise/range/immediate).
std::vector<uint8_t> Value(const struct nlattr* a);

struct Expr {
  std::string name;
  Attrs a{};
  const struct nlattr* data = nullptr;
};

OpaqueExtension OpaqueExpr(const Expr& e);

// The parts of a NEWRULE message the decoders read; the pointers point into `msg`.
struct RuleMessage {
  std::string table, chain;
  uint64_t handle = 0;
  std::vector<Expr> exprs;
  const struct nlattr* userdata = nullptr;  // NFTA_RULE_USERDATA
};
Result<RuleMessage> ReadRuleMessage(const uint8_t* msg, size_t len);

}  // namespace connlimit::core::nft
