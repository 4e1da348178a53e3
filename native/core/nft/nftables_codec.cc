// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/nftables_codec.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "core/nft/expr_reader.h"

namespace connlimit::core::nft {
namespace {

// nft 1.0.6 loads everything into the first 32-bit register.
constexpr uint32_t kReg = NFT_REG_1;
// Offsets in struct iphdr / struct ip6_hdr / struct tcphdr.
constexpr uint32_t kIpv4Protocol = 9, kIpv4Saddr = 12, kIpv4Daddr = 16;
constexpr uint32_t kIpv6Saddr = 8, kIpv6Daddr = 24;
constexpr uint32_t kTcpFlagsOffset = 13;
// nft's datatype ids (src/datatype.h TYPE_IPADDR, TYPE_IP6ADDR) and BYTEORDER_BIG_ENDIAN,
// which it keeps in the set's userdata.
constexpr uint32_t kTypeIpAddr = 7, kTypeIp6Addr = 8;
constexpr uint32_t kByteorderBigEndian = 2;

KernelError EncodeError(const std::string& what) { return KernelError{"encode", EINVAL, what, -1}; }

using RulePtr = std::unique_ptr<struct nftnl_rule, void (*)(const struct nftnl_rule*)>;
using UdataPtr = std::unique_ptr<struct nftnl_udata_buf, void (*)(const struct nftnl_udata_buf*)>;

// The REJECT types iptables names, as the ICMP / ICMPv6 codes nft's `reject with icmp[v6]
// type ...` sends (NFT_REJECT_ICMP_UNREACH); tcp-reset is NFT_REJECT_TCP_RST.
struct RejectCode {
  const char* name;
  uint8_t code;
};
constexpr RejectCode kReject4[] = {{"icmp-net-unreachable", 0},  {"icmp-host-unreachable", 1}, {"icmp-proto-unreachable", 2},
                                   {"icmp-port-unreachable", 3}, {"icmp-net-prohibited", 9},   {"icmp-host-prohibited", 10},
                                   {"icmp-admin-prohibited", 13}};
constexpr RejectCode kReject6[] = {{"icmp6-no-route", 0},         {"icmp6-adm-prohibited", 1}, {"icmp6-addr-unreachable", 3},
                                   {"icmp6-port-unreachable", 4}, {"icmp6-policy-fail", 5},    {"icmp6-reject-route", 6}};
constexpr const char kTcpReset[] = "tcp-reset";

template <typename F>
const RejectCode* FindReject(Family family, F pred) {
  const RejectCode* begin = family == Family::kIpv4 ? kReject4 : kReject6;
  size_t n = family == Family::kIpv4 ? std::size(kReject4) : std::size(kReject6);
  for (size_t i = 0; i < n; i++)
    if (pred(begin[i])) return &begin[i];
  return nullptr;
}

// ---- encoding: one helper per expression, attributes set as nft's netlink_linearize.c does ----

struct nftnl_expr* AddExpr(struct nftnl_rule* r, const char* name) {
  struct nftnl_expr* e = nftnl_expr_alloc(name);
  nftnl_rule_add_expr(r, e);
  return e;
}

void AddMeta(struct nftnl_rule* r, uint32_t key) {
  auto* e = AddExpr(r, "meta");
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, kReg);
}

void AddPayload(struct nftnl_rule* r, uint32_t base, uint32_t offset, uint32_t len) {
  auto* e = AddExpr(r, "payload");
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, kReg);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
}

// nft sets the bitwise operation for a binary `&` (netlink_gen_bitwise) but not for the mask
// of an address prefix (netlink_gen_prefix): the bytes differ, so callers say which.
void AddBitwise(struct nftnl_rule* r, const uint8_t* mask, uint32_t len, bool with_op) {
  static const uint8_t kZero[16] = {};
  auto* e = AddExpr(r, "bitwise");
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, kReg);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, kReg);
  if (with_op) nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_OP, NFT_BITWISE_BOOL);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
  nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
  nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, kZero, len);
}

void AddCmp(struct nftnl_rule* r, uint32_t op, const void* data, uint32_t len) {
  auto* e = AddExpr(r, "cmp");
  nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, kReg);
  nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
  nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
}

uint32_t CmpOp(bool invert) { return invert ? NFT_CMP_NEQ : NFT_CMP_EQ; }

