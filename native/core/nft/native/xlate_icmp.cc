// SPDX-License-Identifier: GPL-2.0-or-later
// `-m icmp --icmp-type T` and `-m icmp6 --icmpv6-type T` (struct ipt_icmp / ip6t_icmp: type,
// code range, invflags) as libipt_icmp/libip6t_icmp6 1.8.9's xlate renders them: `icmp type T`
// (nft adds `meta l4proto icmp` before the load; iptables-translate leaves `ip protocol icmp`
// out), `icmpv6 type T` (after the rule's own `meta l4proto ipv6-icmp`), `!=` for `!`. A type
// with a code has no translation in 1.8.9, nor has `! --icmp-type any`; `any` alone is
// `ip protocol icmp`, which reads back as the rule's `-p icmp` without the match.
#include <linux/netfilter/nf_tables.h>

#include "core/nft/expr_writer.h"
#include "core/nft/native/nftables_layout.h"
#include "core/nft/native/xlate_modules.h"

namespace connlimit::core::nft::xlate {
namespace {

// type, code min, code max, invflags (IPT_ICMP_INV / IP6T_ICMP_INV = 1), XT_ALIGNed to 8.
constexpr size_t kBlobSize = 8;
constexpr uint8_t kAnyType = 0xFF, kInv = 0x01;

Result<Unit> Encode(const XlateRule& w, const Blob& blob, bool ipv4) {
  if (blob.size() != kBlobSize || (blob[3] & ~kInv)) return EncodeError("an icmp match of " + std::to_string(blob.size()) + " bytes");
  bool invert = blob[3] & kInv;
  if (ipv4 && blob[0] == kAnyType) {
    if (invert) return EncodeError("'! --icmp-type any' has no translation (iptables-translate 1.8.9 renders its opposite)");
    const uint8_t icmp = 1;
    AddPayload(w.r, NFT_PAYLOAD_NETWORK_HEADER, nftables::kIpv4Protocol, 1);
    AddCmp(w.r, NFT_CMP_EQ, &icmp, 1);
    return Unit{};
  }
  if (blob[1] != 0 || blob[2] != 0xFF) return EncodeError("an ICMP type with a code has no translation in iptables-translate 1.8.9");
  w.transport_dependency();
  AddPayload(w.r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1);
  AddCmp(w.r, CmpOp(invert), &blob[0], 1);
  return Unit{};
}

size_t Read(const std::vector<Expr>& ex, size_t i, const RuleSpec& rule, uint16_t protocol, Blob* blob) {
  if (rule.protocol != protocol || rule.inv_protocol) return 0;
  auto l = ReadPayloadLoad(ex, i);
  if (!l || l->base != NFT_PAYLOAD_TRANSPORT_HEADER || l->offset != 0 || l->len != 1 || !l->mask.empty()) return 0;
  bool invert = false;
  std::vector<uint8_t> type;
  if (l->next >= ex.size() || !CmpEqNeq(&ex[l->next], &invert, &type) || type.size() != 1) return 0;
  *blob = {type[0], 0, 0xFF, static_cast<uint8_t>(invert ? kInv : 0), 0, 0, 0, 0};
  return l->next - i + 1;
}

}  // namespace

Result<Unit> EncodeIcmp(const XlateRule& w, const Blob& blob) { return Encode(w, blob, true); }
Result<Unit> EncodeIcmp6(const XlateRule& w, const Blob& blob) { return Encode(w, blob, false); }

size_t ReadIcmp(const std::vector<Expr>& ex, size_t i, Family family, const RuleSpec& rule, Blob* blob, const AnonymousSetElements&) {
  return family == Family::kIpv4 ? Read(ex, i, rule, 1, blob) : 0;
}
size_t ReadIcmp6(const std::vector<Expr>& ex, size_t i, Family family, const RuleSpec& rule, Blob* blob, const AnonymousSetElements&) {
  return family == Family::kIpv6 ? Read(ex, i, rule, 58, blob) : 0;
}

}  // namespace connlimit::core::nft::xlate
