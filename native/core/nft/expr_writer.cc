// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/expr_writer.h"

#include <arpa/inet.h>
#include <endian.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>

#include <cerrno>

#include "core/nft/nfproto.h"

namespace connlimit::core::nft {

KernelError EncodeError(const std::string& what) { return KernelError{"encode", EINVAL, what, -1}; }

RulePtr NewRule(Family family, const std::string& table, const std::string& chain, const RulePlacement& where) {
  RulePtr r(nftnl_rule_alloc(), nftnl_rule_free);
  if (!r) return r;
  nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, NfProto(family));
  nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, table.c_str());
  nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain.c_str());
  if (where.position) nftnl_rule_set_u64(r.get(), NFTNL_RULE_POSITION, where.position);
  if (where.position_id) nftnl_rule_set_u32(r.get(), NFTNL_RULE_POSITION_ID, where.position_id);
  if (where.handle) nftnl_rule_set_u64(r.get(), NFTNL_RULE_HANDLE, where.handle);
  if (where.id) nftnl_rule_set_u32(r.get(), NFTNL_RULE_ID, where.id);
  return r;
}

struct nftnl_expr* AddExpr(struct nftnl_rule* r, const char* name) {
  struct nftnl_expr* e = nftnl_expr_alloc(name);
  nftnl_rule_add_expr(r, e);
  return e;
}

void AddMeta(struct nftnl_rule* r, uint32_t key) {
  auto* e = AddExpr(r, "meta");
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, kReg);
}

void AddPayload(struct nftnl_rule* r, uint32_t base, uint32_t offset, uint32_t len) {
  auto* e = AddExpr(r, "payload");
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, kReg);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
}

void AddBitwise(struct nftnl_rule* r, const void* mask, uint32_t len, bool with_op) {
  static const uint8_t kZero[16] = {};
  auto* e = AddExpr(r, "bitwise");
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, kReg);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, kReg);
  if (with_op) nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_OP, NFT_BITWISE_BOOL);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
  nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
  nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, kZero, len);
}

void AddCmp(struct nftnl_rule* r, uint32_t op, const void* data, uint32_t len) {
  auto* e = AddExpr(r, "cmp");
  nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, kReg);
  nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
  nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
}

void AddRange(struct nftnl_rule* r, uint32_t op, uint16_t from_be, uint16_t to_be) {
  auto* e = AddExpr(r, "range");
  nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_SREG, kReg);
  nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_OP, op);
  nftnl_expr_set(e, NFTNL_EXPR_RANGE_FROM_DATA, &from_be, sizeof from_be);
  nftnl_expr_set(e, NFTNL_EXPR_RANGE_TO_DATA, &to_be, sizeof to_be);
}

void AddVerdict(struct nftnl_rule* r, int verdict, const std::string* chain) {
  auto* e = AddExpr(r, "immediate");
  nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
  nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, static_cast<uint32_t>(verdict));
  if (chain) nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain->c_str());
}

namespace {

void PutU32(struct nlmsghdr* nlh, uint16_t type, uint32_t v) { mnl_attr_put_u32(nlh, type, htonl(v)); }

// A data register holding a value (nftnl_data_reg's NFTA_DATA_VALUE), in the nest `type`.
void PutValue(struct nlmsghdr* nlh, uint16_t type, const void* data, uint32_t len) {
  auto* nest = mnl_attr_nest_start(nlh, type);
  mnl_attr_put(nlh, NFTA_DATA_VALUE, len, data);
  mnl_attr_nest_end(nlh, nest);
}

}  // namespace

void AddMeta(struct nlmsghdr* nlh, uint32_t key) {
  PutExpr(nlh, "meta", [&] {
    PutU32(nlh, NFTA_META_KEY, key);
    PutU32(nlh, NFTA_META_DREG, kReg);
  });
}