// The prefix length of a contiguous mask, or -1.
int PrefixOf(const uint8_t* mask, int bytes) {
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

void PrefixMask(int bits, int bytes, uint8_t* out) {
  for (int i = 0; i < bytes; i++) {
    int b = bits - 8 * i;
    out[i] = b >= 8 ? 0xFF : b <= 0 ? 0 : static_cast<uint8_t>(0xFF << (8 - b));
  }
}

// `iifname "eth0"` compares the whole IFNAMSIZ buffer; `iifname "eth*"` the prefix only.
Result<Unit> AddInterface(struct nftnl_rule* r, uint32_t key, const Interface& iface) {
  if (iface.wildcard && iface.name.empty()) {
    if (iface.invert) return EncodeError("'! -i +' matches no interface");
    return Unit{};  // `-i +`: any interface, nothing to say
  }
  if (iface.name.size() >= IFNAMSIZ) return EncodeError("interface name too long");
  AddMeta(r, key);
  if (iface.wildcard) {
    AddCmp(r, CmpOp(iface.invert), iface.name.data(), static_cast<uint32_t>(iface.name.size()));
  } else {
    char name[IFNAMSIZ] = {};
    memcpy(name, iface.name.data(), iface.name.size());
    AddCmp(r, CmpOp(iface.invert), name, IFNAMSIZ);
  }
  return Unit{};
}

bool HasAddress(const std::optional<Address>& a, int bytes) {
  if (!a) return false;
  if (a->invert) return true;
  for (int i = 0; i < bytes; i++)
    if (a->addr[i] || a->mask[i]) return true;
  return false;
}

// `ip saddr 10.0.0.0/16` loads the prefix's bytes; a prefix off a byte boundary loads the
// whole address and masks it; any other mask is `ip saddr & MASK == ADDR`.
Result<Unit> AddAddress(struct nftnl_rule* r, uint32_t offset, const Address& a, int bytes) {
  int prefix = PrefixOf(a.mask, bytes);
  if (prefix == 0) {
    if (a.invert) return EncodeError("'! -s 0/0' matches no address");
    return Unit{};
  }
  if (prefix > 0 && prefix % 8 == 0) {
    AddPayload(r, NFT_PAYLOAD_NETWORK_HEADER, offset, prefix / 8);
    AddCmp(r, CmpOp(a.invert), a.addr, prefix / 8);
    return Unit{};
  }
  AddPayload(r, NFT_PAYLOAD_NETWORK_HEADER, offset, bytes);
  AddBitwise(r, a.mask, bytes, prefix < 0);
  AddCmp(r, CmpOp(a.invert), a.addr, bytes);
  return Unit{};
}

// `tcp dport 22`, `tcp dport != 22`, `tcp dport 1000-2000` (two cmps), `tcp dport != 1000-2000` (a range).
void AddPort(struct nftnl_rule* r, uint32_t offset, const PortRange& p, bool invert) {
  AddPayload(r, NFT_PAYLOAD_TRANSPORT_HEADER, offset, 2);
  uint16_t lo = htons(p.lo), hi = htons(p.hi);
  if (p.lo == p.hi) {
    AddCmp(r, CmpOp(invert), &lo, 2);
  } else if (invert) {
    auto* e = AddExpr(r, "range");
    nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_SREG, kReg);
    nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_OP, NFT_RANGE_NEQ);
    nftnl_expr_set(e, NFTNL_EXPR_RANGE_FROM_DATA, &lo, 2);
    nftnl_expr_set(e, NFTNL_EXPR_RANGE_TO_DATA, &hi, 2);
  } else {
    AddCmp(r, NFT_CMP_GTE, &lo, 2);
    AddCmp(r, NFT_CMP_LTE, &hi, 2);
  }
}

bool IsAny(const PortRange& p, bool invert) { return p.lo == 0 && p.hi == 0xFFFF && !invert; }

bool SaysSomething(const Match& m) {
  if (const auto* t = std::get_if<TcpMatch>(&m)) return !IsAny(t->sport, t->inv_sport) || !IsAny(t->dport, t->inv_dport) || t->flag_mask;
  if (const auto* u = std::get_if<UdpMatch>(&m)) return !IsAny(u->sport, u->inv_sport) || !IsAny(u->dport, u->inv_dport);
  return false;
}

// What the rule's expressions say, in the order iptables-translate writes them (interfaces,
// protocol, addresses, the matches in order, counter, verdict; the comment goes to userdata).
class RuleWriter {
 public:
  RuleWriter(struct nftnl_rule* r, Family family, const std::string& set_name, uint32_t set_id)
      : r_(r), family_(family), bytes_(AddressBytes(family)), set_name_(set_name), set_id_(set_id) {}

