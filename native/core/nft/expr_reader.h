// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: the attributes of one NFT_MSG_NEWRULE message read back (libmnl), shared by the
// decoders of both nf_tables forms (rule_codec: iptables-nft's; nftables_codec: nft's own),
// so an expression neither models keeps its raw bytes.
#pragma once

#include <libmnl/libmnl.h>

#include <array>
#include <cstdint>
#include <optional>
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

// The base of both decoders' rule readers. Run() walks the rule's expressions in order:
// Step(i) takes the ones it understands from i on and says how many (0: none); one that no
// step takes is kept as an opaque match, in its place.
class ExprWalker {
 public:
  virtual ~ExprWalker() = default;
  void Run(RuleSpec* rule) {
    for (size_t i = 0; i < ex_.size();) {
      size_t used = Step(i);
      if (used == 0) {
        rule->matches.push_back(OpaqueExpr(ex_[i]));
        used = 1;
      }
      i += used;
    }
  }

 protected:
  explicit ExprWalker(const std::vector<Expr>& ex) : ex_(ex) {}
  virtual size_t Step(size_t i) = 0;
  const Expr* At(size_t i) const { return i < ex_.size() ? &ex_[i] : nullptr; }
  static bool Is(const Expr* e, const char* name) { return e && e->name == name; }

  const std::vector<Expr>& ex_;
};

// The tcp or udp match that a rule's transport expressions fill, made at the first of them
// (where both tools' parsers make it, so the match order round-trips); `*index` remembers it
// (-1 until made). nullptr when the match made is of the other kind.
template <typename M>
M* L4Match(RuleSpec* rule, int* index) {
  if (*index < 0) {
    rule->matches.push_back(M{});
    *index = static_cast<int>(rule->matches.size()) - 1;
  }
  return std::get_if<M>(&rule->matches[*index]);
}

// A cmp with NFT_CMP_EQ or NFT_CMP_NEQ (`*invert`) and the data it compares with; false for
// any other expression or operation, or none.
bool CmpEqNeq(const Expr* k, bool* invert, std::vector<uint8_t>* data);

// `meta KEY` loaded into a register ([ meta load KEY => reg N ]).
bool IsMetaLoad(const Expr& e, uint32_t key);

// A 4-byte register value in host order (meta mark, meta length), or false.
bool HostU32(const std::vector<uint8_t>& v, uint32_t* out);

// Two bytes of `d` from `at`, in network order.
inline uint16_t Be16(const std::vector<uint8_t>& d, size_t at = 0) { return static_cast<uint16_t>(d[at] << 8 | d[at + 1]); }

// A payload load into a register and the mask a bitwise right after it applies (empty: none).
struct PayloadLoad {
  uint32_t base = 0, offset = 0, len = 0;
  std::vector<uint8_t> mask;
  size_t next = 0;  // the expression after the load and its mask
};
// The load at ex[i]; nullopt when ex[i] is not one, or its bitwise is more than a mask (an
// operation other than NFT_BITWISE_BOOL, a non-zero xor, a mask of another length).
std::optional<PayloadLoad> ReadPayloadLoad(const std::vector<Expr>& ex, size_t i);

// The address a cmp compares a load with: `data`, under `mask` (empty: the load was shortened
// to the prefix, all of `data`).
Address ComparedAddress(const std::vector<uint8_t>& data, const std::vector<uint8_t>& mask, bool invert);

// The verdict an immediate puts in the verdict register (ACCEPT, DROP, RETURN, a jump or goto);
// nullopt for any other expression or verdict code.
std::optional<Target> ReadVerdict(const Expr& e);

}  // namespace connlimit::core::nft
