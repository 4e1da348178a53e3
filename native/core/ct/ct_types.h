// SPDX-License-Identifier: GPL-2.0-or-later
// Plain conntrack structs shared by the ctnetlink encoder, decoder, counter and socket.
// Addresses are kept in network order in 16 bytes (IPv4 in the first 4), ports in host order.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

namespace connlimit::core::ct {

using Addr = std::array<uint8_t, 16>;

struct Tuple {
  Addr src{};
  Addr dst{};
  uint16_t sport = 0;  // TCP/UDP/SCTP/DCCP/UDPLITE ports; for ICMP(v6) the echo id
  uint16_t dport = 0;
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;
};

// One conntrack entry as ctnetlink describes it (IPCTNL_MSG_CT_NEW in a dump).
struct Entry {
  uint8_t family = 0;     // AF_INET or AF_INET6 (nfgen_family)
  uint8_t protocol = 0;   // CTA_PROTO_NUM of the original tuple
  uint8_t tcp_state = kNoState;  // enum tcp_conntrack, kNoState when not TCP
  bool has_reply = false;
  bool has_timeout = false;
  bool has_counters = false;
  uint32_t status = 0;    // enum ip_conntrack_status bits (CTA_STATUS)
  uint32_t timeout = 0;   // seconds left (CTA_TIMEOUT)
  uint32_t mark = 0;      // CTA_MARK
  uint16_t zone = 0;      // CTA_ZONE, 0 (NF_CT_DEFAULT_ZONE_ID) when absent
  uint32_t id = 0;        // CTA_ID
  Tuple orig;
  Tuple reply;
  uint64_t orig_packets = 0, orig_bytes = 0, reply_packets = 0, reply_bytes = 0;  // CTA_COUNTERS_*

  static constexpr uint8_t kNoState = 0xff;
};

// An address prefix; prefix_len counts bits from the left of the 4 or 16 address bytes.
struct Prefix {
  uint8_t family = 0;  // AF_INET or AF_INET6: an entry of the other family never matches
  Addr addr{};
  uint8_t prefix_len = 0;
  bool invert = false;
};

struct PortRange {
  uint16_t lo = 0;
  uint16_t hi = 0xffff;
  bool invert = false;
  bool active = false;
};

// What to keep. Everything present must hold (AND). Checked in C++ on every decoded entry
// whether or not the kernel applied it too, so an older kernel that ignores a dump filter
// attribute gives the same answer, only slower.
struct Filter {
  uint8_t family = 0;        // AF_UNSPEC (0) = both
  int protocol = -1;         // -1 = any
  bool invert_protocol = false;
  bool has_src = false, has_dst = false;
  Prefix src, dst;           // on the original tuple
  PortRange sport, dport;    // on the original tuple
  uint32_t tcp_states = 0;   // bit (1 << tcp_conntrack): keep only TCP entries in these states; 0 = any
  uint32_t tcp_states_excluded = 0;  // TCP entries in these states are dropped; other protocols kept
  bool has_mark = false;
  uint32_t mark = 0, mark_mask = 0xffffffff;
  bool has_zone = false;
  uint16_t zone = 0;
  bool has_status = false;   // (status & status_mask) == status_value
  uint32_t status_value = 0, status_mask = 0;
};

// What the kernel dumps, under which request: kept for tests and the bench.
struct DumpStats {
  uint64_t messages = 0;     // IPCTNL_MSG_CT_NEW messages decoded
  uint64_t matched = 0;      // of those, kept by the filter
  uint64_t bytes = 0;        // netlink bytes received for it
  bool kernel_filtered = false;  // NLM_F_DUMP_FILTERED seen
  bool kernel_filter_refused = false;  // the kernel refused our dump filter; C++ filtered alone
  int restarts = 0;          // dumps restarted after NLM_F_DUMP_INTR
};

// What a decoded message was: a dump reply and an UPDATE event are both IPCTNL_MSG_CT_NEW
// without NLM_F_CREATE; a NEW event has NLM_F_CREATE|NLM_F_EXCL; a DESTROY event is
// IPCTNL_MSG_CT_DELETE (NETFILTER-NOTES.md §5.3). Dumps see only kEntry; the event reader
// (issue 4) sees all three through the same decoder.
enum class EntryKind { kEntry, kNew, kDestroy };

inline size_t AddrLen(uint8_t family) { return family == 10 /* AF_INET6 */ ? 16 : 4; }

// Zero every bit after the first prefix_len bits.
inline Addr MaskAddr(const Addr& a, unsigned prefix_len) {
  Addr out{};
  unsigned full = prefix_len / 8;
  std::memcpy(out.data(), a.data(), full > 16 ? 16 : full);
  if (full < 16 && prefix_len % 8) out[full] = a[full] & static_cast<uint8_t>(0xff << (8 - prefix_len % 8));
  return out;
}

}  // namespace connlimit::core::ct