  Result<Unit> Write(const RuleSpec& rule) {
    if (rule.fragment) return EncodeError("-f is not available in the native nftables form");
    if (rule.in_interface) {
      auto r = AddInterface(r_, NFT_META_IIFNAME, *rule.in_interface);
      if (!r.ok()) return r;
    }
    if (rule.out_interface) {
      auto r = AddInterface(r_, NFT_META_OIFNAME, *rule.out_interface);
      if (!r.ok()) return r;
    }
    bool transport = false;
    for (const auto& m : rule.matches) transport = transport || SaysSomething(m);
    protocol_ = rule.protocol;
    if (rule.protocol != 0 && !transport) {
      // `ip protocol tcp` / `meta l4proto tcp`: said only when no port or flag says it (nft
      // then adds `meta l4proto` itself, before the first transport header load).
      if (family_ == Family::kIpv4)
        AddPayload(r_, NFT_PAYLOAD_NETWORK_HEADER, kIpv4Protocol, 1);
      else
        AddMeta(r_, NFT_META_L4PROTO);
      uint8_t p = static_cast<uint8_t>(rule.protocol);
      AddCmp(r_, CmpOp(rule.inv_protocol), &p, 1);
    } else if (transport && (rule.inv_protocol || (rule.protocol != IPPROTO_TCP && rule.protocol != IPPROTO_UDP))) {
      return EncodeError("ports and TCP flags need -p tcp or -p udp");
    }
    if (HasAddress(rule.src, bytes_)) {
      auto r = AddAddress(r_, family_ == Family::kIpv4 ? kIpv4Saddr : kIpv6Saddr, *rule.src, bytes_);
      if (!r.ok()) return r;
    }
    if (HasAddress(rule.dst, bytes_)) {
      auto r = AddAddress(r_, family_ == Family::kIpv4 ? kIpv4Daddr : kIpv6Daddr, *rule.dst, bytes_);
      if (!r.ok()) return r;
    }
    const CommentMatch* comment = nullptr;
    bool connlimit = false;
    for (const auto& m : rule.matches) {
      if (const auto* t = std::get_if<TcpMatch>(&m)) {
        if (t->option || t->inv_option) return EncodeError("--tcp-option is not available in the native nftables form");
        Ports(t->sport, t->inv_sport, t->dport, t->inv_dport);
        if (t->flag_mask) {
          Dependency();
          AddPayload(r_, NFT_PAYLOAD_TRANSPORT_HEADER, kTcpFlagsOffset, 1);
          AddBitwise(r_, &t->flag_mask, 1, true);
          AddCmp(r_, CmpOp(t->inv_flags), &t->flag_compare, 1);
        }
      } else if (const auto* u = std::get_if<UdpMatch>(&m)) {
        Ports(u->sport, u->inv_sport, u->dport, u->inv_dport);
      } else if (const auto* c = std::get_if<ConnlimitMatch>(&m)) {
        if (connlimit) return EncodeError("one connlimit match per rule in the native nftables form");
        connlimit = true;
        Connlimit(*c);
      } else if (const auto* k = std::get_if<CommentMatch>(&m)) {
        if (comment) return EncodeError("one comment per rule in the native nftables form");
        comment = k;
      } else {
        return EncodeError("match " + std::get<OpaqueExtension>(m).name + " is not available in the native nftables form");
      }
    }
    AddExpr(r_, "counter");
    if (comment) comment_ = comment->comment;
    return Target(rule.target);
  }

  // The comment, for the rule's userdata (empty: none).
  const std::string& comment() const { return comment_; }

 private:
  // nft's implicit `meta l4proto tcp` before the first transport header load of the rule.
  void Dependency() {
    if (dependency_done_) return;
    dependency_done_ = true;
    AddMeta(r_, NFT_META_L4PROTO);
    uint8_t p = static_cast<uint8_t>(protocol_);
    AddCmp(r_, NFT_CMP_EQ, &p, 1);
  }

  // nft merges `tcp sport 3 tcp dport 4` into one 4-byte load (payload_try_merge). It merges
  // `sport != 3 dport != 4` the same way, which then matches when either port differs; we keep
  // negated ports apart, so the rule means what iptables means (both differ).
  void Ports(const PortRange& s, bool inv_s, const PortRange& d, bool inv_d) {
    if (s.lo == s.hi && d.lo == d.hi && !inv_s && !inv_d) {
      Dependency();
      uint16_t both[2] = {htons(s.lo), htons(d.lo)};
      AddPayload(r_, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 4);
      AddCmp(r_, NFT_CMP_EQ, both, sizeof both);
      return;
    }
    if (!IsAny(s, inv_s)) {
      Dependency();
      AddPort(r_, 0, s, inv_s);
    }
    if (!IsAny(d, inv_d)) {
      Dependency();
      AddPort(r_, 2, d, inv_d);
    }
  }

