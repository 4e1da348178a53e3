// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/compat/rule_codec.h"

#include <arpa/inet.h>
#include <endian.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>
#include <net/if.h>
#include <linux/netfilter/nfnetlink.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/nft/expr_reader.h"
#include "core/nft/expr_writer.h"
#include "core/nft/compat/native_xt.h"
#include "core/nft/compat/rule_shape.h"
#include "core/nft/nfproto.h"
#include "core/xt/extension.h"

namespace connlimit::core::nft {
namespace {

// The fragment offset field of struct iphdr (iptables-nft's -f); the rest of the layout is in
// expr_writer.h.
constexpr uint32_t kIpv4FragOff = 6;

// What xtables_parse_interface()'s callers put in the cmp for a negated bare "+"
// (iptables/nft-shared.c add_iniface): a name no interface can have.
constexpr char kInvalidIfname[] = "INVAL/D";

// ---- encoding: one helper per expression, attributes set as iptables/nft-shared.c does ----

// libnftnl keeps the pointer given for MT_INFO/TG_INFO and frees it with the expression
// (NETFILTER-NOTES.md §4.2): hand it malloc'ed memory and never touch it again.
void* OwnedCopy(const std::vector<uint8_t>& data) {
  void* p = malloc(data.empty() ? 1 : data.size());
  if (p && !data.empty()) memcpy(p, data.data(), data.size());
  return p;
}

Result<Unit> AddCompatMatch(struct nftnl_rule* r, Family family, const Match& m) {
  auto blob = xt::EncodeMatch(family, m);
  if (!blob.ok()) return blob.error();
  auto* e = AddExpr(r, "match");
  nftnl_expr_set_str(e, NFTNL_EXPR_MT_NAME, blob.value().name.c_str());
  nftnl_expr_set_u32(e, NFTNL_EXPR_MT_REV, blob.value().revision);
  nftnl_expr_set(e, NFTNL_EXPR_MT_INFO, OwnedCopy(blob.value().data), blob.value().data.size());
  return Unit{};
}

// add_iniface()/add_outiface(): a wildcard compares its prefix, an exact name includes its NUL.
void AddInterface(struct nftnl_rule* r, uint32_t key, const Interface& iface) {
  AddMeta(r, key);
  if (iface.wildcard) {
    if (!iface.name.empty())
      AddCmp(r, CmpOp(iface.invert), iface.name.data(), iface.name.size());
    else if (iface.invert)
      AddCmp(r, NFT_CMP_EQ, kInvalidIfname, sizeof kInvalidIfname);
  } else {
    AddCmp(r, CmpOp(iface.invert), iface.name.c_str(), iface.name.size() + 1);
  }
}

// add_addr(): a prefix mask shortens the load to the bytes it covers; any other mask loads
// the whole address and masks it with a bitwise.
void AddAddress(struct nftnl_rule* r, uint32_t offset, const Address& a, int bytes) {
  const uint8_t* m = a.mask;
  bool bitwise = false;
  int i = 0;
  for (; i < bytes; i++) {
    if (m[i] != 0xFF) {
      bitwise = m[i] != 0;
      break;
    }
  }
  for (int j = i + 1; !bitwise && j < bytes; j++) bitwise = m[j] != 0;
  uint32_t len = bitwise ? bytes : i;
  AddPayload(r, NFT_PAYLOAD_NETWORK_HEADER, offset, len);
  if (bitwise) AddBitwise(r, a.mask, len, false);
  AddCmp(r, CmpOp(a.invert), a.addr, len);
}

// One port range of add_nft_tcpudp(): exact -> cmp, from 0 -> cmp lte (gt when negated),
// otherwise a range expression.
void AddPort(struct nftnl_rule* r, uint32_t offset, const PortRange& p, bool invert) {
  AddPayload(r, NFT_PAYLOAD_TRANSPORT_HEADER, offset, 2);
  if (p.lo == p.hi) {
    uint16_t v = htons(p.lo);
    AddCmp(r, CmpOp(invert), &v, sizeof v);
  } else if (p.lo == 0) {
    uint16_t v = htons(p.hi);
    AddCmp(r, invert ? NFT_CMP_GT : NFT_CMP_LTE, &v, sizeof v);
  } else {
    AddRange(r, invert ? NFT_RANGE_NEQ : NFT_RANGE_EQ, htons(p.lo), htons(p.hi));
  }
}

void AddPorts(struct nftnl_rule* r, const PortRange& s, bool inv_s, const PortRange& d, bool inv_d) {
  // Both exact, same negation: one 4-byte load of sport and dport together.
  if (s.lo && s.lo == s.hi && d.lo && d.lo == d.hi && inv_s == inv_d) {
    uint16_t both[2] = {htons(s.lo), htons(d.lo)};
    AddPayload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 4);
    AddCmp(r, CmpOp(inv_d), both, sizeof both);
    return;
  }
  if (s.lo || s.hi < 0xFFFF) AddPort(r, 0, s, inv_s);
  if (d.lo || d.hi < 0xFFFF) AddPort(r, 2, d, inv_d);
}

bool AllDefault(const PortRange& s, const PortRange& d) { return s.lo == 0 && s.hi == 0xFFFF && d.lo == 0 && d.hi == 0xFFFF; }

// add_nft_tcp(): native payload expressions unless the match uses what they cannot say
// (--tcp-option, its negation) or says nothing at all; then the xt match itself.
Result<Unit> AddTcp(struct nftnl_rule* r, Family family, const TcpMatch& t) {
  bool all_default = AllDefault(t.sport, t.dport) && !t.option && !t.flag_mask && !t.flag_compare && !t.inv_sport &&
                     !t.inv_dport && !t.inv_flags && !t.inv_option;
  if (t.inv_option || t.option || all_default) return AddCompatMatch(r, family, t);
  if (t.flag_mask) {
    AddPayload(r, NFT_PAYLOAD_TRANSPORT_HEADER, kTcpFlagsOffset, 1);
    AddBitwise(r, &t.flag_mask, 1, false);
    AddCmp(r, CmpOp(t.inv_flags), &t.flag_compare, 1);
  }
  AddPorts(r, t.sport, t.inv_sport, t.dport, t.inv_dport);
  return Unit{};
}

Result<Unit> AddUdp(struct nftnl_rule* r, Family family, const UdpMatch& u) {
  if (AllDefault(u.sport, u.dport) && !u.inv_sport && !u.inv_dport) return AddCompatMatch(r, family, u);
  AddPorts(r, u.sport, u.inv_sport, u.dport, u.inv_dport);
  return Unit{};
}

Result<Unit> AddAction(struct nftnl_rule* r, Family family, const Target& t) {
  switch (t.kind) {
    case Target::Kind::kNone:
      return Unit{};
    case Target::Kind::kVerdict:
      if (t.name == "ACCEPT") AddVerdict(r, NF_ACCEPT, nullptr);
      else if (t.name == "DROP") AddVerdict(r, NF_DROP, nullptr);
      else if (t.name == "RETURN") AddVerdict(r, NFT_RETURN, nullptr);
      else return EncodeError("verdict " + t.name + " is not available on the nft backend");
      return Unit{};
    case Target::Kind::kJump:
    case Target::Kind::kGoto:
      if (t.name.empty() || t.name.size() >= NFT_CHAIN_MAXNAMELEN) return EncodeError("chain name");
      AddVerdict(r, t.kind == Target::Kind::kJump ? NFT_JUMP : NFT_GOTO, &t.name);
      return Unit{};
    case Target::Kind::kReject:
    case Target::Kind::kOpaque: {
      if (auto native = AddNativeXtTarget(r, family, t)) return *native;
      auto blob = xt::EncodeTarget(family, t);
      if (!blob.ok()) return blob.error();
      auto* e = AddExpr(r, "target");
      nftnl_expr_set_str(e, NFTNL_EXPR_TG_NAME, blob.value().name.c_str());
      nftnl_expr_set_u32(e, NFTNL_EXPR_TG_REV, blob.value().revision);
      nftnl_expr_set(e, NFTNL_EXPR_TG_INFO, OwnedCopy(blob.value().data), blob.value().data.size());
      return Unit{};
    }
  }
  return EncodeError("target kind");
}

// nft_ipv4_add() / nft_ipv6_add(): interfaces, protocol, addresses, -f, the compat protocol,
// the matches in order, a counter, then the verdict or target.
Result<Unit> BuildExpressions(struct nftnl_rule* r, Family family, const RuleSpec& rule) {
  const int bytes = AddressBytes(family);
  if (rule.in_interface) AddInterface(r, NFT_META_IIFNAME, *rule.in_interface);
  if (rule.out_interface) AddInterface(r, NFT_META_OIFNAME, *rule.out_interface);
  if (rule.protocol != 0) {
    AddMeta(r, NFT_META_L4PROTO);
    uint8_t proto = static_cast<uint8_t>(rule.protocol);
    AddCmp(r, CmpOp(rule.inv_protocol), &proto, 1);
  }
  if (HasAddress(rule.src, bytes)) AddAddress(r, SaddrOffset(family), *rule.src, bytes);
  if (HasAddress(rule.dst, bytes)) AddAddress(r, DaddrOffset(family), *rule.dst, bytes);
  if (rule.fragment) {
    if (family != Family::kIpv4) return EncodeError("-f is IPv4 only");
    AddPayload(r, NFT_PAYLOAD_NETWORK_HEADER, kIpv4FragOff, 2);
    uint16_t mask = htons(0x1FFF), zero = 0;  // the 13 fragment offset bits: non-zero means "a fragment"
    AddBitwise(r, &mask, 2, false);
    AddCmp(r, *rule.fragment ? NFT_CMP_NEQ : NFT_CMP_EQ, &zero, 2);
  }
  nftnl_rule_set_u32(r, NFTNL_RULE_COMPAT_PROTO, rule.protocol);
  nftnl_rule_set_u32(r, NFTNL_RULE_COMPAT_FLAGS, rule.inv_protocol ? NFT_RULE_COMPAT_F_INV : 0);
  for (const auto& m : rule.matches) {
    Result<Unit> added = Unit{};
    if (const auto* t = std::get_if<TcpMatch>(&m))
      added = AddTcp(r, family, *t);
    else if (const auto* u = std::get_if<UdpMatch>(&m))
      added = AddUdp(r, family, *u);
    else if (auto native = AddNativeXtMatch(r, family, m))
      added = *native;
    else if (const auto* o = std::get_if<OpaqueExtension>(&m); o && o->name.rfind(kOpaqueExprPrefix, 0) == 0)
      return EncodeError("a native nftables expression (" + o->name + ") cannot be re-encoded");
    else
      added = AddCompatMatch(r, family, m);
    if (!added.ok()) return added.error();
  }
  auto* counter = AddExpr(r, "counter");
  nftnl_expr_set_u64(counter, NFTNL_EXPR_CTR_PACKETS, 0);
  nftnl_expr_set_u64(counter, NFTNL_EXPR_CTR_BYTES, 0);
  return AddAction(r, family, rule.target);
}

// ---- decoding: netlink attributes read directly (expr_reader), so unknown expressions keep their bytes ----

// Reads what iptables-nft's own parser (nft-shared.c, nft-ipv4.c, nft-ipv6.c) reads back.
class RuleReader : public ExprWalker {
 public:
  RuleReader(Family family, const std::vector<Expr>& ex, DecodedRule* out) : ExprWalker(ex), family_(family), out_(out) {}

