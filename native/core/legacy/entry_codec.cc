// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/legacy/entry_codec.h"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_connlimit.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv4/ipt_REJECT.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <linux/netfilter_ipv6/ip6t_REJECT.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <type_traits>

namespace connlimit::core::legacy {
namespace {

// The two entry layouts differ only in their IP header part; everything after it is shared.
// ipt_entry: 112 bytes, ip6t_entry: 168 (NETFILTER-NOTES.md §2.1).
template <typename Entry>
constexpr size_t kEntrySize = XT_ALIGN(sizeof(Entry));

constexpr size_t kMatchHeader = XT_ALIGN(sizeof(struct xt_entry_match));    // 32
constexpr size_t kTargetHeader = XT_ALIGN(sizeof(struct xt_entry_target));  // 32
constexpr size_t kStandardTargetSize = XT_ALIGN(sizeof(struct xt_standard_target));  // 40

// Revisions the kernel registers (v6.x): tcp/udp/comment 0, connlimit 1 only (NOTES §1.5), REJECT 0.
constexpr uint8_t kConnlimitRevision = 1;

// --reject-with names as iptables-save 1.8.9 prints them (extensions/libipt_REJECT.c,
// libip6t_REJECT.c), by kernel enum value. ECHOREPLY is left out: the kernel refuses it.
struct RejectName {
  unsigned value;
  const char* name;
};
constexpr RejectName kIpv4Reject[] = {
    {IPT_ICMP_NET_UNREACHABLE, "icmp-net-unreachable"}, {IPT_ICMP_HOST_UNREACHABLE, "icmp-host-unreachable"},
    {IPT_ICMP_PROT_UNREACHABLE, "icmp-proto-unreachable"}, {IPT_ICMP_PORT_UNREACHABLE, "icmp-port-unreachable"},
    {IPT_ICMP_NET_PROHIBITED, "icmp-net-prohibited"}, {IPT_ICMP_HOST_PROHIBITED, "icmp-host-prohibited"},
    {IPT_TCP_RESET, "tcp-reset"}, {IPT_ICMP_ADMIN_PROHIBITED, "icmp-admin-prohibited"},
};
constexpr RejectName kIpv6Reject[] = {
    {IP6T_ICMP6_NO_ROUTE, "icmp6-no-route"}, {IP6T_ICMP6_ADM_PROHIBITED, "icmp6-adm-prohibited"},
    {IP6T_ICMP6_ADDR_UNREACH, "icmp6-addr-unreachable"}, {IP6T_ICMP6_PORT_UNREACH, "icmp6-port-unreachable"},
    {IP6T_TCP_RESET, "tcp-reset"}, {IP6T_ICMP6_POLICY_FAIL, "icmp6-policy-fail"},
    {IP6T_ICMP6_REJECT_ROUTE, "icmp6-reject-route"},
};

template <size_t N>
const char* RejectNameOf(const RejectName (&table)[N], unsigned value) {
  for (const auto& r : table)
    if (r.value == value) return r.name;
  return nullptr;
}
template <size_t N>
bool RejectValueOf(const RejectName (&table)[N], const std::string& name, unsigned* value) {
  for (const auto& r : table)
    if (name == r.name) {
      *value = r.value;
      return true;
    }
  return false;
}

// libiptc's IPTC_LABEL_* (libiptc.h): the names a standard target carries before it is mapped.
bool IsVerdictLabel(const std::string& s) { return s == "ACCEPT" || s == "DROP" || s == "RETURN" || s == "QUEUE"; }

KernelError EncodeError(const std::string& what) { return KernelError{"encode", EINVAL, what, -1}; }

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

// Mask bytes (4 or 16) -> prefix length, or -1 when they are not a prefix mask.
int PrefixLength(const uint8_t* mask, int bytes) {
  int bits = 0;
  int i = 0;
  for (; i < bytes && mask[i] == 0xFF; i++) bits += 8;
  if (i < bytes) {
    uint8_t b = mask[i];
    while (b & 0x80) {
      bits++;
      b = static_cast<uint8_t>(b << 1);
    }
    if (b != 0) return -1;
    for (i++; i < bytes; i++)
      if (mask[i] != 0) return -1;
  }
  return bits;
}

// XTTYPE_PLENMASK (libxtables/xtoptions.c): the prefix in v6_mask[], the rest zero.
void PrefixMask(int bits, uint8_t out[16]) {
  memset(out, 0, 16);
  for (int i = 0; i < 16 && bits > 0; i++, bits -= 8) out[i] = bits >= 8 ? 0xFF : static_cast<uint8_t>(0xFF << (8 - bits));
}

// Comment bytes that are not UTF-8 (or use overlong forms) would not survive a round trip
// through a JS string, so such comments stay opaque.
bool ValidUtf8(const std::string& s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t extra = c < 0x80 ? 0 : (c >= 0xC2 && c <= 0xDF) ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c >= 0xF0 && c <= 0xF4) ? 3 : 4;
    if (extra == 4 || extra > n - i - 1) return false;
    for (size_t k = 1; k <= extra; k++)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += extra + 1;
  }
  return true;
}

