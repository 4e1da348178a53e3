// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/compat/native_mark.h"

#include <libnftnl/expr.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_mark.h>

#include <cstring>
#include <string>

#include "core/nft/expr_writer.h"

namespace connlimit::core::nft {
namespace {

// mark, mask (host order, as the meta register holds the mark), invert, 3 bytes of padding.
constexpr size_t kBlobSize = XT_ALIGN(sizeof(struct xt_mark_mtinfo1));
constexpr uint32_t kFullMask = 0xffffffff;

// A 4-byte register value in host order, or false.
bool HostU32(const std::vector<uint8_t>& v, uint32_t* out) {
  if (v.size() != sizeof *out) return false;
  memcpy(out, v.data(), sizeof *out);
  return true;
}

}  // namespace

Result<Unit> EncodeNativeMark(struct nftnl_rule* r, const std::vector<uint8_t>& blob) {
  struct xt_mark_mtinfo1 info {};
  if (blob.size() != kBlobSize) return EncodeError("a mark match of " + std::to_string(blob.size()) + " bytes");
  memcpy(&info, blob.data(), sizeof info);
  if (info.invert > 1) return EncodeError("a mark match with invert " + std::to_string(info.invert));
  AddMeta(r, NFT_META_MARK);
  if (info.mask != kFullMask) AddBitwise(r, &info.mask, sizeof info.mask, false);
  AddCmp(r, CmpOp(info.invert != 0), &info.mark, sizeof info.mark);
  return Unit{};
}

size_t ReadNativeMark(const std::vector<Expr>& ex, size_t i, OpaqueExtension* blob) {
  const Expr& e = ex[i];
  if (e.name != "meta" || !e.a[NFTA_META_DREG] || e.a[NFTA_META_SREG] || Be32(e.a[NFTA_META_KEY]) != NFT_META_MARK) return 0;
  struct xt_mark_mtinfo1 info {};
  info.mask = kFullMask;
  size_t next = i + 1;
  if (next < ex.size() && ex[next].name == "bitwise") {
    const Expr& b = ex[next];
    if (b.a[NFTA_BITWISE_OP] && Be32(b.a[NFTA_BITWISE_OP]) != NFT_BITWISE_BOOL) return 0;
    uint32_t xor_value = 0;
    if (!HostU32(Value(b.a[NFTA_BITWISE_MASK]), &info.mask) || !HostU32(Value(b.a[NFTA_BITWISE_XOR]), &xor_value) || xor_value) return 0;
    next++;
  }
  bool invert = false;
  std::vector<uint8_t> data;
  if (next >= ex.size() || !CmpEqNeq(&ex[next], &invert, &data) || !HostU32(data, &info.mark)) return 0;
  info.invert = invert ? 1 : 0;
  blob->data.assign(kBlobSize, 0);
  memcpy(blob->data.data(), &info, sizeof info);
  return next - i + 1;
}

}  // namespace connlimit::core::nft