  // `add @set { ip saddr [and MASK] ct count [over] N }`.
  void Connlimit(const ConnlimitMatch& c) {
    uint32_t off = c.daddr ? (family_ == Family::kIpv4 ? kIpv4Daddr : kIpv6Daddr) : (family_ == Family::kIpv4 ? kIpv4Saddr : kIpv6Saddr);
    AddPayload(r_, NFT_PAYLOAD_NETWORK_HEADER, off, bytes_);
    if (c.mask_bits >= 0 && c.mask_bits < bytes_ * 8) {
      uint8_t mask[16];
      PrefixMask(c.mask_bits, bytes_, mask);
      AddBitwise(r_, mask, bytes_, true);
    }
    auto* limit = nftnl_expr_alloc("connlimit");
    nftnl_expr_set_u32(limit, NFTNL_EXPR_CONNLIMIT_COUNT, c.limit);
    // --connlimit-above N is `ct count over N` (NFT_CONNLIMIT_F_INV); --connlimit-upto is `ct count N`.
    nftnl_expr_set_u32(limit, NFTNL_EXPR_CONNLIMIT_FLAGS, c.invert ? 0 : NFT_CONNLIMIT_F_INV);
    auto* e = AddExpr(r_, "dynset");
    nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, kReg);
    nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_ADD);
    nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, set_name_.c_str());
    nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SET_ID, set_id_);
    nftnl_expr_set(e, NFTNL_EXPR_DYNSET_EXPR, limit, 0);
  }

  Result<Unit> Target(const connlimit::core::Target& t) {
    using K = connlimit::core::Target::Kind;
    if (t.kind == K::kVerdict && t.name == "DROP") {
      auto* e = AddExpr(r_, "immediate");
      nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
      nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_DROP);
      return Unit{};
    }
    if (t.kind == K::kReject) {
      auto* e = AddExpr(r_, "reject");
      if (t.name == kTcpReset) {
        nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_TCP_RST);
        nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, 0);
        return Unit{};
      }
      const RejectCode* rc = FindReject(family_, [&](const RejectCode& c) { return t.name == c.name; });
      if (!rc) return EncodeError("REJECT --reject-with " + t.name);
      nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_ICMP_UNREACH);
      nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, rc->code);
      return Unit{};
    }
    return EncodeError("the native nftables form takes DROP or REJECT rules only");
  }

  struct nftnl_rule* r_;
  Family family_;
  int bytes_;
  const std::string& set_name_;
  uint32_t set_id_;
  uint16_t protocol_ = 0;
  bool dependency_done_ = false;
  std::string comment_;
};

// ---- decoding: what the writer above writes; anything else stays opaque ----

class RuleReader {
 public:
  RuleReader(Family family, const std::vector<Expr>& ex, DecodedNftablesRule* out)
      : family_(family), bytes_(AddressBytes(family)), ex_(ex), out_(out) {}

  void Run() {
    size_t i = 0;
    while (i < ex_.size()) {
      size_t used = Step(i);
      if (used == 0) {
        out_->rule.matches.push_back(OpaqueExpr(ex_[i]));
        used = 1;
      }
      i += used;
    }
  }

 private:
  const Expr* At(size_t i) const { return i < ex_.size() ? &ex_[i] : nullptr; }
  static bool Is(const Expr* e, const char* name) { return e && e->name == name; }

  static bool CmpEqNeq(const Expr* k, bool* invert, std::vector<uint8_t>* data) {
    if (!Is(k, "cmp")) return false;
    uint32_t op = Be32(k->a[NFTA_CMP_OP]);
    if (op != NFT_CMP_EQ && op != NFT_CMP_NEQ) return false;
    *invert = op == NFT_CMP_NEQ;
    *data = Value(k->a[NFTA_CMP_DATA]);
    return true;
  }