 private:
  // How many expressions starting at i were understood (0: none).
  size_t Step(size_t i) override {
    const Expr& e = ex_[i];
    RuleSpec& rule = out_->rule;
    if (size_t native = ReadNativeXtMatch(ex_, i, family_, &rule)) return native;
    if (e.name == "meta" && e.a[NFTA_META_DREG] && !e.a[NFTA_META_SREG]) {
      uint32_t key = Be32(e.a[NFTA_META_KEY]);
      const Expr* cmp = At(i + 1);
      bool has_cmp = Is(cmp, "cmp");
      if (key == NFT_META_IIFNAME || key == NFT_META_OIFNAME) {
        auto& slot = key == NFT_META_IIFNAME ? rule.in_interface : rule.out_interface;
        if (!has_cmp) {  // "-i +": a load with nothing compared, matches every interface
          return 1;
        }
        uint32_t op = Be32(cmp->a[NFTA_CMP_OP]);
        if (op != NFT_CMP_EQ && op != NFT_CMP_NEQ) return 0;
        auto v = Value(cmp->a[NFTA_CMP_DATA]);
        if (v.empty() || v.size() > IFNAMSIZ) return 0;
        Interface iface;
        if (op == NFT_CMP_EQ && v.size() == sizeof kInvalidIfname && memcmp(v.data(), kInvalidIfname, v.size()) == 0) {
          iface.wildcard = true;  // "! -i +"
          iface.invert = true;
        } else if (v.back() == '\0') {
          iface.name.assign(reinterpret_cast<const char*>(v.data()), strnlen(reinterpret_cast<const char*>(v.data()), v.size()));
          iface.invert = op == NFT_CMP_NEQ;
        } else {
          iface.name.assign(v.begin(), v.end());
          iface.wildcard = true;
          iface.invert = op == NFT_CMP_NEQ;
        }
        slot = iface;
        return 2;
      }
      if (key == NFT_META_L4PROTO && has_cmp) {
        uint32_t op = Be32(cmp->a[NFTA_CMP_OP]);
        auto v = Value(cmp->a[NFTA_CMP_DATA]);
        if (v.size() != 1 || (op != NFT_CMP_EQ && op != NFT_CMP_NEQ)) return 0;
        rule.protocol = v[0];
        rule.inv_protocol = op == NFT_CMP_NEQ;
        return 2;
      }
      return 0;
    }
    if (auto l = ReadPayloadLoad(ex_, i)) {
      const Expr* k = At(l->next);
      if (!k) return 0;
      bool ok = l->base == NFT_PAYLOAD_NETWORK_HEADER     ? Network(l->offset, l->len, l->mask, *k)
                : l->base == NFT_PAYLOAD_TRANSPORT_HEADER && Transport(l->offset, l->len, l->mask, *k);
      return ok ? l->next - i + 1 : 0;
    }
    if (e.name == "match") {
      auto info = e.a[NFTA_MATCH_INFO];
      const auto* p = info ? static_cast<const uint8_t*>(mnl_attr_get_payload(info)) : nullptr;
      size_t n = info ? mnl_attr_get_payload_len(info) : 0;
      rule.matches.push_back(xt::DecodeMatch(family_, Str(e.a[NFTA_MATCH_NAME]), static_cast<uint8_t>(Be32(e.a[NFTA_MATCH_REV])), p, n));
      return 1;
    }
    if (size_t native = ReadNativeXtTarget(ex_, i, family_, &rule)) return native;
    if (e.name == "target") {
      auto info = e.a[NFTA_TARGET_INFO];
      const auto* p = info ? static_cast<const uint8_t*>(mnl_attr_get_payload(info)) : nullptr;
      size_t n = info ? mnl_attr_get_payload_len(info) : 0;
      rule.target = xt::DecodeTarget(family_, Str(e.a[NFTA_TARGET_NAME]), static_cast<uint8_t>(Be32(e.a[NFTA_TARGET_REV])), p, n);
      return 1;
    }
    if (e.name == "counter") {
      out_->packets = Be64(e.a[NFTA_COUNTER_PACKETS]);
      out_->bytes = Be64(e.a[NFTA_COUNTER_BYTES]);
      return 1;
    }
    if (auto t = ReadVerdict(e)) {
      rule.target = *t;
      return 1;
    }
    return 0;
  }