// Appends one extension (match or target): header with size, name, revision; then data.
void AppendExtension(std::vector<uint8_t>& out, const char* name, uint8_t revision, const void* data, size_t data_len) {
  size_t size = XT_ALIGN(kMatchHeader + data_len);
  size_t at = out.size();
  out.resize(at + size, 0);
  auto* header = reinterpret_cast<struct xt_entry_match*>(out.data() + at);
  header->u.user.match_size = static_cast<uint16_t>(size);
  strncpy(header->u.user.name, name, sizeof(header->u.user.name) - 1);
  header->u.user.revision = revision;
  if (data_len) memcpy(out.data() + at + kMatchHeader, data, data_len);
}

Result<Unit> AppendMatch(std::vector<uint8_t>& out, Family family, const Match& m) {
  if (const auto* tcp = std::get_if<TcpMatch>(&m)) {
    struct xt_tcp info {};
    info.spts[0] = tcp->sport.lo;
    info.spts[1] = tcp->sport.hi;
    info.dpts[0] = tcp->dport.lo;
    info.dpts[1] = tcp->dport.hi;
    info.option = tcp->option;
    info.flg_mask = tcp->flag_mask;
    info.flg_cmp = tcp->flag_compare;
    info.invflags = (tcp->inv_sport ? XT_TCP_INV_SRCPT : 0) | (tcp->inv_dport ? XT_TCP_INV_DSTPT : 0) |
                    (tcp->inv_flags ? XT_TCP_INV_FLAGS : 0) | (tcp->inv_option ? XT_TCP_INV_OPTION : 0);
    AppendExtension(out, "tcp", 0, &info, sizeof info);
  } else if (const auto* udp = std::get_if<UdpMatch>(&m)) {
    struct xt_udp info {};
    info.spts[0] = udp->sport.lo;
    info.spts[1] = udp->sport.hi;
    info.dpts[0] = udp->dport.lo;
    info.dpts[1] = udp->dport.hi;
    info.invflags = (udp->inv_sport ? XT_UDP_INV_SRCPT : 0) | (udp->inv_dport ? XT_UDP_INV_DSTPT : 0);
    AppendExtension(out, "udp", 0, &info, sizeof info);
  } else if (const auto* cl = std::get_if<ConnlimitMatch>(&m)) {
    struct xt_connlimit_info info {};
    int width = family == Family::kIpv4 ? 32 : 128;
    if (cl->mask_bits > width) return EncodeError("connlimit mask wider than the family");
    // connlimit_init() fills all 16 bytes with 0xFF; an explicit --connlimit-mask replaces them.
    if (cl->mask_bits < 0)
      memset(&info.mask, 0xFF, sizeof info.mask);
    else
      PrefixMask(cl->mask_bits, reinterpret_cast<uint8_t*>(&info.mask));
    info.limit = cl->limit;
    info.flags = (cl->invert ? XT_CONNLIMIT_INVERT : 0) | (cl->daddr ? XT_CONNLIMIT_DADDR : 0);
    AppendExtension(out, "connlimit", kConnlimitRevision, &info, sizeof info);
  } else if (const auto* c = std::get_if<CommentMatch>(&m)) {
    struct xt_comment_info info {};
    if (c->comment.size() >= XT_MAX_COMMENT_LEN || c->comment.find('\0') != std::string::npos)
      return EncodeError("comment over 255 bytes or with a NUL");
    memcpy(info.comment, c->comment.data(), c->comment.size());
    AppendExtension(out, "comment", 0, &info, sizeof info);
  } else {
    const auto& o = std::get<OpaqueExtension>(m);
    if (o.name.empty() || o.name.size() >= XT_EXTENSION_MAXNAMELEN) return EncodeError("extension name");
    if (kMatchHeader + o.data.size() > 0xFFFF - 8) return EncodeError("extension data too large");
    AppendExtension(out, o.name.c_str(), o.revision, o.data.data(), o.data.size());
  }
  return Unit{};
}

