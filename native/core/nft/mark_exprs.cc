// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/mark_exprs.h"

#include <linux/netfilter/nf_tables.h>

#include "core/nft/expr_writer.h"

namespace connlimit::core::nft {
namespace {

constexpr uint32_t kFullMask = 0xffffffff;

}  // namespace

void AddMarkExprs(struct nftnl_rule* r, const struct xt_mark_mtinfo1& info, bool bitwise_op) {
  AddMeta(r, NFT_META_MARK);
  if (info.mask != kFullMask) AddBitwise(r, &info.mask, sizeof info.mask, bitwise_op);
  AddCmp(r, CmpOp(info.invert != 0), &info.mark, sizeof info.mark);
}

size_t ReadMarkExprs(const std::vector<Expr>& ex, size_t i, struct xt_mark_mtinfo1* info) {
  if (!IsMetaLoad(ex[i], NFT_META_MARK)) return 0;
  *info = {};
  info->mask = kFullMask;
  size_t next = i + 1;
  if (next < ex.size() && ex[next].name == "bitwise") {
    const Expr& b = ex[next];
    if (b.a[NFTA_BITWISE_OP] && Be32(b.a[NFTA_BITWISE_OP]) != NFT_BITWISE_BOOL) return 0;
    uint32_t xor_value = 0;
    if (!HostU32(Value(b.a[NFTA_BITWISE_MASK]), &info->mask) || !HostU32(Value(b.a[NFTA_BITWISE_XOR]), &xor_value) || xor_value) return 0;
    next++;
  }
  bool invert = false;
  std::vector<uint8_t> data;
  if (next >= ex.size() || !CmpEqNeq(&ex[next], &invert, &data) || !HostU32(data, &info->mark)) return 0;
  info->invert = invert ? 1 : 0;
  return next - i + 1;
}

}  // namespace connlimit::core::nft