  size_t Step(size_t i) {
    const Expr& e = ex_[i];
    RuleSpec& rule = out_->rule;
    if (e.name == "meta" && e.a[NFTA_META_DREG] && !e.a[NFTA_META_SREG]) {
      uint32_t key = Be32(e.a[NFTA_META_KEY]);
      bool invert = false;
      std::vector<uint8_t> v;
      if (!CmpEqNeq(At(i + 1), &invert, &v) || v.empty()) return 0;
      if (key == NFT_META_IIFNAME || key == NFT_META_OIFNAME) {
        if (v.size() > IFNAMSIZ) return 0;
        Interface iface;
        iface.invert = invert;
        if (v.size() == IFNAMSIZ && memchr(v.data(), 0, v.size())) {
          iface.name.assign(reinterpret_cast<const char*>(v.data()), strnlen(reinterpret_cast<const char*>(v.data()), v.size()));
        } else {
          if (memchr(v.data(), 0, v.size())) return 0;
          iface.name.assign(v.begin(), v.end());
          iface.wildcard = true;
        }
        (key == NFT_META_IIFNAME ? rule.in_interface : rule.out_interface) = iface;
        return 2;
      }
      if (key == NFT_META_L4PROTO && v.size() == 1) return Protocol(v[0], invert) ? 2 : 0;
      return 0;
    }
    if (e.name == "payload" && e.a[NFTA_PAYLOAD_DREG] && !e.a[NFTA_PAYLOAD_SREG]) {
      uint32_t base = Be32(e.a[NFTA_PAYLOAD_BASE]), off = Be32(e.a[NFTA_PAYLOAD_OFFSET]), len = Be32(e.a[NFTA_PAYLOAD_LEN]);
      size_t j = i + 1;
      std::vector<uint8_t> mask;
      if (Is(At(j), "bitwise")) {
        const Expr& b = *At(j);
        if (b.a[NFTA_BITWISE_OP] && Be32(b.a[NFTA_BITWISE_OP]) != NFT_BITWISE_BOOL) return 0;
        for (uint8_t c : Value(b.a[NFTA_BITWISE_XOR]))
          if (c) return 0;
        mask = Value(b.a[NFTA_BITWISE_MASK]);
        if (mask.size() != len) return 0;
        j++;
      }
      const Expr* k = At(j);
      if (!k) return 0;
      if (base == NFT_PAYLOAD_NETWORK_HEADER) {
        if (Is(k, "dynset")) return Connlimit(off, len, mask, *k) ? j - i + 1 : 0;
        return Network(off, len, mask, k) ? j - i + 1 : 0;
      }
      if (base == NFT_PAYLOAD_TRANSPORT_HEADER) {
        size_t used = Transport(off, len, mask, j);
        return used ? j - i + used : 0;
      }
      return 0;
    }
    if (e.name == "counter") {
      out_->packets = Be64(e.a[NFTA_COUNTER_PACKETS]);
      out_->bytes = Be64(e.a[NFTA_COUNTER_BYTES]);
      return 1;
    }
    if (e.name == "immediate" && Be32(e.a[NFTA_IMMEDIATE_DREG]) == NFT_REG_VERDICT && e.a[NFTA_IMMEDIATE_DATA]) {
      auto data = ParseNested(e.a[NFTA_IMMEDIATE_DATA]);
      if (!data[NFTA_DATA_VERDICT]) return 0;
      auto v = ParseNested(data[NFTA_DATA_VERDICT]);
      auto code = static_cast<int32_t>(Be32(v[NFTA_VERDICT_CODE]));
      connlimit::core::Target t;
      t.kind = connlimit::core::Target::Kind::kVerdict;
      switch (code) {
        case NF_ACCEPT: t.name = "ACCEPT"; break;
        case NF_DROP: t.name = "DROP"; break;
        case NFT_RETURN: t.name = "RETURN"; break;
        default: return 0;
      }
      rule.target = t;
      return 1;
    }
    if (e.name == "reject") {
      uint32_t type = Be32(e.a[NFTA_REJECT_TYPE]);
      // The kernel dumps the code only for ICMP types (nft_reject_dump); nft sends 0 for a reset.
      const auto* code_attr = e.a[NFTA_REJECT_ICMP_CODE];
      if (code_attr && mnl_attr_get_payload_len(code_attr) != 1) return 0;
      uint8_t code = code_attr ? mnl_attr_get_u8(code_attr) : 0;
      connlimit::core::Target t;
      t.kind = connlimit::core::Target::Kind::kReject;
      if (type == NFT_REJECT_TCP_RST && code == 0) {
        t.name = kTcpReset;
      } else if (type == NFT_REJECT_ICMP_UNREACH) {
        const RejectCode* rc = FindReject(family_, [&](const RejectCode& c) { return c.code == code; });
        if (!rc) return 0;
        t.name = rc->name;
      } else {
        return 0;
      }
      rule.target = t;
      return 1;
    }
    return 0;
  }

  bool Protocol(uint8_t p, bool invert) {
    RuleSpec& rule = out_->rule;
    if (rule.protocol != 0 && (rule.protocol != p || rule.inv_protocol != invert)) return false;
    rule.protocol = p;
    rule.inv_protocol = invert;
    return true;
  }

  bool Network(uint32_t off, uint32_t len, const std::vector<uint8_t>& mask, const Expr* k) {
    bool invert = false;
    std::vector<uint8_t> data;
    if (!CmpEqNeq(k, &invert, &data) || data.size() != len) return false;
    if (family_ == Family::kIpv4 && off == kIpv4Protocol && len == 1 && mask.empty()) return Protocol(data[0], invert);
    uint32_t src = family_ == Family::kIpv4 ? kIpv4Saddr : kIpv6Saddr;
    uint32_t dst = family_ == Family::kIpv4 ? kIpv4Daddr : kIpv6Daddr;
    if ((off != src && off != dst) || len == 0 || len > static_cast<uint32_t>(bytes_)) return false;
    if (!mask.empty() && len != static_cast<uint32_t>(bytes_)) return false;
    Address a;
    memcpy(a.addr, data.data(), len);
    if (mask.empty())
      memset(a.mask, 0xFF, len);
    else
      memcpy(a.mask, mask.data(), len);
    a.invert = invert;
    (off == src ? out_->rule.src : out_->rule.dst) = a;
    return true;
  }