Result<Unit> AppendTarget(std::vector<uint8_t>& out, Family family, const Target& t, bool* is_goto) {
  *is_goto = false;
  switch (t.kind) {
    case Target::Kind::kNone:
    case Target::Kind::kVerdict:
    case Target::Kind::kJump:
    case Target::Kind::kGoto: {
      // A standard target: the label in the name, libiptc maps it to a verdict or jump.
      std::string label = t.kind == Target::Kind::kNone ? "" : t.name;
      if (label.size() >= XT_EXTENSION_MAXNAMELEN) return EncodeError("chain name too long");
      if (t.kind == Target::Kind::kVerdict && !IsVerdictLabel(label)) return EncodeError("unknown verdict");
      int verdict = 0;
      AppendExtension(out, label.c_str(), 0, &verdict, sizeof verdict);
      *is_goto = t.kind == Target::Kind::kGoto;
      return Unit{};
    }
    case Target::Kind::kReject: {
      unsigned value = 0;
      bool known = family == Family::kIpv4 ? RejectValueOf(kIpv4Reject, t.name, &value) : RejectValueOf(kIpv6Reject, t.name, &value);
      if (!known) return EncodeError("unknown --reject-with " + t.name);
      // ipt_reject_info and ip6t_reject_info are both one __u32.
      uint32_t with = value;
      AppendExtension(out, "REJECT", 0, &with, sizeof with);
      return Unit{};
    }
    case Target::Kind::kOpaque:
      if (t.opaque.name.empty() || t.opaque.name.size() >= XT_EXTENSION_MAXNAMELEN) return EncodeError("extension name");
      AppendExtension(out, t.opaque.name.c_str(), t.opaque.revision, t.opaque.data.data(), t.opaque.data.size());
      return Unit{};
  }
  return EncodeError("target kind");
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

template <typename Entry>
Result<std::vector<uint8_t>> Encode(Family family, const RuleSpec& rule) {
  std::vector<uint8_t> out(kEntrySize<Entry>, 0);
  for (const auto& m : rule.matches) {
    auto r = AppendMatch(out, family, m);
    if (!r.ok()) return r.error();
  }
  size_t target_offset = out.size();
  bool is_goto = false;
  auto r = AppendTarget(out, family, rule.target, &is_goto);
  if (!r.ok()) return r.error();
  if (out.size() > 0xFFFF) return EncodeError("rule too large");
  auto* e = reinterpret_cast<Entry*>(out.data());
  e->target_offset = static_cast<uint16_t>(target_offset);
  e->next_offset = static_cast<uint16_t>(out.size());
  Result<Unit> filled = [&]() {
    if constexpr (std::is_same_v<Entry, struct ipt_entry>)
      return FillIpv4(e, rule, is_goto);
    else
      return FillIpv6(e, rule, is_goto);
  }();
  if (!filled.ok()) return filled.error();
  return out;
}

// ---- decoding ----

// The kernel form of a standard target (what iptcc_standard_map writes): a negative verdict,
// or a positive offset (a jump or a fall-through, which only libiptc's handle can tell).
std::string VerdictLabel(const uint8_t* data) {
  int verdict;
  memcpy(&verdict, data, sizeof verdict);
  switch (verdict) {
    case -NF_ACCEPT - 1: return "ACCEPT";
    case -NF_DROP - 1: return "DROP";
    case -NF_QUEUE - 1: return "QUEUE";
    case XT_RETURN: return "RETURN";
    default: return "";
  }
}

template <typename T>
bool ReadData(const struct xt_entry_match* m, T* out) {
  if (m->u.match_size != XT_ALIGN(kMatchHeader + sizeof(T))) return false;
  memcpy(out, m->data, sizeof(T));
  return true;
}

OpaqueExtension Opaque(const char* name, uint8_t revision, const uint8_t* data, size_t len) {
  OpaqueExtension o;
  o.name.assign(name, strnlen(name, XT_EXTENSION_MAXNAMELEN));
  o.revision = revision;
  o.data.assign(data, data + len);
  return o;
}

Match DecodeMatch(Family family, const struct xt_entry_match* m) {
  std::string name(m->u.user.name, strnlen(m->u.user.name, sizeof m->u.user.name));
  uint8_t rev = m->u.user.revision;
  if (name == "tcp" && rev == 0) {
    struct xt_tcp info;
    if (ReadData(m, &info) && (info.invflags & ~XT_TCP_INV_MASK) == 0) {
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
  } else if (name == "udp" && rev == 0) {
    struct xt_udp info;
    if (ReadData(m, &info) && (info.invflags & ~XT_UDP_INV_MASK) == 0) {
      UdpMatch u;
      u.sport = {info.spts[0], info.spts[1]};
      u.dport = {info.dpts[0], info.dpts[1]};
      u.inv_sport = info.invflags & XT_UDP_INV_SRCPT;
      u.inv_dport = info.invflags & XT_UDP_INV_DSTPT;
      return u;
    }
  } else if (name == "connlimit" && rev == kConnlimitRevision) {
    struct xt_connlimit_info info;
    if (ReadData(m, &info) && (info.flags & ~(XT_CONNLIMIT_INVERT | XT_CONNLIMIT_DADDR)) == 0) {
      const auto* mask = reinterpret_cast<const uint8_t*>(&info.mask);
      int bits = -2;
      if (std::all_of(mask, mask + 16, [](uint8_t b) { return b == 0xFF; })) {
        bits = -1;  // the CLI's default spelling
      } else if (family == Family::kIpv4) {
        if (std::all_of(mask + 4, mask + 16, [](uint8_t b) { return b == 0; })) bits = PrefixLength(mask, 4);
      } else {
        bits = PrefixLength(mask, 16);
      }
      if (bits >= -1) {
        ConnlimitMatch c;
        c.limit = info.limit;
        c.invert = info.flags & XT_CONNLIMIT_INVERT;
        c.daddr = info.flags & XT_CONNLIMIT_DADDR;
        c.mask_bits = bits;
        return c;
      }
    }
  } else if (name == "comment" && rev == 0) {
    struct xt_comment_info info;
    if (ReadData(m, &info)) {
      std::string text(info.comment, strnlen(info.comment, sizeof info.comment));
      // Bytes that are not UTF-8 would not survive a round trip through a JS string.
      if (text.size() < sizeof info.comment && ValidUtf8(text)) return CommentMatch{text};
    }
  }
  return Opaque(m->u.user.name, rev, m->data, m->u.match_size - kMatchHeader);
}

template <typename Entry>
Result<RuleSpec> Decode(Family family, const uint8_t* bytes, size_t size, const std::optional<std::string>& label,
                        const std::function<bool(const std::string&)>& is_chain) {
  auto bad = [](const char* what) { return KernelError{"decode", EINVAL, what, -1}; };
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
    rule.matches.push_back(DecodeMatch(family, m));
    at += m->u.match_size;
  }

  const auto* t = reinterpret_cast<const struct xt_entry_target*>(bytes + e.target_offset);
  size_t tsize = t->u.target_size;
  if (tsize < kTargetHeader || e.target_offset + tsize > e.next_offset) return bad("target size out of bounds");
  std::string tname(t->u.user.name, strnlen(t->u.user.name, sizeof t->u.user.name));
  const uint8_t* tdata = bytes + e.target_offset + kTargetHeader;
  bool standard_sized = tsize == kStandardTargetSize;
  if (standard_sized && (tname.empty() || IsVerdictLabel(tname) || is_chain(tname))) {
    // A standard target. Read back from the kernel its name is empty and libiptc's label says
    // what it is; before libiptc maps it, the label is in the name itself.
    const std::string what = !tname.empty() ? tname : label ? *label : VerdictLabel(tdata);
    if (what.empty()) {
      rule.target.kind = Target::Kind::kNone;
    } else if (IsVerdictLabel(what)) {
      rule.target.kind = Target::Kind::kVerdict;
      rule.target.name = what;
    } else {
      rule.target.kind = is_goto ? Target::Kind::kGoto : Target::Kind::kJump;
      rule.target.name = what;
    }
  } else if (tname == "REJECT" && t->u.user.revision == 0 && tsize == XT_ALIGN(kTargetHeader + sizeof(uint32_t))) {
    uint32_t with;
    memcpy(&with, tdata, sizeof with);
    const char* name = family == Family::kIpv4 ? RejectNameOf(kIpv4Reject, with) : RejectNameOf(kIpv6Reject, with);
    if (name) {
      rule.target.kind = Target::Kind::kReject;
      rule.target.name = name;
    } else {
      rule.target.kind = Target::Kind::kOpaque;
      rule.target.opaque = Opaque(t->u.user.name, t->u.user.revision, tdata, tsize - kTargetHeader);
    }
  } else {
    rule.target.kind = Target::Kind::kOpaque;
    rule.target.opaque = Opaque(t->u.user.name, t->u.user.revision, tdata, tsize - kTargetHeader);
  }
  return rule;
}

// ---- comparison ----

bool SameAddress(Family f, const std::optional<Address>& a, const std::optional<Address>& b) {
  if (!a || !b) return !a && !b;
  int n = AddressBytes(f);
  return a->invert == b->invert && memcmp(a->addr, b->addr, n) == 0 && memcmp(a->mask, b->mask, n) == 0;
}

bool SameInterface(const std::optional<Interface>& a, const std::optional<Interface>& b) {
  if (!a || !b) return !a && !b;
  return a->name == b->name && a->wildcard == b->wildcard && a->invert == b->invert;
}

bool SameOpaque(const OpaqueExtension& a, const OpaqueExtension& b) {
  return a.name == b.name && a.revision == b.revision && a.data == b.data;
}

bool SameMatch(Family f, const Match& a, const Match& b) {
  if (a.index() != b.index()) return false;
  if (const auto* x = std::get_if<TcpMatch>(&a)) {
    const auto& y = std::get<TcpMatch>(b);
    return x->sport.lo == y.sport.lo && x->sport.hi == y.sport.hi && x->dport.lo == y.dport.lo &&
           x->dport.hi == y.dport.hi && x->option == y.option && x->flag_mask == y.flag_mask &&
           x->flag_compare == y.flag_compare && x->inv_sport == y.inv_sport && x->inv_dport == y.inv_dport &&
           x->inv_flags == y.inv_flags && x->inv_option == y.inv_option;
  }
  if (const auto* x = std::get_if<UdpMatch>(&a)) {
    const auto& y = std::get<UdpMatch>(b);
    return x->sport.lo == y.sport.lo && x->sport.hi == y.sport.hi && x->dport.lo == y.dport.lo &&
           x->dport.hi == y.dport.hi && x->inv_sport == y.inv_sport && x->inv_dport == y.inv_dport;
  }
  if (const auto* x = std::get_if<ConnlimitMatch>(&a)) {
    const auto& y = std::get<ConnlimitMatch>(b);
    // The default mask (all 0xFF) means a full-width prefix; the kernel uses only the first
    // 4 bytes for IPv4, so "no mask" and "/32" count exactly the same.
    int width = f == Family::kIpv4 ? 32 : 128;
    int xb = x->mask_bits < 0 ? width : x->mask_bits;
    int yb = y.mask_bits < 0 ? width : y.mask_bits;
    return x->limit == y.limit && x->invert == y.invert && x->daddr == y.daddr && xb == yb;
  }
  if (const auto* x = std::get_if<CommentMatch>(&a)) return x->comment == std::get<CommentMatch>(b).comment;
  return SameOpaque(std::get<OpaqueExtension>(a), std::get<OpaqueExtension>(b));
}

bool SameTarget(const Target& a, const Target& b) {
  if (a.kind != b.kind) return false;
  if (a.kind == Target::Kind::kOpaque) return SameOpaque(a.opaque, b.opaque);
  return a.name == b.name;
}

}  // namespace

