// SPDX-License-Identifier: GPL-2.0-or-later
// The IPv6 REJECT target, revision 0 (ip6tables -j REJECT --reject-with).
// <linux/netfilter_ipv6/ip6t_REJECT.h>:
//   enum ip6t_reject_with { IP6T_ICMP6_NO_ROUTE, ..., IP6T_ICMP6_POLICY_FAIL, IP6T_ICMP6_REJECT_ROUTE };
//   struct ip6t_reject_info {
//     __u32 with;  /* reject type */
//   };
#include <linux/netfilter_ipv6/ip6t_REJECT.h>

#include "core/xt/modules.h"
#include "core/xt/reject_with.h"

namespace connlimit::core::xt {
namespace {

// --reject-with names as ip6tables-save 1.8.9 prints them (extensions/libip6t_REJECT.c), by
// kernel enum value. ECHOREPLY is left out: the kernel refuses it.
constexpr RejectName kNames[] = {
    {IP6T_ICMP6_NO_ROUTE, "icmp6-no-route"}, {IP6T_ICMP6_ADM_PROHIBITED, "icmp6-adm-prohibited"},
    {IP6T_ICMP6_ADDR_UNREACH, "icmp6-addr-unreachable"}, {IP6T_ICMP6_PORT_UNREACH, "icmp6-port-unreachable"},
    {IP6T_TCP_RESET, "tcp-reset"}, {IP6T_ICMP6_POLICY_FAIL, "icmp6-policy-fail"},
    {IP6T_ICMP6_REJECT_ROUTE, "icmp6-reject-route"},
};

Result<Bytes> Encode(Family, const Target& t) { return EncodeRejectWith<struct ip6t_reject_info>(kNames, t); }

std::optional<Target> Decode(Family, const uint8_t* data, size_t len) {
  return DecodeRejectWith<struct ip6t_reject_info>(kNames, data, len);
}

}  // namespace

const TargetCodec kRejectIpv6Target{Target::Kind::kReject, Encode, Decode};

}  // namespace connlimit::core::xt
