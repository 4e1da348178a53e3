// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/compat/rule_shape.h"

#include <arpa/inet.h>
#include <linux/netlink.h>

#include <cstddef>
#include <cstring>
#include <optional>
#include <utility>

namespace connlimit::core::nft {
namespace {

// A value of the rule that is not part of its shape: an address (with a mask, so the rule
// tests it whatever its bytes), or an exact port other than 0 (0 and ranges take other paths
// in the encoder).
struct Slot {
  enum class Kind { kSrc, kDst, kSport, kDport };
  Kind kind;
  size_t match = 0;  // index of the tcp or udp match holding a port
  bool operator==(const Slot& o) const { return kind == o.kind && match == o.match; }
};

constexpr size_t kShapesPerThread = 4;

bool MaskSet(const std::optional<Address>& a, int bytes) {
  if (!a) return false;
  for (int i = 0; i < bytes; i++)
    if (a->mask[i]) return true;
  return false;
}

bool ExactPort(const PortRange& p) { return p.lo == p.hi && p.lo != 0; }

std::vector<Slot> SlotsOf(Family family, const RuleSpec& rule) {
  std::vector<Slot> out;
  int bytes = AddressBytes(family);
  if (MaskSet(rule.src, bytes)) out.push_back({Slot::Kind::kSrc});
  if (MaskSet(rule.dst, bytes)) out.push_back({Slot::Kind::kDst});
  for (size_t i = 0; i < rule.matches.size(); i++) {
    const PortRange* sport = nullptr;
    const PortRange* dport = nullptr;
    if (const auto* t = std::get_if<TcpMatch>(&rule.matches[i])) sport = &t->sport, dport = &t->dport;
    if (const auto* u = std::get_if<UdpMatch>(&rule.matches[i])) sport = &u->sport, dport = &u->dport;
    if (sport && ExactPort(*sport)) out.push_back({Slot::Kind::kSport, i});
    if (dport && ExactPort(*dport)) out.push_back({Slot::Kind::kDport, i});
  }
  return out;
}

template <typename R>  // RuleSpec or const RuleSpec
auto* PortOf(R& rule, const Slot& s) {
  auto& m = rule.matches[s.match];
  bool src = s.kind == Slot::Kind::kSport;
  if (auto* t = std::get_if<TcpMatch>(&m)) return src ? &t->sport : &t->dport;
  auto& u = std::get<UdpMatch>(m);
  return src ? &u.sport : &u.dport;
}

// The slot's value as the encoder writes it: the address bytes, or the port in network order.
size_t ValueOf(Family family, const RuleSpec& rule, const Slot& s, uint8_t out[16]) {
  switch (s.kind) {
    case Slot::Kind::kSrc:
      memcpy(out, rule.src->addr, AddressBytes(family));
      return AddressBytes(family);
    case Slot::Kind::kDst:
      memcpy(out, rule.dst->addr, AddressBytes(family));
      return AddressBytes(family);
    default: {
      uint16_t v = htons(PortOf(rule, s)->lo);
      memcpy(out, &v, 2);
      return 2;
    }
  }
}

void SetValue(Family family, RuleSpec& rule, const Slot& s, const uint8_t* value) {
  switch (s.kind) {
    case Slot::Kind::kSrc:
      memcpy(rule.src->addr, value, AddressBytes(family));
      return;
    case Slot::Kind::kDst:
      memcpy(rule.dst->addr, value, AddressBytes(family));
      return;
    default: {
      uint16_t v;
      memcpy(&v, value, 2);
      PortOf(rule, s)->lo = PortOf(rule, s)->hi = ntohs(v);
    }
  }
}

// Probe values: byte k of slot j, one of two that differ in every byte, never 0x00 or 0xFF
// (a port stays exact and non-zero), and unlike any other slot's.
uint8_t Probe(size_t slot, size_t k, bool second) {
  auto b = static_cast<uint8_t>(0x21 + 0x1D * slot + 0x07 * k);
  if (b == 0x00 || b == 0xFF) b = 0x5A;
  return second ? static_cast<uint8_t>(~b) : b;
}

// ---- rules equal in everything but their slots' values ----

bool SameAddress(const std::optional<Address>& a, const std::optional<Address>& b, bool slot) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  return a->invert == b->invert && !memcmp(a->mask, b->mask, sizeof a->mask) && (slot || !memcmp(a->addr, b->addr, sizeof a->addr));
}

bool SameInterface(const std::optional<Interface>& a, const std::optional<Interface>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || (a->name == b->name && a->wildcard == b->wildcard && a->invert == b->invert);
}

// Equal field for field (rule_spec.h), but for the ports that are slots: a copy takes b's
// values there and is compared whole.
bool SameMatch(const Match& a, const Match& b, bool sport_slot, bool dport_slot) {
  if (!sport_slot && !dport_slot) return a == b;
  Match x = a;
  auto take = [&](auto& mine, const auto& theirs) {
    if (sport_slot) mine.sport = theirs.sport;
    if (dport_slot) mine.dport = theirs.dport;
  };
  if (auto* t = std::get_if<TcpMatch>(&x); t && std::holds_alternative<TcpMatch>(b)) take(*t, std::get<TcpMatch>(b));
  if (auto* u = std::get_if<UdpMatch>(&x); u && std::holds_alternative<UdpMatch>(b)) take(*u, std::get<UdpMatch>(b));
  return x == b;
}

bool Has(const std::vector<Slot>& slots, Slot::Kind kind, size_t match = 0) {
  for (const auto& s : slots)
    if (s.kind == kind && s.match == match) return true;
  return false;
}

// `slots` are both rules' (already found equal).
bool SameShape(const RuleSpec& a, const RuleSpec& b, const std::vector<Slot>& slots) {
  if (a.protocol != b.protocol || a.inv_protocol != b.inv_protocol || a.fragment != b.fragment) return false;
  if (!SameAddress(a.src, b.src, Has(slots, Slot::Kind::kSrc)) || !SameAddress(a.dst, b.dst, Has(slots, Slot::Kind::kDst))) return false;
  if (!SameInterface(a.in_interface, b.in_interface) || !SameInterface(a.out_interface, b.out_interface)) return false;
  if (a.matches.size() != b.matches.size()) return false;
  for (size_t i = 0; i < a.matches.size(); i++)
    if (!SameMatch(a.matches[i], b.matches[i], Has(slots, Slot::Kind::kSport, i), Has(slots, Slot::Kind::kDport, i))) return false;
  return a.target.kind == b.target.kind && a.target.name == b.target.name && a.target.opaque == b.target.opaque;
}

bool SamePlacement(const RulePlacement& a, const RulePlacement& b) {
  return a.nlm_flags == b.nlm_flags && a.position == b.position && a.position_id == b.position_id && a.handle == b.handle && a.id == b.id;
}

// ---- shapes ----

struct Shape {
  bool learned = false;  // seen twice: its places looked for
  bool usable = false;
  Family family = Family::kIpv4;
  std::string table, chain;
  RulePlacement where;
  RuleSpec rule;  // the rule that made it
  std::vector<Slot> slots;
  std::vector<size_t> offsets, lengths;  // where each slot's value is, and how many of its bytes are written
  std::vector<uint8_t> bytes;            // the message with the first probe values