Result<std::vector<uint8_t>> EncodeEntry(Family family, const RuleSpec& rule) {
  return family == Family::kIpv4 ? Encode<struct ipt_entry>(family, rule) : Encode<struct ip6t_entry>(family, rule);
}

Result<RuleSpec> DecodeEntry(Family family, const uint8_t* entry, size_t size, const std::optional<std::string>& label,
                             const std::function<bool(const std::string&)>& is_chain) {
  return family == Family::kIpv4 ? Decode<struct ipt_entry>(family, entry, size, label, is_chain)
                                 : Decode<struct ip6t_entry>(family, entry, size, label, is_chain);
}

bool SameRule(Family family, const RuleSpec& a, const RuleSpec& b) {
  if (a.protocol != b.protocol || a.inv_protocol != b.inv_protocol || a.fragment != b.fragment) return false;
  if (!SameAddress(family, a.src, b.src) || !SameAddress(family, a.dst, b.dst)) return false;
  if (!SameInterface(a.in_interface, b.in_interface) || !SameInterface(a.out_interface, b.out_interface)) return false;
  if (!SameTarget(a.target, b.target)) return false;
  if (a.matches.size() != b.matches.size()) return false;
  // Match order does not change what a rule matches: pair each match of a with an unused equal one of b.
  std::vector<bool> used(b.matches.size(), false);
  for (const auto& m : a.matches) {
    bool found = false;
    for (size_t i = 0; i < b.matches.size() && !found; i++) {
      if (!used[i] && SameMatch(family, m, b.matches[i])) used[i] = found = true;
    }
    if (!found) return false;
  }
  return true;
}

