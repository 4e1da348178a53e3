// SPDX-License-Identifier: GPL-2.0-or-later
// Pure, internal to nftables_encoder.cc and nftables_decoder.cc: what both directions of the
// native nftables form agree on (the protocol offset, nft's datatype ids, REJECT codes).
#pragma once

#include <cstdint>
#include <iterator>

#include "core/rule_spec.h"

namespace connlimit::core::nft::nftables {

// The protocol field of struct iphdr (`ip protocol`); the register and the address and TCP
// flags offsets are in expr_writer.h, shared with the iptables-nft form.
inline constexpr uint32_t kIpv4Protocol = 9;
// nft's datatype ids (src/datatype.h TYPE_IPADDR, TYPE_IP6ADDR) and BYTEORDER_BIG_ENDIAN,
// which it keeps in the set's userdata.
inline constexpr uint32_t kTypeIpAddr = 7, kTypeIp6Addr = 8;
inline constexpr uint32_t kByteorderHostEndian = 1, kByteorderBigEndian = 2;

// The REJECT types iptables names, as the ICMP / ICMPv6 codes nft's `reject with icmp[v6]
// type ...` sends (NFT_REJECT_ICMP_UNREACH); tcp-reset is NFT_REJECT_TCP_RST.
struct RejectCode {
  const char* name;
  uint8_t code;
};
inline constexpr RejectCode kReject4[] = {{"icmp-net-unreachable", 0},  {"icmp-host-unreachable", 1}, {"icmp-proto-unreachable", 2},
                                          {"icmp-port-unreachable", 3}, {"icmp-net-prohibited", 9},   {"icmp-host-prohibited", 10},
                                          {"icmp-admin-prohibited", 13}};
inline constexpr RejectCode kReject6[] = {{"icmp6-no-route", 0},         {"icmp6-adm-prohibited", 1}, {"icmp6-addr-unreachable", 3},
                                          {"icmp6-port-unreachable", 4}, {"icmp6-policy-fail", 5},    {"icmp6-reject-route", 6}};
inline constexpr const char kTcpReset[] = "tcp-reset";

template <typename F>
inline const RejectCode* FindReject(Family family, F pred) {
  const RejectCode* begin = family == Family::kIpv4 ? kReject4 : kReject6;
  size_t n = family == Family::kIpv4 ? std::size(kReject4) : std::size(kReject6);
  for (size_t i = 0; i < n; i++)
    if (pred(begin[i])) return &begin[i];
  return nullptr;
}

// The prefix length of a contiguous mask, or -1.
inline int PrefixOf(const uint8_t* mask, int bytes) {
  int bits = 0;
  int i = 0;
  for (; i < bytes && mask[i] == 0xFF; i++) bits += 8;
  if (i < bytes) {
    uint8_t m = mask[i];
    while (m & 0x80) {
      bits++;
      m = static_cast<uint8_t>(m << 1);
    }
    if (m) return -1;
    for (int j = i + 1; j < bytes; j++)
      if (mask[j]) return -1;
  }
  return bits;
}

}  // namespace connlimit::core::nft::nftables