  bool Connlimit(uint32_t off, uint32_t len, const std::vector<uint8_t>& mask, const Expr& d) {
    uint32_t src = family_ == Family::kIpv4 ? kIpv4Saddr : kIpv6Saddr;
    uint32_t dst = family_ == Family::kIpv4 ? kIpv4Daddr : kIpv6Daddr;
    if ((off != src && off != dst) || len != static_cast<uint32_t>(bytes_)) return false;
    if (Be32(d.a[NFTA_DYNSET_OP]) != NFT_DYNSET_OP_ADD || Be32(d.a[NFTA_DYNSET_SREG_KEY]) != kReg) return false;
    // The kernel dumps a zero timeout and flags (nft_dynset_dump), and the element expressions
    // as a list (NFTA_DYNSET_EXPRESSIONS) where nft sent the single NFTA_DYNSET_EXPR.
    if (d.a[NFTA_DYNSET_SREG_DATA] || Be64(d.a[NFTA_DYNSET_TIMEOUT]) || Be32(d.a[NFTA_DYNSET_FLAGS])) return false;
    const struct nlattr* one = d.a[NFTA_DYNSET_EXPR];
    if (!one && d.a[NFTA_DYNSET_EXPRESSIONS]) {
      auto list = ParseNested(d.a[NFTA_DYNSET_EXPRESSIONS]);
      if (list[NFTA_LIST_ELEM] && mnl_attr_get_payload_len(d.a[NFTA_DYNSET_EXPRESSIONS]) == list[NFTA_LIST_ELEM]->nla_len) one = list[NFTA_LIST_ELEM];
    }
    if (!one) return false;
    auto expr = ParseNested(one);
    if (Str(expr[NFTA_EXPR_NAME]) != "connlimit" || !expr[NFTA_EXPR_DATA]) return false;
    auto limit = ParseNested(expr[NFTA_EXPR_DATA]);
    uint32_t flags = Be32(limit[NFTA_CONNLIMIT_FLAGS]);
    if (flags & ~static_cast<uint32_t>(NFT_CONNLIMIT_F_INV)) return false;
    ConnlimitMatch c;
    c.limit = Be32(limit[NFTA_CONNLIMIT_COUNT]);
    c.invert = !(flags & NFT_CONNLIMIT_F_INV);
    c.daddr = off == dst;
    if (!mask.empty()) {
      c.mask_bits = PrefixOf(mask.data(), bytes_);
      if (c.mask_bits < 0) return false;
    }
    out_->rule.matches.push_back(c);
    out_->set_name = Str(d.a[NFTA_DYNSET_SET_NAME]);
    return true;
  }

  // The tcp or udp match the transport expressions fill, made at the first one.
  template <typename M>
  M* L4Match() {
    if (l4_index_ < 0) {
      out_->rule.matches.push_back(M{});
      l4_index_ = static_cast<int>(out_->rule.matches.size()) - 1;
    }
    return std::get_if<M>(&out_->rule.matches[l4_index_]);
  }

  // How many expressions from `j` (after the load and its mask) make one port or flags test.
  size_t Transport(uint32_t off, uint32_t len, const std::vector<uint8_t>& mask, size_t j) {
    const RuleSpec& rule = out_->rule;
    if (rule.inv_protocol) return 0;
    if (rule.protocol == IPPROTO_TCP && off == kTcpFlagsOffset && len == 1) {
      bool invert = false;
      std::vector<uint8_t> d;
      if (mask.size() != 1 || !CmpEqNeq(At(j), &invert, &d) || d.size() != 1) return 0;
      auto* m = L4Match<TcpMatch>();
      if (!m || m->flag_mask) return 0;
      m->flag_mask = mask[0];
      m->flag_compare = d[0];
      m->inv_flags = invert;
      return 1;
    }
    auto be16 = [](const std::vector<uint8_t>& d, size_t at = 0) { return static_cast<uint16_t>(d[at] << 8 | d[at + 1]); };
    if (off == 0 && len == 4 && mask.empty()) {  // sport and dport, both exact, in one load
      bool invert = false;
      std::vector<uint8_t> d;
      if (!CmpEqNeq(At(j), &invert, &d) || invert || d.size() != 4) return 0;
      PortRange s{be16(d), be16(d)}, t{be16(d, 2), be16(d, 2)};
      auto set = [&](auto* m) {
        if (!m) return false;
        m->sport = s;
        m->dport = t;
        return true;
      };
      bool ok = rule.protocol == IPPROTO_TCP ? set(L4Match<TcpMatch>()) : rule.protocol == IPPROTO_UDP && set(L4Match<UdpMatch>());
      return ok ? 1 : 0;
    }
    if ((off != 0 && off != 2) || len != 2 || !mask.empty()) return 0;
    PortRange p;
    bool invert = false;
    size_t used = 0;
    const Expr* k = At(j);
    if (Is(k, "cmp")) {
      auto d = Value(k->a[NFTA_CMP_DATA]);
      if (d.size() != 2) return 0;
      uint32_t op = Be32(k->a[NFTA_CMP_OP]);
      if (op == NFT_CMP_EQ || op == NFT_CMP_NEQ) {
        p = {be16(d), be16(d)};
        invert = op == NFT_CMP_NEQ;
        used = 1;
      } else if (op == NFT_CMP_GTE) {
        const Expr* k2 = At(j + 1);
        if (!Is(k2, "cmp") || Be32(k2->a[NFTA_CMP_OP]) != NFT_CMP_LTE) return 0;
        auto d2 = Value(k2->a[NFTA_CMP_DATA]);
        if (d2.size() != 2) return 0;
        p = {be16(d), be16(d2)};
        used = 2;
      } else {
        return 0;
      }
    } else if (Is(k, "range") && Be32(k->a[NFTA_RANGE_OP]) == NFT_RANGE_NEQ) {
      auto from = Value(k->a[NFTA_RANGE_FROM_DATA]), to = Value(k->a[NFTA_RANGE_TO_DATA]);
      if (from.size() != 2 || to.size() != 2) return 0;
      p = {be16(from), be16(to)};
      invert = true;
      used = 1;
    } else {
      return 0;
    }
    auto set = [&](auto* m) {
      if (!m) return false;
      (off == 0 ? m->sport : m->dport) = p;
      (off == 0 ? m->inv_sport : m->inv_dport) = invert;
      return true;
    };
    bool ok = rule.protocol == IPPROTO_TCP ? set(L4Match<TcpMatch>()) : rule.protocol == IPPROTO_UDP && set(L4Match<UdpMatch>());
    return ok ? used : 0;
  }