  bool Network(uint32_t off, uint32_t len, const std::vector<uint8_t>& mask, const Expr& k) {
    RuleSpec& rule = out_->rule;
    bool invert = false;
    std::vector<uint8_t> data;
    if (!CmpEqNeq(&k, &invert, &data) || data.size() != len) return false;
    if (family_ == Family::kIpv4 && off == kIpv4FragOff && len == 2) {
      uint16_t m = htons(0x1FFF);
      if (mask.size() != 2 || memcmp(mask.data(), &m, 2) != 0 || data[0] || data[1]) return false;
      rule.fragment = invert;  // "!= 0" is -f, "== 0" is ! -f
      return true;
    }
    const int bytes = AddressBytes(family_);
    uint32_t src = SaddrOffset(family_);
    uint32_t dst = DaddrOffset(family_);
    if ((off != src && off != dst) || len == 0 || len > static_cast<uint32_t>(bytes)) return false;
    (off == src ? rule.src : rule.dst) = ComparedAddress(data, mask, invert);
    return true;
  }

  template <typename M>
  bool Ports(uint32_t off, uint32_t len, const Expr& k) {
    if (off == 0 && len == 4) {
      bool invert = false;
      std::vector<uint8_t> d;
      if (!CmpEqNeq(&k, &invert, &d) || d.size() != 4) return false;
      auto* m = L4Match<M>(&out_->rule, &l4_index_);
      if (!m) return false;
      uint16_t s = Be16(d), t = Be16(d, 2);
      m->sport = {s, s};
      m->dport = {t, t};
      m->inv_sport = m->inv_dport = invert;
      return true;
    }
    if ((off != 0 && off != 2) || len != 2) return false;
    PortRange p;
    bool invert = false;
    if (k.name == "cmp") {
      auto d = Value(k.a[NFTA_CMP_DATA]);
      if (d.size() != 2) return false;
      uint16_t v = Be16(d);
      switch (Be32(k.a[NFTA_CMP_OP])) {
        case NFT_CMP_EQ: p = {v, v}; break;
        case NFT_CMP_NEQ: p = {v, v}; invert = true; break;
        case NFT_CMP_LTE: p = {0, v}; break;
        case NFT_CMP_LT: if (v == 0) return false; p = {0, static_cast<uint16_t>(v - 1)}; break;
        case NFT_CMP_GT: if (v == 0xFFFF) return false; p = {static_cast<uint16_t>(v + 1), 0xFFFF}; break;
        case NFT_CMP_GTE: p = {v, 0xFFFF}; break;
        default: return false;
      }
    } else if (k.name == "range") {
      auto from = Value(k.a[NFTA_RANGE_FROM_DATA]), to = Value(k.a[NFTA_RANGE_TO_DATA]);
      if (from.size() != 2 || to.size() != 2) return false;
      uint32_t op = Be32(k.a[NFTA_RANGE_OP]);
      if (op != NFT_RANGE_EQ && op != NFT_RANGE_NEQ) return false;
      p = {Be16(from), Be16(to)};
      invert = op == NFT_RANGE_NEQ;
    } else {
      return false;
    }
    auto* m = L4Match<M>(&out_->rule, &l4_index_);
    if (!m) return false;
    if (off == 0) {
      m->sport = p;
      m->inv_sport = invert;
    } else {
      m->dport = p;
      m->inv_dport = invert;
    }
    return true;
  }

