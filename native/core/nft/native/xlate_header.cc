// SPDX-License-Identifier: GPL-2.0-or-later
// The translations that test packet headers, as 1.8.9's xlate renders them:
// - `-m iprange` (struct xt_iprange_mtinfo): `ip saddr A-B` then `ip daddr A-B` (ip6 for IPv6),
//   `!=` for `!`; one address is still the range `A-A`, which nft sends as one;
// - `-m ttl` (struct ipt_ttl_info): `ip ttl N`, `ip ttl != N`, `ip ttl lt N`, `ip ttl gt N`;
// - `-m mac --mac-source M` (struct xt_mac_info): `ether saddr M`, after nft's own
//   `meta iiftype ether` dependency;
// - `-m tcpmss --mss N[:M]` (struct xt_tcpmss_match_info): `tcp option maxseg size N[-M]`,
//   which nft sends as a TCP option load with no protocol test of its own.
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <linux/if_arp.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_iprange.h>
#include <linux/netfilter/xt_mac.h>
#include <linux/netfilter/xt_tcpmss.h>
#include <linux/netfilter_ipv4/ipt_ttl.h>
#include <netinet/tcp.h>

#include <cstring>

#include "core/nft/expr_writer.h"
#include "core/nft/native/xlate_exprs.h"
#include "core/nft/native/xlate_modules.h"

namespace connlimit::core::nft::xlate {
namespace {

constexpr uint32_t kTtlOffset = 8;  // struct iphdr
constexpr uint32_t kEtherSaddr = 6, kEtherAlen = 6;
constexpr uint32_t kMssOffset = 2, kMssLen = 2;  // the value after the option's kind and length

// A load of the whole address at `offset` and a range compare after it: the expressions used (0: none).
size_t ReadRange(const std::vector<Expr>& ex, size_t i, uint32_t offset, int bytes, bool* invert, std::vector<uint8_t>* lo,
                 std::vector<uint8_t>* hi) {
  if (i >= ex.size()) return 0;
  auto l = ReadPayloadLoad(ex, i);
  if (!l || l->base != NFT_PAYLOAD_NETWORK_HEADER || l->offset != offset || l->len != static_cast<uint32_t>(bytes) || !l->mask.empty())
    return 0;
  size_t n = ReadCompare(ex, l->next, bytes, invert, lo, hi);
  // A cmp eq/neq is `-s`/`-d`, not a range.
  if (!n || (n == 1 && !*invert) || (n == 1 && ex[l->next].name != "range")) return 0;
  return l->next - i + n;
}

}  // namespace

Result<Unit> EncodeIprange(const XlateRule& w, const Blob& blob) {
  struct xt_iprange_mtinfo info {};
  constexpr uint8_t kKnown = IPRANGE_SRC | IPRANGE_DST | IPRANGE_SRC_INV | IPRANGE_DST_INV;
  if (!FromBlob(blob, &info) || (info.flags & ~kKnown) || !(info.flags & (IPRANGE_SRC | IPRANGE_DST)))
    return EncodeError("an iprange match of " + std::to_string(blob.size()) + " bytes");
  int bytes = AddressBytes(w.family);
  if (info.flags & IPRANGE_SRC) {
    AddPayload(w.r, NFT_PAYLOAD_NETWORK_HEADER, SaddrOffset(w.family), bytes);
    AddCompare(w.r, info.flags & IPRANGE_SRC_INV, &info.src_min, &info.src_max, bytes, true);
  }
  if (info.flags & IPRANGE_DST) {
    AddPayload(w.r, NFT_PAYLOAD_NETWORK_HEADER, DaddrOffset(w.family), bytes);
    AddCompare(w.r, info.flags & IPRANGE_DST_INV, &info.dst_min, &info.dst_max, bytes, true);
  }
  return Unit{};
}

size_t ReadIprange(const std::vector<Expr>& ex, size_t i, Family family, const RuleSpec&, Blob* blob, const AnonymousSetElements&) {
  struct xt_iprange_mtinfo info {};
  int bytes = AddressBytes(family);
  bool invert = false;
  std::vector<uint8_t> lo, hi;
  size_t used = ReadRange(ex, i, SaddrOffset(family), bytes, &invert, &lo, &hi);
  if (used) {
    info.flags |= IPRANGE_SRC | (invert ? IPRANGE_SRC_INV : 0);
    memcpy(&info.src_min, lo.data(), bytes);
    memcpy(&info.src_max, hi.data(), bytes);
  }
  // `ip daddr A-B` right after (or alone) is the same match's other side, as the CLI writes both.
  if (size_t d = ReadRange(ex, i + used, DaddrOffset(family), bytes, &invert, &lo, &hi)) {
    info.flags |= IPRANGE_DST | (invert ? IPRANGE_DST_INV : 0);
    memcpy(&info.dst_min, lo.data(), bytes);
    memcpy(&info.dst_max, hi.data(), bytes);
    used += d;
  }
  if (!used) return 0;
  ToBlob(info, blob);
  return used;
}

Result<Unit> EncodeTtl(const XlateRule& w, const Blob& blob) {
  static constexpr uint32_t kOps[] = {NFT_CMP_EQ, NFT_CMP_NEQ, NFT_CMP_LT, NFT_CMP_GT};  // IPT_TTL_EQ, _NE, _LT, _GT
  struct ipt_ttl_info info {};
  if (w.family != Family::kIpv4 || !FromBlob(blob, &info) || info.mode > IPT_TTL_GT) return EncodeError("a ttl match of " + std::to_string(blob.size()) + " bytes");
  AddPayload(w.r, NFT_PAYLOAD_NETWORK_HEADER, kTtlOffset, 1);
  AddCmp(w.r, kOps[info.mode], &info.ttl, 1);
  return Unit{};
}

size_t ReadTtl(const std::vector<Expr>& ex, size_t i, Family family, const RuleSpec&, Blob* blob, const AnonymousSetElements&) {
  if (family != Family::kIpv4) return 0;
  auto l = ReadPayloadLoad(ex, i);
  if (!l || l->base != NFT_PAYLOAD_NETWORK_HEADER || l->offset != kTtlOffset || l->len != 1 || !l->mask.empty() || l->next >= ex.size()) return 0;
  const Expr& k = ex[l->next];
  if (k.name != "cmp") return 0;
  auto v = Value(k.a[NFTA_CMP_DATA]);
  struct ipt_ttl_info info {};
  switch (Be32(k.a[NFTA_CMP_OP])) {
    case NFT_CMP_EQ: info.mode = IPT_TTL_EQ; break;
    case NFT_CMP_NEQ: info.mode = IPT_TTL_NE; break;
    case NFT_CMP_LT: info.mode = IPT_TTL_LT; break;
    case NFT_CMP_GT: info.mode = IPT_TTL_GT; break;
    default: return 0;
  }
  if (v.size() != 1) return 0;
  info.ttl = v[0];
  ToBlob(info, blob);
  return l->next - i + 1;
}

Result<Unit> EncodeMac(const XlateRule& w, const Blob& blob) {
  struct xt_mac_info info {};
  if (!FromBlob(blob, &info) || info.invert < 0 || info.invert > 1) return EncodeError("a mac match of " + std::to_string(blob.size()) + " bytes");
  const uint16_t ether = ARPHRD_ETHER;
  AddMeta(w.r, NFT_META_IIFTYPE);
  AddCmp(w.r, NFT_CMP_EQ, &ether, sizeof ether);
  AddPayload(w.r, NFT_PAYLOAD_LL_HEADER, kEtherSaddr, kEtherAlen);
  AddCmp(w.r, CmpOp(info.invert != 0), info.srcaddr, kEtherAlen);
  return Unit{};
}

size_t ReadMac(const std::vector<Expr>& ex, size_t i, Family, const RuleSpec&, Blob* blob, const AnonymousSetElements&) {
  if (!IsMetaLoad(ex[i], NFT_META_IIFTYPE) || i + 3 >= ex.size()) return 0;
  bool invert = false;
  std::vector<uint8_t> v;
  uint16_t ether = 0;
  if (!CmpEqNeq(&ex[i + 1], &invert, &v) || invert || v.size() != sizeof ether) return 0;
  memcpy(&ether, v.data(), sizeof ether);
  if (ether != ARPHRD_ETHER) return 0;
  auto l = ReadPayloadLoad(ex, i + 2);
  if (!l || l->base != NFT_PAYLOAD_LL_HEADER || l->offset != kEtherSaddr || l->len != kEtherAlen || !l->mask.empty() || l->next >= ex.size()) return 0;
  if (!CmpEqNeq(&ex[l->next], &invert, &v) || v.size() != kEtherAlen) return 0;
  struct xt_mac_info info {};
  memcpy(info.srcaddr, v.data(), kEtherAlen);
  info.invert = invert ? 1 : 0;
  ToBlob(info, blob);
  return l->next - i + 1;
}

Result<Unit> EncodeTcpmss(const XlateRule& w, const Blob& blob) {
  struct xt_tcpmss_match_info info {};
  if (!FromBlob(blob, &info) || info.invert > 1 || info.mss_min > info.mss_max) return EncodeError("a tcpmss match of " + std::to_string(blob.size()) + " bytes");
  auto* e = AddExpr(w.r, "exthdr");
  nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_DREG, kReg);
  nftnl_expr_set_u8(e, NFTNL_EXPR_EXTHDR_TYPE, TCPOPT_MAXSEG);
  nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OFFSET, kMssOffset);
  nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_LEN, kMssLen);
  nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OP, NFT_EXTHDR_OP_TCPOPT);
  nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_FLAGS, 0);  // nft sends it, 0 for a load
  uint16_t lo = htons(info.mss_min), hi = htons(info.mss_max);
  AddCompare(w.r, info.invert != 0, &lo, &hi, sizeof lo);
  return Unit{};
}