  Family family_;
  int bytes_;
  const std::vector<Expr>& ex_;
  DecodedNftablesRule* out_;
  int l4_index_ = -1;
};

// NFTNL_UDATA_RULE_COMMENT from the rule's userdata, if any.
std::optional<std::string> CommentOf(const struct nlattr* userdata) {
  if (!userdata) return std::nullopt;
  const auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(userdata));
  size_t n = mnl_attr_get_payload_len(userdata);
  for (size_t at = 0; at + 2 <= n;) {
    uint8_t type = p[at], len = p[at + 1];
    if (at + 2 + len > n) break;
    if (type == NFTNL_UDATA_RULE_COMMENT && len > 0)
      return std::string(reinterpret_cast<const char*>(p + at + 2), strnlen(reinterpret_cast<const char*>(p + at + 2), len));
    at += 2 + len;
  }
  return std::nullopt;
}

std::vector<uint8_t> Finish(struct nlmsghdr* nlh, std::vector<uint8_t>& buf) {
  buf.resize(nlh->nlmsg_len);
  return std::move(buf);
}

}  // namespace

std::vector<uint8_t> EncodeNftablesTable(Family family, const std::string& table, uint32_t seq) {
  std::unique_ptr<struct nftnl_table, void (*)(const struct nftnl_table*)> t(nftnl_table_alloc(), nftnl_table_free);
  nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, NfProto(family));
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, table.c_str());
  nftnl_table_set_u32(t.get(), NFTNL_TABLE_FLAGS, 0);
  std::vector<uint8_t> buf(MNL_SOCKET_BUFFER_SIZE, 0);
  auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), NFT_MSG_NEWTABLE, NfProto(family), 0, seq);
  nftnl_table_nlmsg_build_payload(nlh, t.get());
  return Finish(nlh, buf);
}

std::vector<uint8_t> EncodeNftablesBaseChain(Family family, const std::string& table, const BuiltinChain& chain, uint32_t seq) {
  // The attribute order of nft's mnl_nft_chain_add (table, name, type, policy, hook), which
  // differs from libnftnl's (iptables-nft's).
  std::vector<uint8_t> buf(MNL_SOCKET_BUFFER_SIZE, 0);
  auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), NFT_MSG_NEWCHAIN, NfProto(family), NLM_F_CREATE, seq);
  mnl_attr_put_strz(nlh, NFTA_CHAIN_TABLE, table.c_str());
  mnl_attr_put_strz(nlh, NFTA_CHAIN_NAME, chain.name);
  mnl_attr_put_strz(nlh, NFTA_CHAIN_TYPE, chain.type);
  mnl_attr_put_u32(nlh, NFTA_CHAIN_POLICY, htonl(NF_ACCEPT));
  auto* hook = mnl_attr_nest_start(nlh, NFTA_CHAIN_HOOK);
  mnl_attr_put_u32(nlh, NFTA_HOOK_HOOKNUM, htonl(chain.hooknum));
  mnl_attr_put_u32(nlh, NFTA_HOOK_PRIORITY, htonl(static_cast<uint32_t>(chain.priority)));
  mnl_attr_nest_end(nlh, hook);
  return Finish(nlh, buf);
}

