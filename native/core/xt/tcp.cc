// SPDX-License-Identifier: GPL-2.0-or-later
// The tcp match, revision 0 (-p tcp --sport/--dport/--tcp-flags/--tcp-option).
// <linux/netfilter/xt_tcpudp.h>:
//   struct xt_tcp {
//     __u16 spts[2];  /* Source port range. */
//     __u16 dpts[2];  /* Destination port range. */
//     __u8 option;    /* TCP Option iff non-zero */
//     __u8 flg_mask;  /* TCP flags mask byte */
//     __u8 flg_cmp;   /* TCP flags compare byte */
//     __u8 invflags;  /* Inverse flags: XT_TCP_INV_* */
//   };
// iptables-nft writes most tcp matches as native payload expressions instead
// (nft/rule_codec.cc AddTcp); this blob is what it writes when those cannot say it.
#include <linux/netfilter/xt_tcpudp.h>

#include "core/xt/modules.h"

namespace connlimit::core::xt {
namespace {

Result<Bytes> Encode(Family, const Match& m) {
  const auto& tcp = std::get<TcpMatch>(m);
  struct xt_tcp info {};
  info.spts[0] = tcp.sport.lo;
  info.spts[1] = tcp.sport.hi;
  info.dpts[0] = tcp.dport.lo;
  info.dpts[1] = tcp.dport.hi;
  info.option = tcp.option;
  info.flg_mask = tcp.flag_mask;
  info.flg_cmp = tcp.flag_compare;
  info.invflags = (tcp.inv_sport ? XT_TCP_INV_SRCPT : 0) | (tcp.inv_dport ? XT_TCP_INV_DSTPT : 0) |
                  (tcp.inv_flags ? XT_TCP_INV_FLAGS : 0) | (tcp.inv_option ? XT_TCP_INV_OPTION : 0);
  return StructBytes(info);
}

std::optional<Match> Decode(Family, const uint8_t* data, size_t len) {
  struct xt_tcp info;
  if (!ReadStruct(data, len, &info) || (info.invflags & ~XT_TCP_INV_MASK) != 0) return std::nullopt;
  TcpMatch t;
  t.sport = {info.spts[0], info.spts[1]};
  t.dport = {info.dpts[0], info.dpts[1]};
  t.option = info.option;
  t.flag_mask = info.flg_mask;
  t.flag_compare = info.flg_cmp;
  t.inv_sport = info.invflags & XT_TCP_INV_SRCPT;
  t.inv_dport = info.invflags & XT_TCP_INV_DSTPT;
  t.inv_flags = info.invflags & XT_TCP_INV_FLAGS;
  t.inv_option = info.invflags & XT_TCP_INV_OPTION;
  return t;
}

bool Same(Family, const Match& a, const Match& b) {
  const auto& x = std::get<TcpMatch>(a);
  const auto& y = std::get<TcpMatch>(b);
  return x.sport.lo == y.sport.lo && x.sport.hi == y.sport.hi && x.dport.lo == y.dport.lo && x.dport.hi == y.dport.hi &&
         x.option == y.option && x.flag_mask == y.flag_mask && x.flag_compare == y.flag_compare &&
         x.inv_sport == y.inv_sport && x.inv_dport == y.inv_dport && x.inv_flags == y.inv_flags &&
         x.inv_option == y.inv_option;
}

}  // namespace

const MatchCodec kTcpMatch{MatchModel<TcpMatch>(), Encode, Decode, Same};

}  // namespace connlimit::core::xt
