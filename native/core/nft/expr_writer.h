// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: the expression builders both nf_tables encoders share (rule_codec: iptables-nft's form;
// nftables_encoder: nft's own), for the expressions the two tools build alike, and the layout
// both read and write. libnftnl puts an expression's attributes in its own fixed order
// (src/expr/*.c, *_build), whatever order they were set in, so one builder gives both tools' bytes.
#pragma once

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/nft/rule_placement.h"
#include "core/result.h"
#include "core/rule_spec.h"

struct nftnl_expr;
struct nftnl_rule;

namespace connlimit::core::nft {

// iptables-nft 1.8.9 and nft 1.0.6 both load everything into the first 32-bit register.
inline constexpr uint32_t kReg = NFT_REG_1;
// Payload offsets in struct iphdr / struct ip6_hdr / struct tcphdr.
inline constexpr uint32_t kIpv4Saddr = 12, kIpv4Daddr = 16;
inline constexpr uint32_t kIpv6Saddr = 8, kIpv6Daddr = 24;
inline constexpr uint32_t kTcpFlagsOffset = 13;
inline uint32_t SaddrOffset(Family family) { return family == Family::kIpv4 ? kIpv4Saddr : kIpv6Saddr; }
inline uint32_t DaddrOffset(Family family) { return family == Family::kIpv4 ? kIpv4Daddr : kIpv6Daddr; }

// EINVAL, op "encode": what the form cannot say.
KernelError EncodeError(const std::string& what);

using RulePtr = std::unique_ptr<struct nftnl_rule, void (*)(const struct nftnl_rule*)>;
// A rule with its family, table, chain and placement set; its expressions follow. Empty when
// libnftnl cannot allocate.
RulePtr NewRule(Family family, const std::string& table, const std::string& chain, const RulePlacement& where);

// Appends an expression of kind `name` to the rule (which owns it) for the caller to fill.
struct nftnl_expr* AddExpr(struct nftnl_rule* r, const char* name);
// meta `key` into kReg.
void AddMeta(struct nftnl_rule* r, uint32_t key);
// payload (`base`, `offset`, `len`) into kReg.
void AddPayload(struct nftnl_rule* r, uint32_t base, uint32_t offset, uint32_t len);
// kReg &= `mask` (xor 0). `with_op` sets NFTA_BITWISE_OP (NFT_BITWISE_BOOL): nft sets it for a
// binary `&` (netlink_gen_bitwise) but not for the mask of an address prefix
// (netlink_gen_prefix), and iptables-nft never does; the bytes differ, so callers say which.
void AddBitwise(struct nftnl_rule* r, const void* mask, uint32_t len, bool with_op);
// cmp kReg `op` `data`.
void AddCmp(struct nftnl_rule* r, uint32_t op, const void* data, uint32_t len);
// range kReg `op` [from, to], both in network order.
void AddRange(struct nftnl_rule* r, uint32_t op, uint16_t from_be, uint16_t to_be);
// immediate verdict (NF_ACCEPT, NF_DROP, NFT_RETURN, or NFT_JUMP/NFT_GOTO to `chain`).
void AddVerdict(struct nftnl_rule* r, int verdict, const std::string* chain);

inline uint32_t CmpOp(bool invert) { return invert ? NFT_CMP_NEQ : NFT_CMP_EQ; }

// The same expressions written straight into a rule message, inside its NFTA_RULE_EXPRESSIONS
// nest: an NFTA_LIST_ELEM each, attribute by attribute in the order libnftnl builds them
// (nftnl_expr_build_payload and src/expr/*.c), so the bytes are libnftnl's without its objects
// (an allocation per expression and per data value, then the walk that writes them). Overloads
// of the builders above, so a writer of either kind calls them alike.
void AddMeta(struct nlmsghdr* nlh, uint32_t key);
void AddPayload(struct nlmsghdr* nlh, uint32_t base, uint32_t offset, uint32_t len);
void AddBitwise(struct nlmsghdr* nlh, const void* mask, uint32_t len, bool with_op);
void AddCmp(struct nlmsghdr* nlh, uint32_t op, const void* data, uint32_t len);
void AddRange(struct nlmsghdr* nlh, uint32_t op, uint16_t from_be, uint16_t to_be);
void AddVerdict(struct nlmsghdr* nlh, int verdict, const std::string* chain);
// counter, with neither packets nor bytes set.
void AddCounter(struct nftnl_rule* r);
void AddCounter(struct nlmsghdr* nlh);
// An expression of kind `name` whose NFTA_EXPR_DATA attributes `data()` puts; `elem` wraps it
// in its NFTA_LIST_ELEM (an expression inside another, as dynset's, has none).
template <typename Data>
void PutExpr(struct nlmsghdr* nlh, const char* name, Data data, bool elem = true);
// The rule message's attributes before its expressions (table, chain, handle, position),
// then the NFTA_RULE_EXPRESSIONS nest opened; PutRuleEnd closes it and puts what libnftnl
// puts after it (id, position id).
struct nlattr* PutRuleStart(struct nlmsghdr* nlh, const std::string& table, const std::string& chain, const RulePlacement& where);
void PutRuleEnd(struct nlmsghdr* nlh, struct nlattr* exprs, const RulePlacement& where);

template <typename Data>
void PutExpr(struct nlmsghdr* nlh, const char* name, Data data, bool elem) {
  struct nlattr* list = elem ? mnl_attr_nest_start(nlh, NFTA_LIST_ELEM) : nullptr;
  mnl_attr_put_strz(nlh, NFTA_EXPR_NAME, name);
  struct nlattr* body = mnl_attr_nest_start(nlh, NFTA_EXPR_DATA);
  data();
  mnl_attr_nest_end(nlh, body);
  if (list) mnl_attr_nest_end(nlh, list);
}

// Whether the rule tests the address at all (0.0.0.0/0 not negated says nothing).
bool HasAddress(const std::optional<Address>& a, int bytes);

}  // namespace connlimit::core::nft