std::vector<uint8_t> EncodeConnlimitSet(Family family, const std::string& table, const std::string& name, uint32_t id,
                                        uint32_t seq) {
  std::unique_ptr<struct nftnl_set, void (*)(const struct nftnl_set*)> s(nftnl_set_alloc(), nftnl_set_free);
  nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, NfProto(family));
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, table.c_str());
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, name.c_str());
  nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS, NFT_SET_EVAL);  // `flags dynamic`
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, family == Family::kIpv4 ? kTypeIpAddr : kTypeIp6Addr);
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, AddressBytes(family));
  nftnl_set_set_u32(s.get(), NFTNL_SET_ID, id);
  UdataPtr ud(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN), nftnl_udata_buf_free);
  nftnl_udata_put_u32(ud.get(), NFTNL_UDATA_SET_KEYBYTEORDER, kByteorderBigEndian);
  nftnl_set_set_data(s.get(), NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud.get()), nftnl_udata_buf_len(ud.get()));
  std::vector<uint8_t> buf(MNL_SOCKET_BUFFER_SIZE, 0);
  auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), NFT_MSG_NEWSET, NfProto(family), NLM_F_CREATE, seq);
  nftnl_set_nlmsg_build_payload(nlh, s.get());
  return Finish(nlh, buf);
}

std::vector<uint8_t> EncodeDelSet(Family family, const std::string& table, const std::string& name, uint32_t seq) {
  std::unique_ptr<struct nftnl_set, void (*)(const struct nftnl_set*)> s(nftnl_set_alloc(), nftnl_set_free);
  nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, NfProto(family));
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, table.c_str());
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, name.c_str());
  std::vector<uint8_t> buf(MNL_SOCKET_BUFFER_SIZE, 0);
  auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), NFT_MSG_DELSET, NfProto(family), 0, seq);
  nftnl_set_nlmsg_build_payload(nlh, s.get());
  return Finish(nlh, buf);
}

const ConnlimitMatch* ConnlimitOf(const RuleSpec& rule) {
  for (const auto& m : rule.matches)
    if (const auto* c = std::get_if<ConnlimitMatch>(&m)) return c;
  return nullptr;
}

Result<std::vector<uint8_t>> EncodeNftablesRule(Family family, const std::string& table, const std::string& chain,
                                                const RuleSpec& rule, const std::string& set_name, uint32_t set_id,
                                                const RulePlacement& where, uint32_t seq) {
  RulePtr r(nftnl_rule_alloc(), nftnl_rule_free);
  if (!r) return KernelError{"encode", ENOMEM, "nftnl_rule_alloc", -1};
  nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, NfProto(family));
  nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, table.c_str());
  nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain.c_str());
  if (where.position) nftnl_rule_set_u64(r.get(), NFTNL_RULE_POSITION, where.position);
  if (where.position_id) nftnl_rule_set_u32(r.get(), NFTNL_RULE_POSITION_ID, where.position_id);
  if (where.handle) nftnl_rule_set_u64(r.get(), NFTNL_RULE_HANDLE, where.handle);
  if (where.id) nftnl_rule_set_u32(r.get(), NFTNL_RULE_ID, where.id);
  RuleWriter writer(r.get(), family, set_name, set_id);
  auto written = writer.Write(rule);
  if (!written.ok()) return written.error();
  // Every expression is small (addresses 16 bytes, names 16); the comment is at most 256.
  std::vector<uint8_t> buf(8192 + 256 * rule.matches.size() + table.size() + chain.size() + set_name.size(), 0);
  auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), NFT_MSG_NEWRULE, NfProto(family), where.nlm_flags, seq);
  nftnl_rule_nlmsg_build_payload(nlh, r.get());
  // nft puts the comment after the expressions (libnftnl would put it before them).
  if (!writer.comment().empty()) {
    UdataPtr ud(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN), nftnl_udata_buf_free);
    if (!nftnl_udata_put_strz(ud.get(), NFTNL_UDATA_RULE_COMMENT, writer.comment().c_str())) return EncodeError("comment too long");
    mnl_attr_put(nlh, NFTA_RULE_USERDATA, nftnl_udata_buf_len(ud.get()), nftnl_udata_buf_data(ud.get()));
  }
  if (nlh->nlmsg_len > buf.size()) return EncodeError("rule too large");
  return Finish(nlh, buf);
}

Result<DecodedNftablesRule> DecodeNftablesRule(Family family, const uint8_t* msg, size_t len) {
  auto m = ReadRuleMessage(msg, len);
  if (!m.ok()) return m.error();
  DecodedNftablesRule out;
  out.table = m.value().table;
  out.chain = m.value().chain;
  out.handle = m.value().handle;
  RuleReader(family, m.value().exprs, &out).Run();
  if (auto comment = CommentOf(m.value().userdata)) out.rule.matches.push_back(CommentMatch{*comment});
  return out;
}

}  // namespace connlimit::core::nft
