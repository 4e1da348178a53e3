// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/legacy/entry_codec.h"

#include <linux/netfilter/x_tables.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

#include <cstring>
#include <type_traits>

#include "core/xt/extension.h"
#include "core/xt/standard.h"

namespace connlimit::core::legacy {
namespace {

using xt::EncodeError;

// The two entry layouts differ only in their IP header part; everything after it is shared.
// ipt_entry: 112 bytes, ip6t_entry: 168 (NETFILTER-NOTES.md §2.1).
template <typename Entry>
constexpr size_t kEntrySize = XT_ALIGN(sizeof(Entry));

constexpr size_t kMatchHeader = XT_ALIGN(sizeof(struct xt_entry_match));    // 32
constexpr size_t kTargetHeader = XT_ALIGN(sizeof(struct xt_entry_target));  // 32

// xtables_parse_interface(): the name keeps its '+', the mask covers the prefix (wildcard)
// or the name and its NUL (exact).
bool EncodeInterface(const Interface& iface, char* name, unsigned char* mask) {
  std::string stored = iface.name + (iface.wildcard ? "+" : "");
  if (stored.size() + 1 > IFNAMSIZ) return false;
  memcpy(name, stored.data(), stored.size());
  memset(mask, 0xFF, iface.wildcard ? iface.name.size() : iface.name.size() + 1);
  return true;
}

// The inverse of the above, as print_iface() reads it.
std::optional<Interface> DecodeInterface(const char* name, const unsigned char* mask, bool invert) {
  if (mask[0] == 0) return std::nullopt;
  size_t covered = 0;
  while (covered < IFNAMSIZ && mask[covered] != 0) covered++;
  Interface iface;
  iface.invert = invert;
  if (covered > 0 && name[covered - 1] != '\0') {
    iface.name.assign(name, covered);
    iface.wildcard = true;
  } else {
    iface.name.assign(name, strnlen(name, IFNAMSIZ));
  }
  return iface;
}

// Appends one extension (match or target): header with size, name, revision; then its data.
void AppendExtension(std::vector<uint8_t>& out, const xt::XtBlob& blob) {
  size_t size = XT_ALIGN(kMatchHeader + blob.data.size());
  size_t at = out.size();
  out.resize(at + size, 0);
  auto* header = reinterpret_cast<struct xt_entry_match*>(out.data() + at);
  header->u.user.match_size = static_cast<uint16_t>(size);
  strncpy(header->u.user.name, blob.name.c_str(), sizeof(header->u.user.name) - 1);
  header->u.user.revision = blob.revision;
  if (!blob.data.empty()) memcpy(out.data() + at + kMatchHeader, blob.data.data(), blob.data.size());
}

Result<xt::XtBlob> EncodeExtension(Family family, const Match& m) { return xt::EncodeMatch(family, m); }

Result<xt::XtBlob> EncodeExtension(Family family, const Target& t) {
  bool standard = t.kind == Target::Kind::kNone || t.kind == Target::Kind::kVerdict || t.kind == Target::Kind::kJump ||
                  t.kind == Target::Kind::kGoto;
  return standard ? xt::EncodeStandardTarget(t) : xt::EncodeTarget(family, t);
}

// The family-specific IP header part, filled by one function per layout.
Result<Unit> FillIpv4(struct ipt_entry* e, const RuleSpec& rule, bool is_goto) {
  auto& ip = e->ip;
  if (rule.src) {
    memcpy(&ip.src, rule.src->addr, 4);
    memcpy(&ip.smsk, rule.src->mask, 4);
    if (rule.src->invert) ip.invflags |= IPT_INV_SRCIP;
  }
  if (rule.dst) {
    memcpy(&ip.dst, rule.dst->addr, 4);
    memcpy(&ip.dmsk, rule.dst->mask, 4);
    if (rule.dst->invert) ip.invflags |= IPT_INV_DSTIP;
  }
  if (rule.in_interface) {
    if (!EncodeInterface(*rule.in_interface, ip.iniface, ip.iniface_mask)) return EncodeError("interface name");
    if (rule.in_interface->invert) ip.invflags |= IPT_INV_VIA_IN;
  }
  if (rule.out_interface) {
    if (!EncodeInterface(*rule.out_interface, ip.outiface, ip.outiface_mask)) return EncodeError("interface name");
    if (rule.out_interface->invert) ip.invflags |= IPT_INV_VIA_OUT;
  }
  ip.proto = rule.protocol;
  if (rule.inv_protocol) ip.invflags |= XT_INV_PROTO;
  if (rule.fragment) {
    ip.flags |= IPT_F_FRAG;
    if (!*rule.fragment) ip.invflags |= IPT_INV_FRAG;
  }
  if (is_goto) ip.flags |= IPT_F_GOTO;
  return Unit{};
}

Result<Unit> FillIpv6(struct ip6t_entry* e, const RuleSpec& rule, bool is_goto) {
  auto& ip = e->ipv6;
  if (rule.fragment) return EncodeError("-f is IPv4 only");
  if (rule.src) {
    memcpy(&ip.src, rule.src->addr, 16);
    memcpy(&ip.smsk, rule.src->mask, 16);
    if (rule.src->invert) ip.invflags |= IP6T_INV_SRCIP;
  }
  if (rule.dst) {
    memcpy(&ip.dst, rule.dst->addr, 16);
    memcpy(&ip.dmsk, rule.dst->mask, 16);
    if (rule.dst->invert) ip.invflags |= IP6T_INV_DSTIP;
  }
  if (rule.in_interface) {
    if (!EncodeInterface(*rule.in_interface, ip.iniface, ip.iniface_mask)) return EncodeError("interface name");
    if (rule.in_interface->invert) ip.invflags |= IP6T_INV_VIA_IN;
  }
  if (rule.out_interface) {
    if (!EncodeInterface(*rule.out_interface, ip.outiface, ip.outiface_mask)) return EncodeError("interface name");
    if (rule.out_interface->invert) ip.invflags |= IP6T_INV_VIA_OUT;
  }
  ip.proto = rule.protocol;
  // Without IP6T_F_PROTO the kernel never looks at the protocol: the rule is accepted and
  // printed but silently never matches (NETFILTER-NOTES.md §2.3); ip6tables sets both.
  if (rule.protocol != 0) ip.flags |= IP6T_F_PROTO;
  if (rule.inv_protocol) ip.invflags |= IP6T_INV_PROTO;
  if (is_goto) ip.flags |= IP6T_F_GOTO;
  return Unit{};
}

}  // namespace

template <typename Value>
Result<Unit> EntryEncoder::AppendFramed(Framed<Value>& last, const Value& value) {
  if (!last.bytes.empty() && last.value == value) {
    entry_.insert(entry_.end(), last.bytes.begin(), last.bytes.end());
    return Unit{};
  }
  auto blob = EncodeExtension(family_, value);
  if (!blob.ok()) {
    last.bytes.clear();
    return blob.error();
  }
  last.value = value;
  last.bytes.clear();
  AppendExtension(last.bytes, blob.value());
  entry_.insert(entry_.end(), last.bytes.begin(), last.bytes.end());
  return Unit{};
}

template <typename Entry>
Result<Unit> EntryEncoder::Write(const RuleSpec& rule) {
  entry_.assign(kEntrySize<Entry>, 0);
  if (last_matches_.size() < rule.matches.size()) last_matches_.resize(rule.matches.size());
  for (size_t i = 0; i < rule.matches.size(); i++) {
    auto r = AppendFramed(last_matches_[i], rule.matches[i]);
    if (!r.ok()) return r.error();
  }
  size_t target_offset = entry_.size();
  auto r = AppendFramed(last_target_, rule.target);
  if (!r.ok()) return r.error();
  if (entry_.size() > 0xFFFF) return EncodeError("rule too large");
  bool is_goto = rule.target.kind == Target::Kind::kGoto;
  auto* e = reinterpret_cast<Entry*>(entry_.data());
  e->target_offset = static_cast<uint16_t>(target_offset);
  e->next_offset = static_cast<uint16_t>(entry_.size());
  if constexpr (std::is_same_v<Entry, struct ipt_entry>)
    return FillIpv4(e, rule, is_goto);
  else
    return FillIpv6(e, rule, is_goto);
}

Result<const std::vector<uint8_t>*> EntryEncoder::Encode(const RuleSpec& rule) {
  auto written = family_ == Family::kIpv4 ? Write<struct ipt_entry>(rule) : Write<struct ip6t_entry>(rule);
  if (!written.ok()) return written.error();
  return &entry_;
}

namespace {

// ---- decoding ----

template <typename Entry>
Result<RuleSpec> Decode(Family family, const uint8_t* bytes, size_t size, const std::optional<std::string>& label,
                        const std::function<bool(const std::string&)>& is_chain) {
  auto bad = [](const char* what) { return KernelError{"decode", EINVAL, what, -1, ErrorKind::kMalformed}; };
  if (size < kEntrySize<Entry>) return bad("entry shorter than its header");
  Entry e;
  memcpy(&e, bytes, sizeof e);
  if (e.target_offset < kEntrySize<Entry> || e.next_offset > size || e.target_offset + kTargetHeader > e.next_offset)
    return bad("entry offsets out of bounds");

  RuleSpec rule;
  bool is_goto = false;
  if constexpr (std::is_same_v<Entry, struct ipt_entry>) {
    const auto& ip = e.ip;
    auto addr = [](const struct in_addr& a, const struct in_addr& m, bool inv) -> std::optional<Address> {
      if (m.s_addr == 0 && a.s_addr == 0 && !inv) return std::nullopt;
      Address out;
      memcpy(out.addr, &a, 4);
      memcpy(out.mask, &m, 4);
      out.invert = inv;
      return out;
    };
    rule.src = addr(ip.src, ip.smsk, ip.invflags & IPT_INV_SRCIP);
    rule.dst = addr(ip.dst, ip.dmsk, ip.invflags & IPT_INV_DSTIP);
    rule.in_interface = DecodeInterface(ip.iniface, ip.iniface_mask, ip.invflags & IPT_INV_VIA_IN);
    rule.out_interface = DecodeInterface(ip.outiface, ip.outiface_mask, ip.invflags & IPT_INV_VIA_OUT);
    rule.protocol = ip.proto;
    rule.inv_protocol = ip.invflags & XT_INV_PROTO;
    if (ip.flags & IPT_F_FRAG) rule.fragment = !(ip.invflags & IPT_INV_FRAG);
    is_goto = ip.flags & IPT_F_GOTO;
  } else {
    const auto& ip = e.ipv6;
    auto addr = [](const struct in6_addr& a, const struct in6_addr& m, bool inv) -> std::optional<Address> {
      static const struct in6_addr zero {};
      if (!inv && memcmp(&a, &zero, 16) == 0 && memcmp(&m, &zero, 16) == 0) return std::nullopt;
      Address out;
      memcpy(out.addr, &a, 16);
      memcpy(out.mask, &m, 16);
      out.invert = inv;
      return out;
    };
    rule.src = addr(ip.src, ip.smsk, ip.invflags & IP6T_INV_SRCIP);
    rule.dst = addr(ip.dst, ip.dmsk, ip.invflags & IP6T_INV_DSTIP);
    rule.in_interface = DecodeInterface(ip.iniface, ip.iniface_mask, ip.invflags & IP6T_INV_VIA_IN);
    rule.out_interface = DecodeInterface(ip.outiface, ip.outiface_mask, ip.invflags & IP6T_INV_VIA_OUT);
    rule.protocol = ip.proto;
    rule.inv_protocol = ip.invflags & IP6T_INV_PROTO;
    is_goto = ip.flags & IP6T_F_GOTO;
  }

  size_t at = kEntrySize<Entry>;
  while (at < e.target_offset) {
    if (at + kMatchHeader > e.target_offset) return bad("match header out of bounds");
    const auto* m = reinterpret_cast<const struct xt_entry_match*>(bytes + at);
    if (m->u.match_size < kMatchHeader || at + m->u.match_size > e.target_offset) return bad("match size out of bounds");
    std::string name(m->u.user.name, strnlen(m->u.user.name, sizeof m->u.user.name));
    rule.matches.push_back(xt::DecodeMatch(family, name, m->u.user.revision, m->data, m->u.match_size - kMatchHeader));
    at += m->u.match_size;
  }

  const auto* t = reinterpret_cast<const struct xt_entry_target*>(bytes + e.target_offset);
  size_t tsize = t->u.target_size;
  if (tsize < kTargetHeader || e.target_offset + tsize > e.next_offset) return bad("target size out of bounds");
  std::string tname(t->u.user.name, strnlen(t->u.user.name, sizeof t->u.user.name));
  const uint8_t* tdata = bytes + e.target_offset + kTargetHeader;
  const size_t tlen = tsize - kTargetHeader;
  if (tlen == xt::kStandardDataSize && (tname.empty() || xt::IsVerdictLabel(tname) || is_chain(tname))) {
    // A standard target. Read back from the kernel its name is empty and libiptc's label says
    // what it is; before libiptc maps it, the label is in the name itself.
    rule.target = xt::StandardTarget(!tname.empty() ? tname : label ? *label : xt::VerdictLabel(tdata), is_goto);
  } else {
    rule.target = xt::DecodeTarget(family, tname, t->u.user.revision, tdata, tlen);
  }
  return rule;
}

}  // namespace

Result<std::vector<uint8_t>> EncodeEntry(Family family, const RuleSpec& rule) {
  EntryEncoder encoder(family);
  auto entry = encoder.Encode(rule);
  if (!entry.ok()) return entry.error();
  return *entry.value();
}

Result<RuleSpec> DecodeEntry(Family family, const uint8_t* entry, size_t size, const std::optional<std::string>& label,
                             const std::function<bool(const std::string&)>& is_chain) {
  return family == Family::kIpv4 ? Decode<struct ipt_entry>(family, entry, size, label, is_chain)
                                 : Decode<struct ip6t_entry>(family, entry, size, label, is_chain);
}

}  // namespace connlimit::core::legacy
