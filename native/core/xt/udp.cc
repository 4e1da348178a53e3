// SPDX-License-Identifier: GPL-2.0-or-later
// The udp match, revision 0 (-p udp --sport/--dport).
// <linux/netfilter/xt_tcpudp.h>:
//   struct xt_udp {
//     __u16 spts[2];  /* Source port range. */
//     __u16 dpts[2];  /* Destination port range. */
//     __u8 invflags;  /* Inverse flags: XT_UDP_INV_* */
//   };
// iptables-nft writes udp ports as native payload expressions instead (nft/rule_codec.cc
// AddUdp); this blob is what it writes for a bare -m udp.
#include <linux/netfilter/xt_tcpudp.h>

#include "core/xt/modules.h"

namespace connlimit::core::xt {
namespace {

Result<Bytes> Encode(Family, const Match& m) {
  const auto& udp = std::get<UdpMatch>(m);
  struct xt_udp info {};
  info.spts[0] = udp.sport.lo;
  info.spts[1] = udp.sport.hi;
  info.dpts[0] = udp.dport.lo;
  info.dpts[1] = udp.dport.hi;
  info.invflags = (udp.inv_sport ? XT_UDP_INV_SRCPT : 0) | (udp.inv_dport ? XT_UDP_INV_DSTPT : 0);
  return StructBytes(info);
}

std::optional<Match> Decode(Family, const uint8_t* data, size_t len) {
  struct xt_udp info;
  if (!ReadStruct(data, len, &info) || (info.invflags & ~XT_UDP_INV_MASK) != 0) return std::nullopt;
  UdpMatch u;
  u.sport = {info.spts[0], info.spts[1]};
  u.dport = {info.dpts[0], info.dpts[1]};
  u.inv_sport = info.invflags & XT_UDP_INV_SRCPT;
  u.inv_dport = info.invflags & XT_UDP_INV_DSTPT;
  return u;
}

bool Same(Family, const Match& a, const Match& b) {
  const auto& x = std::get<UdpMatch>(a);
  const auto& y = std::get<UdpMatch>(b);
  return x.sport.lo == y.sport.lo && x.sport.hi == y.sport.hi && x.dport.lo == y.dport.lo && x.dport.hi == y.dport.hi &&
         x.inv_sport == y.inv_sport && x.inv_dport == y.inv_dport;
}

}  // namespace

const MatchCodec kUdpMatch{MatchModel<UdpMatch>(), Encode, Decode, Same};

}  // namespace connlimit::core::xt