void AddPayload(struct nlmsghdr* nlh, uint32_t base, uint32_t offset, uint32_t len) {
  PutExpr(nlh, "payload", [&] {
    PutU32(nlh, NFTA_PAYLOAD_DREG, kReg);
    PutU32(nlh, NFTA_PAYLOAD_BASE, base);
    PutU32(nlh, NFTA_PAYLOAD_OFFSET, offset);
    PutU32(nlh, NFTA_PAYLOAD_LEN, len);
  });
}

void AddBitwise(struct nlmsghdr* nlh, const void* mask, uint32_t len, bool with_op) {
  static const uint8_t kZero[16] = {};
  PutExpr(nlh, "bitwise", [&] {
    PutU32(nlh, NFTA_BITWISE_SREG, kReg);
    PutU32(nlh, NFTA_BITWISE_DREG, kReg);
    if (with_op) PutU32(nlh, NFTA_BITWISE_OP, NFT_BITWISE_BOOL);
    PutU32(nlh, NFTA_BITWISE_LEN, len);
    PutValue(nlh, NFTA_BITWISE_MASK, mask, len);
    PutValue(nlh, NFTA_BITWISE_XOR, kZero, len);
  });
}

void AddCmp(struct nlmsghdr* nlh, uint32_t op, const void* data, uint32_t len) {
  PutExpr(nlh, "cmp", [&] {
    PutU32(nlh, NFTA_CMP_SREG, kReg);
    PutU32(nlh, NFTA_CMP_OP, op);
    PutValue(nlh, NFTA_CMP_DATA, data, len);
  });
}

void AddRange(struct nlmsghdr* nlh, uint32_t op, uint16_t from_be, uint16_t to_be) {
  PutExpr(nlh, "range", [&] {
    PutU32(nlh, NFTA_RANGE_SREG, kReg);
    PutU32(nlh, NFTA_RANGE_OP, op);
    PutValue(nlh, NFTA_RANGE_FROM_DATA, &from_be, sizeof from_be);
    PutValue(nlh, NFTA_RANGE_TO_DATA, &to_be, sizeof to_be);
  });
}

void AddVerdict(struct nlmsghdr* nlh, int verdict, const std::string* chain) {
  PutExpr(nlh, "immediate", [&] {
    PutU32(nlh, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
    auto* data = mnl_attr_nest_start(nlh, NFTA_IMMEDIATE_DATA);
    auto* v = mnl_attr_nest_start(nlh, NFTA_DATA_VERDICT);
    PutU32(nlh, NFTA_VERDICT_CODE, static_cast<uint32_t>(verdict));
    if (chain) mnl_attr_put_strz(nlh, NFTA_VERDICT_CHAIN, chain->c_str());
    mnl_attr_nest_end(nlh, v);
    mnl_attr_nest_end(nlh, data);
  });
}

void AddCounter(struct nftnl_rule* r) { AddExpr(r, "counter"); }

// An empty NFTA_EXPR_DATA, as libnftnl sends it.
void AddCounter(struct nlmsghdr* nlh) {
  PutExpr(nlh, "counter", [] {});
}

struct nlattr* PutRuleStart(struct nlmsghdr* nlh, const std::string& table, const std::string& chain, const RulePlacement& where) {
  mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, table.c_str());
  mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, chain.c_str());
  if (where.handle) mnl_attr_put_u64(nlh, NFTA_RULE_HANDLE, htobe64(where.handle));
  if (where.position) mnl_attr_put_u64(nlh, NFTA_RULE_POSITION, htobe64(where.position));
  return mnl_attr_nest_start(nlh, NFTA_RULE_EXPRESSIONS);
}

void PutRuleEnd(struct nlmsghdr* nlh, struct nlattr* exprs, const RulePlacement& where) {
  mnl_attr_nest_end(nlh, exprs);
  if (where.id) PutU32(nlh, NFTA_RULE_ID, where.id);
  if (where.position_id) PutU32(nlh, NFTA_RULE_POSITION_ID, where.position_id);
}

bool HasAddress(const std::optional<Address>& a, int bytes) {
  if (!a) return false;
  if (a->invert) return true;
  for (int i = 0; i < bytes; i++)
    if (a->addr[i] || a->mask[i]) return true;
  return false;
}

}  // namespace connlimit::core::nft
