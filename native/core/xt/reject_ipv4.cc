// SPDX-License-Identifier: GPL-2.0-or-later
// The IPv4 REJECT target, revision 0 (-j REJECT --reject-with).
// <linux/netfilter_ipv4/ipt_REJECT.h>:
//   enum ipt_reject_with { IPT_ICMP_NET_UNREACHABLE, ..., IPT_TCP_RESET, IPT_ICMP_ADMIN_PROHIBITED };
//   struct ipt_reject_info {
//     enum ipt_reject_with with;  /* reject type */
//   };
#include <linux/netfilter_ipv4/ipt_REJECT.h>

#include "core/xt/modules.h"
#include "core/xt/reject_with.h"

namespace connlimit::core::xt {
namespace {

// --reject-with names as iptables-save 1.8.9 prints them (extensions/libipt_REJECT.c), by
// kernel enum value. ECHOREPLY is left out: the kernel refuses it.
constexpr RejectName kNames[] = {
    {IPT_ICMP_NET_UNREACHABLE, "icmp-net-unreachable"}, {IPT_ICMP_HOST_UNREACHABLE, "icmp-host-unreachable"},
    {IPT_ICMP_PROT_UNREACHABLE, "icmp-proto-unreachable"}, {IPT_ICMP_PORT_UNREACHABLE, "icmp-port-unreachable"},
    {IPT_ICMP_NET_PROHIBITED, "icmp-net-prohibited"}, {IPT_ICMP_HOST_PROHIBITED, "icmp-host-prohibited"},
    {IPT_TCP_RESET, "tcp-reset"}, {IPT_ICMP_ADMIN_PROHIBITED, "icmp-admin-prohibited"},
};

Result<Bytes> Encode(Family, const Target& t) { return EncodeRejectWith<struct ipt_reject_info>(kNames, t); }

std::optional<Target> Decode(Family, const uint8_t* data, size_t len) {
  return DecodeRejectWith<struct ipt_reject_info>(kNames, data, len);
}

}  // namespace

const TargetCodec kRejectIpv4Target{Target::Kind::kReject, Encode, Decode};

}  // namespace connlimit::core::xt