  bool Fits(Family f, const std::string& t, const std::string& c, const RulePlacement& w, const std::vector<Slot>& s,
            const RuleSpec& r) const {
    return family == f && table == t && chain == c && SamePlacement(where, w) && slots == s && SameShape(rule, r, slots);
  }

  std::vector<uint8_t> Write(const RuleSpec& r, uint32_t seq) const {
    std::vector<uint8_t> out(bytes);
    memcpy(out.data() + offsetof(struct nlmsghdr, nlmsg_seq), &seq, sizeof seq);
    uint8_t value[16];
    for (size_t i = 0; i < slots.size(); i++) {
      ValueOf(family, r, slots[i], value);
      memcpy(out.data() + offsets[i], value, lengths[i]);
    }
    return out;
  }

  // Where the slots' probe values landed; false unless they explain every byte that differs.
  bool Locate(const std::vector<uint8_t>& one, const std::vector<uint8_t>& two) {
    if (one.size() != two.size() || one.size() < sizeof(struct nlmsghdr)) return false;
    size_t differing = 0;
    for (size_t i = 0; i < one.size(); i++) differing += one[i] != two[i];
    size_t explained = 0;
    for (size_t j = 0; j < slots.size(); j++) {
      size_t width = slots[j].kind == Slot::Kind::kSrc || slots[j].kind == Slot::Kind::kDst ? AddressBytes(family) : 2;
      std::optional<size_t> at;
      size_t len = 0;
      for (size_t o = 0; o < one.size(); o++) {
        size_t k = 0;
        while (k < width && o + k < one.size() && one[o + k] == Probe(j, k, false) && two[o + k] == Probe(j, k, true)) k++;
        if (k == 0) continue;
        if (at) return false;  // written twice: not one place
        at = o;
        len = k;
        o += k - 1;
      }
      // A port is written whole; an address may be cut to its prefix's bytes.
      if (!at || (width == 2 && len != 2)) return false;
      offsets.push_back(*at);
      lengths.push_back(len);
      explained += len;
    }
    return explained == differing;
  }
};

thread_local std::vector<Shape> shapes;
thread_local size_t next_replaced = 0;
thread_local ShapeCounts counts;

// Makes `s` (seen once before) a shape from `rule`, usable or not; `plain` is libnftnl's
// message for the rule itself, sequence 0.
void Learn(Shape& s, const RuleSpec& rule, RuleEncoder encode, const std::vector<uint8_t>& plain) {
  s.learned = true;
  counts.learned++;
  RuleSpec probes[2] = {rule, rule};
  for (int p = 0; p < 2; p++)
    for (size_t j = 0; j < s.slots.size(); j++) {
      uint8_t value[16];
      for (size_t k = 0; k < sizeof value; k++) value[k] = Probe(j, k, p == 1);
      SetValue(s.family, probes[p], s.slots[j], value);
    }
  auto one = encode(s.family, s.table, s.chain, probes[0], s.where, 0);
  auto two = encode(s.family, s.table, s.chain, probes[1], s.where, 0);
  if (one.ok() && two.ok() && s.Locate(one.value(), two.value())) {
    s.bytes = one.take();
    // The rule at hand must come out of it as libnftnl wrote it.
    s.usable = s.Write(rule, 0) == plain;
  }
  counts.unusable += !s.usable;
}

Result<std::vector<uint8_t>> Plain(Family family, const std::string& table, const std::string& chain, const RuleSpec& rule,
                                   const RulePlacement& where, uint32_t seq, RuleEncoder encode, Shape* learn) {
  auto plain = encode(family, table, chain, rule, where, 0);
  if (!plain.ok()) return plain.error();
  if (learn) Learn(*learn, rule, encode, plain.value());
  std::vector<uint8_t> out = plain.take();
  memcpy(out.data() + offsetof(struct nlmsghdr, nlmsg_seq), &seq, sizeof seq);
  return out;
}

}  // namespace

// A shape is learned the second time it is seen: a load of rules of many shapes pays no
// probes, only the comparisons.
Result<std::vector<uint8_t>> EncodeByShape(Family family, const std::string& table, const std::string& chain, const RuleSpec& rule,
                                           const RulePlacement& where, uint32_t seq, RuleEncoder encode) {
  auto slots = SlotsOf(family, rule);
  for (auto& s : shapes) {
    if (!s.Fits(family, table, chain, where, slots, rule)) continue;
    if (!s.learned) return Plain(family, table, chain, rule, where, seq, encode, &s);
    if (!s.usable) return encode(family, table, chain, rule, where, seq);
    counts.written++;
    return s.Write(rule, seq);
  }
  Shape seen;
  seen.family = family;
  seen.table = table;
  seen.chain = chain;
  seen.where = where;
  seen.rule = rule;
  seen.slots = std::move(slots);
  if (shapes.size() < kShapesPerThread) {
    shapes.push_back(std::move(seen));
  } else {
    shapes[next_replaced] = std::move(seen);
    next_replaced = (next_replaced + 1) % kShapesPerThread;
  }
  return encode(family, table, chain, rule, where, seq);
}

ShapeCounts ThreadShapeCounts() { return counts; }

}  // namespace connlimit::core::nft