size_t ReadTcpmss(const std::vector<Expr>& ex, size_t i, Family, const RuleSpec&, Blob* blob, const AnonymousSetElements&) {
  const Expr& e = ex[i];
  if (e.name != "exthdr" || !e.a[NFTA_EXTHDR_DREG] || e.a[NFTA_EXTHDR_SREG] || Be32(e.a[NFTA_EXTHDR_OP]) != NFT_EXTHDR_OP_TCPOPT) return 0;
  if (!e.a[NFTA_EXTHDR_TYPE] || mnl_attr_get_u8(e.a[NFTA_EXTHDR_TYPE]) != TCPOPT_MAXSEG || Be32(e.a[NFTA_EXTHDR_OFFSET]) != kMssOffset ||
      Be32(e.a[NFTA_EXTHDR_LEN]) != kMssLen || (Be32(e.a[NFTA_EXTHDR_FLAGS]) != 0))
    return 0;
  bool invert = false;
  std::vector<uint8_t> lo, hi;
  size_t n = ReadCompare(ex, i + 1, kMssLen, &invert, &lo, &hi);
  if (!n) return 0;
  struct xt_tcpmss_match_info info {};
  info.mss_min = Be16(lo);
  info.mss_max = Be16(hi);
  if (info.mss_min > info.mss_max) return 0;
  info.invert = invert ? 1 : 0;
  ToBlob(info, blob);
  return 1 + n;
}

}  // namespace connlimit::core::nft::xlate