  bool Transport(uint32_t off, uint32_t len, const std::vector<uint8_t>& mask, const Expr& k) {
    const RuleSpec& rule = out_->rule;
    if (rule.inv_protocol) return false;
    if (rule.protocol == IPPROTO_TCP) {
      if (off == kTcpFlagsOffset && len == 1) {
        bool invert = false;
        std::vector<uint8_t> d;
        if (mask.size() != 1 || !CmpEqNeq(&k, &invert, &d) || d.size() != 1) return false;
        auto* m = L4Match<TcpMatch>(&out_->rule, &l4_index_);
        if (!m) return false;
        m->flag_mask = mask[0];
        m->flag_compare = d[0];
        m->inv_flags = invert;
        return true;
      }
      return mask.empty() && Ports<TcpMatch>(off, len, k);
    }
    if (rule.protocol == IPPROTO_UDP) return mask.empty() && Ports<UdpMatch>(off, len, k);
    return false;
  }

  Family family_;
  DecodedRule* out_;
  int l4_index_ = -1;
};

// The message as libnftnl builds it, every expression an object of its own.
Result<std::vector<uint8_t>> EncodeWithLibnftnl(Family family, const std::string& table, const std::string& chain,
                                                const RuleSpec& rule, const RulePlacement& where, uint32_t seq) {
  RulePtr r = NewRule(family, table, chain, where);
  if (!r) return KernelError{"encode", ENOMEM, "nftnl_rule_alloc", -1};
  auto built = BuildExpressions(r.get(), family, rule);
  if (!built.ok()) return built.error();

  // libnftnl writes without bounds checks, so size the buffer from what the rule carries: a
  // fixed part for headers and native expressions, plus every blob (a comment is 256 bytes,
  // other modelled blobs are smaller; opaque ones carry their own size).
  size_t bound = 4096 + 512 * (rule.matches.size() + 1) + table.size() + chain.size();
  for (const auto& m : rule.matches) {
    if (const auto* o = std::get_if<OpaqueExtension>(&m)) bound += o->data.size();
    if (std::holds_alternative<CommentMatch>(m)) bound += 256;
  }
  bound += rule.target.opaque.data.size();
  // Built in a per-thread scratch buffer and copied out at its real size (about a tenth of the
  // bound): a fresh zeroed buffer per rule cost more than the encoding in 10,000-rule batches.
  // libnftnl leaves some bytes unwritten (blob padding, reserved fields), relying on a zeroed
  // buffer, so what a rule wrote is zeroed again after it is copied out: otherwise one rule's
  // bytes leak into the next one's padding (test/25 caught it).
  thread_local std::vector<uint8_t> scratch;
  if (scratch.size() < bound) scratch.resize(bound);
  struct nlmsghdr* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(scratch.data()), NFT_MSG_NEWRULE, NfProto(family), where.nlm_flags, seq);
  nftnl_rule_nlmsg_build_payload(nlh, r.get());
  size_t len = nlh->nlmsg_len;
  std::vector<uint8_t> out(scratch.data(), scratch.data() + std::min(len, bound));
  std::memset(scratch.data(), 0, std::min(len, bound));
  if (len > bound) return EncodeError("rule too large");
  return out;
}

}  // namespace

Result<std::vector<uint8_t>> EncodeRuleMessage(Family family, const std::string& table, const std::string& chain,
                                               const RuleSpec& rule, const RulePlacement& where, uint32_t seq) {
  return EncodeByShape(family, table, chain, rule, where, seq, EncodeWithLibnftnl);
}

Result<DecodedRule> DecodeRuleMessage(Family family, const uint8_t* msg, size_t len) {
  auto m = ReadRuleMessage(msg, len);
  if (!m.ok()) return m.error();
  DecodedRule out;
  out.table = m.value().table;
  out.chain = m.value().chain;
  out.handle = m.value().handle;
  const std::vector<Expr>& ex = m.value().exprs;
  RuleReader(family, ex, &out).Run(&out.rule);
  return out;
}

}  // namespace connlimit::core::nft