namespace {
// Splits one extension AppendExtension wrote (header + padded data) into an XtBlob.
XtBlob SplitExtension(const std::vector<uint8_t>& ext) {
  const auto* h = reinterpret_cast<const struct xt_entry_match*>(ext.data());
  XtBlob b;
  b.name.assign(h->u.user.name, strnlen(h->u.user.name, sizeof h->u.user.name));
  b.revision = h->u.user.revision;
  b.data.assign(ext.begin() + kMatchHeader, ext.begin() + h->u.match_size);
  return b;
}

// Rebuilds header + data so the entry decoders can read it.
std::vector<uint8_t> JoinExtension(const std::string& name, uint8_t revision, const uint8_t* data, size_t len) {
  std::vector<uint8_t> out;
  AppendExtension(out, name.substr(0, XT_EXTENSION_MAXNAMELEN - 1).c_str(), revision, data, len);
  return out;
}
}  // namespace

Result<XtBlob> EncodeMatchBlob(Family family, const Match& match) {
  std::vector<uint8_t> ext;
  auto r = AppendMatch(ext, family, match);
  if (!r.ok()) return r.error();
  return SplitExtension(ext);
}

Result<XtBlob> EncodeTargetBlob(Family family, const Target& target) {
  if (target.kind != Target::Kind::kReject && target.kind != Target::Kind::kOpaque) return EncodeError("not an extension target");
  std::vector<uint8_t> ext;
  bool is_goto = false;
  auto r = AppendTarget(ext, family, target, &is_goto);
  if (!r.ok()) return r.error();
  return SplitExtension(ext);
}

Match DecodeMatchBlob(Family family, const std::string& name, uint8_t revision, const uint8_t* data, size_t len) {
  auto ext = JoinExtension(name, revision, data, len);
  if (XT_ALIGN(kMatchHeader + len) != kMatchHeader + len) return Opaque(name.c_str(), revision, data, len);
  return DecodeMatch(family, reinterpret_cast<const struct xt_entry_match*>(ext.data()));
}

Target DecodeTargetBlob(Family family, const std::string& name, uint8_t revision, const uint8_t* data, size_t len) {
  Target t;
  if (name == "REJECT" && revision == 0 && len == XT_ALIGN(kTargetHeader + sizeof(uint32_t)) - kTargetHeader) {
    uint32_t with;
    memcpy(&with, data, sizeof with);
    const char* n = family == Family::kIpv4 ? RejectNameOf(kIpv4Reject, with) : RejectNameOf(kIpv6Reject, with);
    if (n) {
      t.kind = Target::Kind::kReject;
      t.name = n;
      return t;
    }
  }
  t.kind = Target::Kind::kOpaque;
  t.opaque = Opaque(name.c_str(), revision, data, len);
  return t;
}

}  // namespace connlimit::core::legacy
