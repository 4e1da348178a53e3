// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/native/xlate_exprs.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <linux/netfilter/nf_tables.h>

#include <cstring>

#include "core/nft/expr_writer.h"

namespace connlimit::core::nft::xlate {

void AddCompare(struct nftnl_rule* r, bool invert, const void* lo, const void* hi, uint32_t len, bool range) {
  if (!range && memcmp(lo, hi, len) == 0) {
    AddCmp(r, CmpOp(invert), lo, len);
  } else if (invert) {
    auto* e = AddExpr(r, "range");
    nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_SREG, kReg);
    nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_OP, NFT_RANGE_NEQ);
    nftnl_expr_set(e, NFTNL_EXPR_RANGE_FROM_DATA, lo, len);
    nftnl_expr_set(e, NFTNL_EXPR_RANGE_TO_DATA, hi, len);
  } else {
    AddCmp(r, NFT_CMP_GTE, lo, len);
    AddCmp(r, NFT_CMP_LTE, hi, len);
  }
}

size_t ReadCompare(const std::vector<Expr>& ex, size_t j, uint32_t len, bool* invert, std::vector<uint8_t>* lo,
                   std::vector<uint8_t>* hi) {
  if (j >= ex.size()) return 0;
  const Expr& k = ex[j];
  if (k.name == "range") {
    if (Be32(k.a[NFTA_RANGE_OP]) != NFT_RANGE_NEQ) return 0;
    *lo = Value(k.a[NFTA_RANGE_FROM_DATA]);
    *hi = Value(k.a[NFTA_RANGE_TO_DATA]);
    *invert = true;
    return lo->size() == len && hi->size() == len ? 1 : 0;
  }
  if (CmpEqNeq(&k, invert, lo)) {
    *hi = *lo;
    return lo->size() == len ? 1 : 0;
  }
  if (k.name != "cmp" || Be32(k.a[NFTA_CMP_OP]) != NFT_CMP_GTE || j + 1 >= ex.size()) return 0;
  const Expr& k2 = ex[j + 1];
  if (k2.name != "cmp" || Be32(k2.a[NFTA_CMP_OP]) != NFT_CMP_LTE) return 0;
  *lo = Value(k.a[NFTA_CMP_DATA]);
  *hi = Value(k2.a[NFTA_CMP_DATA]);
  *invert = false;
  return lo->size() == len && hi->size() == len ? 2 : 0;
}

void AddCtLoad(struct nftnl_rule* r, uint32_t key, int dir) {
  auto* e = AddExpr(r, "ct");
  nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, kReg);
  nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
  if (dir >= 0) nftnl_expr_set_u8(e, NFTNL_EXPR_CT_DIR, static_cast<uint8_t>(dir));
}

bool ReadCtLoad(const Expr& e, uint32_t* key, int* dir) {
  if (e.name != "ct" || !e.a[NFTA_CT_DREG] || e.a[NFTA_CT_SREG]) return false;
  *key = Be32(e.a[NFTA_CT_KEY]);
  const struct nlattr* d = e.a[NFTA_CT_DIRECTION];
  if (d && mnl_attr_get_payload_len(d) != 1) return false;
  *dir = d ? mnl_attr_get_u8(d) : -1;
  return true;
}

void AddFlags(struct nftnl_rule* r, uint32_t mask, bool invert) {
  static const uint32_t kZero = 0;
  AddBitwise(r, &mask, sizeof mask, false);
  AddCmp(r, invert ? NFT_CMP_EQ : NFT_CMP_NEQ, &kZero, sizeof kZero);
}

void AddHostCompare(struct nftnl_rule* r, uint32_t lo, uint32_t hi, bool invert) {
  if (lo == hi) {
    AddCmp(r, CmpOp(invert), &lo, sizeof lo);
    return;
  }
  auto* e = AddExpr(r, "byteorder");
  nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SREG, kReg);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_DREG, kReg);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_LEN, 4);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SIZE, 4);
  uint32_t lo_be = htonl(lo), hi_be = htonl(hi);
  AddCompare(r, invert, &lo_be, &hi_be, sizeof lo_be);
}

size_t ReadHostCompare(const std::vector<Expr>& ex, size_t j, uint32_t* lo, uint32_t* hi, bool* invert) {
  if (j >= ex.size()) return 0;
  std::vector<uint8_t> v;
  if (CmpEqNeq(&ex[j], invert, &v)) {
    if (!HostU32(v, lo)) return 0;
    *hi = *lo;
    return 1;
  }
  if (ex[j].name != "byteorder") return 0;
  const Expr& b = ex[j];
  if (Be32(b.a[NFTA_BYTEORDER_OP]) != NFT_BYTEORDER_HTON || Be32(b.a[NFTA_BYTEORDER_LEN]) != 4 || Be32(b.a[NFTA_BYTEORDER_SIZE]) != 4) return 0;
  std::vector<uint8_t> from, to;
  size_t n = ReadCompare(ex, j + 1, 4, invert, &from, &to);
  if (!n || !HostU32(from, lo) || !HostU32(to, hi)) return 0;
  *lo = ntohl(*lo);
  *hi = ntohl(*hi);
  // Equal bounds would have been one cmp in host order.
  return *lo < *hi ? 1 + n : 0;
}

size_t ReadFlags(const std::vector<Expr>& ex, size_t j, uint32_t* mask, bool* invert) {
  if (j + 1 >= ex.size() || ex[j].name != "bitwise") return 0;
  const Expr& b = ex[j];
  // The kernel dumps NFTA_BITWISE_OP (boolean) even where nft sent none.
  if (b.a[NFTA_BITWISE_OP] && Be32(b.a[NFTA_BITWISE_OP]) != NFT_BITWISE_BOOL) return 0;
  uint32_t xor_value = 1, zero = 1;
  if (!HostU32(Value(b.a[NFTA_BITWISE_MASK]), mask) || !HostU32(Value(b.a[NFTA_BITWISE_XOR]), &xor_value) || xor_value) return 0;
  std::vector<uint8_t> data;
  bool neq = false;
  if (!CmpEqNeq(&ex[j + 1], &neq, &data) || !HostU32(data, &zero) || zero) return 0;
  *invert = !neq;
  return 2;
}

}  // namespace connlimit::core::nft::xlate
