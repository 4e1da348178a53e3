// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/expr_writer.h"

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

bool HasAddress(const std::optional<Address>& a, int bytes) {
  if (!a) return false;
  if (a->invert) return true;
  for (int i = 0; i < bytes; i++)
    if (a->addr[i] || a->mask[i]) return true;
  return false;
}

}  // namespace connlimit::core::nft
