// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/ct/counter.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace connlimit::core::ct {

namespace {

bool InPrefix(const Prefix& p, uint8_t family, const Addr& a) {
  // An IPv4 address sits in the first 4 bytes of Addr: without the family check 10.0.0.0/8
  // would match IPv6 addresses starting 0a00::.
  bool in = family == p.family && MaskAddr(a, p.prefix_len) == MaskAddr(p.addr, p.prefix_len);
  return in != p.invert;
}

bool InRange(const PortRange& r, uint16_t port) {
  bool in = port >= r.lo && port <= r.hi;
  return in != r.invert;
}

bool HasPorts(uint8_t p) {
  return p == IPPROTO_TCP || p == IPPROTO_UDP || p == IPPROTO_UDPLITE || p == IPPROTO_SCTP || p == IPPROTO_DCCP;
}

}  // namespace

bool Matches(const Filter& f, const Entry& e) {
  if (f.family && e.family != f.family) return false;
  if (f.protocol >= 0 && (e.protocol == f.protocol) == f.invert_protocol) return false;
  if (f.has_src && !InPrefix(f.src, e.family, e.orig.src)) return false;
  if (f.has_dst && !InPrefix(f.dst, e.family, e.orig.dst)) return false;
  // A port condition can hold only for a protocol that has ports (as iptables' -m tcp/udp).
  if (f.sport.active && (!HasPorts(e.protocol) || !InRange(f.sport, e.orig.sport))) return false;
  if (f.dport.active && (!HasPorts(e.protocol) || !InRange(f.dport, e.orig.dport))) return false;
  bool tcp = e.protocol == IPPROTO_TCP && e.tcp_state != Entry::kNoState && e.tcp_state < 32;
  if (f.tcp_states && !(tcp && (f.tcp_states & (1u << e.tcp_state)))) return false;
  if (f.tcp_states_excluded && tcp && (f.tcp_states_excluded & (1u << e.tcp_state))) return false;
  if (f.has_mark && (e.mark & f.mark_mask) != f.mark) return false;
  if (f.has_zone && e.zone != f.zone) return false;
  if (f.has_status && (e.status & f.status_mask) != f.status_value) return false;
  return true;
}

size_t KeyCounter::KeyHash::operator()(const Key& k) const {
  // FNV-1a over the 17 bytes: cheap, and keys are few next to entries.
  uint64_t h = 1469598103934665603ull ^ k.family;
  for (uint8_t b : k.addr) h = (h ^ b) * 1099511628211ull;
  return static_cast<size_t>(h);
}

void KeyCounter::Add(const Entry& e) {
  const Addr& a = field_ == KeyField::kSource ? e.orig.src : e.orig.dst;
  counts_[Key{e.family, MaskAddr(a, e.family == AF_INET6 ? prefix6_ : prefix4_)}]++;
}

std::vector<KeyCount> KeyCounter::Take(size_t top) const {
  std::vector<KeyCount> out;
  out.reserve(counts_.size());
  for (const auto& [k, n] : counts_) {
    KeyCount c;
    c.family = k.family;
    c.prefix_len = k.family == AF_INET6 ? prefix6_ : prefix4_;
    c.addr = k.addr;
    c.count = n;
    out.push_back(c);
  }
  auto order = [](const KeyCount& a, const KeyCount& b) {
    if (a.count != b.count) return a.count > b.count;
    if (a.family != b.family) return a.family < b.family;
    return a.addr < b.addr;
  };
  if (top > 0 && top < out.size()) {
    std::partial_sort(out.begin(), out.begin() + static_cast<long>(top), out.end(), order);
    out.resize(top);
  } else {
    std::sort(out.begin(), out.end(), order);
  }
  return out;
}

}  // namespace connlimit::core::ct
