// SPDX-License-Identifier: GPL-2.0-or-later
// The translations that test packet metadata, as 1.8.9's xlate renders them:
// - `-m mark --mark V[/M]` (struct xt_mark_mtinfo1): `mark V` / `mark and M V`, `!=` for `!`;
//   nft sends the mask as a binary `&` (a bitwise with its operation, unlike iptables-nft);
// - `-m pkttype --pkt-type T` (struct xt_pkttype_info): `pkttype T` (one byte);
// - `-m length --length N[:M]` (struct xt_length_info): `meta length N` compares the host-order
//   register; a range `meta length N-M` is compared in network order after a byteorder.
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_length.h>
#include <linux/netfilter/xt_mark.h>
#include <linux/netfilter/xt_pkttype.h>

#include <cstring>

#include "core/nft/expr_writer.h"
#include "core/nft/mark_exprs.h"
#include "core/nft/native/xlate_exprs.h"
#include "core/nft/native/xlate_modules.h"

namespace connlimit::core::nft::xlate {

Result<Unit> EncodeMark(const XlateRule& w, const Blob& blob) {
  struct xt_mark_mtinfo1 info {};
  if (!FromBlob(blob, &info) || info.invert > 1) return EncodeError("a mark match of " + std::to_string(blob.size()) + " bytes");
  AddMarkExprs(w.r, info, true);
  return Unit{};
}

size_t ReadMark(const std::vector<Expr>& ex, size_t i, Family, const RuleSpec&, Blob* blob, const AnonymousSetElements&) {
  struct xt_mark_mtinfo1 info {};
  size_t n = ReadMarkExprs(ex, i, &info);
  if (n) ToBlob(info, blob);
  return n;
}

Result<Unit> EncodePkttype(const XlateRule& w, const Blob& blob) {
  struct xt_pkttype_info info {};
  if (!FromBlob(blob, &info) || info.pkttype < 0 || info.pkttype > 0xFF || info.invert < 0 || info.invert > 1)
    return EncodeError("a pkttype match of " + std::to_string(blob.size()) + " bytes");
  uint8_t type = static_cast<uint8_t>(info.pkttype);
  AddMeta(w.r, NFT_META_PKTTYPE);
  AddCmp(w.r, CmpOp(info.invert != 0), &type, 1);
  return Unit{};
}

size_t ReadPkttype(const std::vector<Expr>& ex, size_t i, Family, const RuleSpec&, Blob* blob, const AnonymousSetElements&) {
  if (!IsMetaLoad(ex[i], NFT_META_PKTTYPE)) return 0;
  bool invert = false;
  std::vector<uint8_t> data;
  if (i + 1 >= ex.size() || !CmpEqNeq(&ex[i + 1], &invert, &data) || data.size() != 1) return 0;
  struct xt_pkttype_info info {};
  info.pkttype = data[0];
  info.invert = invert ? 1 : 0;
  ToBlob(info, blob);
  return 2;
}

Result<Unit> EncodeLength(const XlateRule& w, const Blob& blob) {
  struct xt_length_info info {};
  if (!FromBlob(blob, &info) || info.invert > 1 || info.min > info.max) return EncodeError("a length match of " + std::to_string(blob.size()) + " bytes");
  AddMeta(w.r, NFT_META_LEN);
  AddHostCompare(w.r, info.min, info.max, info.invert != 0);
  return Unit{};
}

size_t ReadLength(const std::vector<Expr>& ex, size_t i, Family, const RuleSpec&, Blob* blob, const AnonymousSetElements&) {
  if (!IsMetaLoad(ex[i], NFT_META_LEN) || i + 1 >= ex.size()) return 0;
  struct xt_length_info info {};
  bool invert = false;
  uint32_t from = 0, to = 0;
  size_t n = ReadHostCompare(ex, i + 1, &from, &to, &invert);
  if (!n || to > 0xFFFF) return 0;
  info.min = static_cast<uint16_t>(from);
  info.max = static_cast<uint16_t>(to);
  info.invert = invert ? 1 : 0;
  ToBlob(info, blob);
  return 1 + n;
}

}  // namespace connlimit::core::nft::xlate
