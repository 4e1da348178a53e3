// SPDX-License-Identifier: GPL-2.0-or-later
// The decoding half of core/nft/native/nftables_codec.h: what the encoder writes, read back; anything
// else stays opaque.
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <net/if.h>

#include <cstring>
#include <map>
#include <optional>

#include "core/nft/expr_reader.h"
#include "core/nft/expr_writer.h"
#include "core/nft/native/nftables_anonymous_set.h"
#include "core/nft/native/nftables_codec.h"
#include "core/nft/native/nftables_layout.h"
#include "core/nft/native/nftables_multiport.h"
#include "core/nft/native/nftables_set_match.h"
#include "core/nft/native/xlate.h"
#include "core/nft/native/xlate_targets.h"

namespace connlimit::core::nft {
namespace {

using namespace nftables;  // NOLINT(google-build-using-namespace): the shared layout, this file's vocabulary

class RuleReader : public ExprWalker {
 public:
  RuleReader(Family family, const std::vector<Expr>& ex, DecodedNftablesRule* out, const AnonymousSetElements& sets)
      : ExprWalker(ex), family_(family), bytes_(AddressBytes(family)), out_(out), sets_(sets) {}

 private:
  size_t Step(size_t i) override {
    const Expr& e = ex_[i];
    RuleSpec& rule = out_->rule;
    // The target ends the rule (its counter may follow, from other writers): anything after it
    // is not a rule we write, and stays opaque.
    if (rule.target.kind != connlimit::core::Target::Kind::kNone && e.name != "counter") return 0;
    if (size_t used = ReadXlateMatch(ex_, i, family_, &rule, sets_)) return used;
    if (size_t used = ReadXlateTarget(ex_, i, &rule.target)) return used;
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
    if (auto l = ReadPayloadLoad(ex_, i)) {
      size_t j = l->next;
      const Expr* k = At(j);
      if (!k) return 0;
      if (l->base == NFT_PAYLOAD_NETWORK_HEADER) {
        if (Is(k, "dynset")) return Connlimit(l->offset, l->len, l->mask, *k) ? j - i + 1 : 0;
        if (Is(k, "lookup")) {
          auto set = l->mask.empty() ? ReadSetLookup(family_, l->offset, l->len, *k) : std::nullopt;
          if (!set) return 0;
          rule.matches.push_back(std::move(*set));
          return j - i + 1;
        }
        return Network(l->offset, l->len, l->mask, k) ? j - i + 1 : 0;
      }
      if (l->base == NFT_PAYLOAD_TRANSPORT_HEADER) {
        if (Is(k, "lookup")) return PortLookup(l->offset, l->len, l->mask, *k) ? j - i + 1 : 0;
        size_t used = Transport(l->offset, l->len, l->mask, j);
        return used ? j - i + used : 0;
      }
      return 0;
    }
    if (e.name == "counter") {
      out_->packets = Be64(e.a[NFTA_COUNTER_PACKETS]);
      out_->bytes = Be64(e.a[NFTA_COUNTER_BYTES]);
      return 1;
    }
    if (auto t = ReadVerdict(e)) {
      if (t->kind != connlimit::core::Target::Kind::kVerdict) return 0;  // the native form writes no jumps
      rule.target = *t;
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
    uint32_t src = SaddrOffset(family_), dst = DaddrOffset(family_);
    if ((off != src && off != dst) || len == 0 || len > static_cast<uint32_t>(bytes_)) return false;
    if (!mask.empty() && len != static_cast<uint32_t>(bytes_)) return false;
    (off == src ? out_->rule.src : out_->rule.dst) = ComparedAddress(data, mask, invert);
    return true;
  }

  bool Connlimit(uint32_t off, uint32_t len, const std::vector<uint8_t>& mask, const Expr& d) {
    uint32_t src = SaddrOffset(family_), dst = DaddrOffset(family_);
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

  // `tcp dport { 22, 80-89 }`: a lookup of an anonymous set of ports, a multiport list.
  bool PortLookup(uint32_t off, uint32_t len, const std::vector<uint8_t>& mask, const Expr& k) {
    const RuleSpec& rule = out_->rule;
    if ((off != 0 && off != 2) || len != 2 || !mask.empty() || rule.inv_protocol || !MultiportProtocol(rule.protocol)) return false;
    bool invert = false;
    const std::vector<RawElement>* elements = LookupElements(k, sets_, &invert);
    auto ranges = elements ? PortRangesOf(*elements) : std::nullopt;
    if (!ranges) return false;
    auto m = MultiportOf(PortList{off == 0, std::move(*ranges), invert});
    if (!m) return false;
    out_->rule.matches.push_back(std::move(*m));
    return true;
  }

  // How many expressions from `j` (after the load and its mask) make one port or flags test.
  size_t Transport(uint32_t off, uint32_t len, const std::vector<uint8_t>& mask, size_t j) {
    const RuleSpec& rule = out_->rule;
    if (rule.inv_protocol) return 0;
    if (rule.protocol == IPPROTO_TCP && off == kTcpFlagsOffset && len == 1) {
      bool invert = false;
      std::vector<uint8_t> d;
      if (mask.size() != 1 || !CmpEqNeq(At(j), &invert, &d) || d.size() != 1) return 0;
      auto* m = L4Match<TcpMatch>(&out_->rule, &l4_index_);
      if (!m || m->flag_mask) return 0;
      m->flag_mask = mask[0];
      m->flag_compare = d[0];
      m->inv_flags = invert;
      return 1;
    }
    if (off == 0 && len == 4 && mask.empty()) {  // sport and dport, both exact, in one load
      bool invert = false;
      std::vector<uint8_t> d;
      if (!CmpEqNeq(At(j), &invert, &d) || invert || d.size() != 4) return 0;
      PortRange s{Be16(d), Be16(d)}, t{Be16(d, 2), Be16(d, 2)};
      auto set = [&](auto* m) {
        if (!m) return false;
        m->sport = s;
        m->dport = t;
        return true;
      };
      bool ok = rule.protocol == IPPROTO_TCP ? set(L4Match<TcpMatch>(&out_->rule, &l4_index_)) : rule.protocol == IPPROTO_UDP && set(L4Match<UdpMatch>(&out_->rule, &l4_index_));
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
        p = {Be16(d), Be16(d)};
        invert = op == NFT_CMP_NEQ;
        used = 1;
      } else if (op == NFT_CMP_GTE) {
        const Expr* k2 = At(j + 1);
        if (!Is(k2, "cmp") || Be32(k2->a[NFTA_CMP_OP]) != NFT_CMP_LTE) return 0;
        auto d2 = Value(k2->a[NFTA_CMP_DATA]);
        if (d2.size() != 2) return 0;
        p = {Be16(d), Be16(d2)};
        used = 2;
      } else {
        return 0;
      }
    } else if (Is(k, "range") && Be32(k->a[NFTA_RANGE_OP]) == NFT_RANGE_NEQ) {
      auto from = Value(k->a[NFTA_RANGE_FROM_DATA]), to = Value(k->a[NFTA_RANGE_TO_DATA]);
      if (from.size() != 2 || to.size() != 2) return 0;
      p = {Be16(from), Be16(to)};
      invert = true;
      used = 1;
    } else {
      return 0;
    }
    auto set = [&](auto* m) {
      if (!m) return false;
      PortRange& slot = off == 0 ? m->sport : m->dport;
      bool& inv = off == 0 ? m->inv_sport : m->inv_dport;
      if (slot.lo != 0 || slot.hi != 0xFFFF || inv) return false;  // said already: the next test is another match's
      slot = p;
      inv = invert;
      return true;
    };
    bool ok = rule.protocol == IPPROTO_TCP ? set(L4Match<TcpMatch>(&out_->rule, &l4_index_)) : rule.protocol == IPPROTO_UDP && set(L4Match<UdpMatch>(&out_->rule, &l4_index_));
    if (ok) return used;
    // Not the tcp/udp match's (another protocol, or that port is tested already): a multiport
    // list of one port or range, which nft writes as this comparison.
    if (!MultiportProtocol(rule.protocol)) return 0;
    auto m = MultiportOf(PortList{off == 0, {p}, invert});
    if (!m) return 0;
    out_->rule.matches.push_back(std::move(*m));
    return used;
  }

  Family family_;
  int bytes_;
  DecodedNftablesRule* out_;
  const AnonymousSetElements& sets_;
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

}  // namespace

Result<DecodedNftablesRule> DecodeNftablesRule(Family family, const uint8_t* msg, size_t len, const AnonymousSetElements& sets) {
  auto m = ReadRuleMessage(msg, len);
  if (!m.ok()) return m.error();
  DecodedNftablesRule out;
  out.table = m.value().table;
  out.chain = m.value().chain;
  out.handle = m.value().handle;
  RuleReader(family, m.value().exprs, &out, sets).Run(&out.rule);
  if (auto comment = CommentOf(m.value().userdata)) out.rule.matches.push_back(CommentMatch{*comment});
  return out;
}

Result<DecodedNftablesRule> DecodeNftablesRuleBatch(Family family, const uint8_t* bytes, size_t len) {
  // The elements of each set by its id (a batch names them all `__set%d`).
  std::map<uint32_t, std::vector<RawElement>> by_id;
  const uint8_t* rule = nullptr;
  size_t rule_len = 0;
  for (size_t at = 0; at + sizeof(struct nlmsghdr) <= len;) {
    const auto* nlh = reinterpret_cast<const struct nlmsghdr*>(bytes + at);
    if (nlh->nlmsg_len < sizeof(struct nlmsghdr) || nlh->nlmsg_len > len - at) break;
    uint16_t type = NFNL_MSG_TYPE(nlh->nlmsg_type);
    if (type == NFT_MSG_NEWSETELEM) {
      std::string set;
      uint32_t id = 0;
      std::vector<RawElement> elements;
      auto r = nftables::ReadElementMessage(bytes + at, nlh->nlmsg_len, &set, &id, &elements);
      if (!r.ok()) return r.error();
      auto& v = by_id[id];
      v.insert(v.end(), elements.begin(), elements.end());
    } else if (type == NFT_MSG_NEWRULE) {
      rule = bytes + at;
      rule_len = nlh->nlmsg_len;
    }
    at += MNL_ALIGN(nlh->nlmsg_len);
  }
  if (!rule) return KernelError{"decode", EINVAL, "no rule message", -1, ErrorKind::kMalformed};
  return DecodeNftablesRule(family, rule, rule_len, [&by_id](const std::string&, uint32_t id) -> const std::vector<RawElement>* {
    auto it = by_id.find(id);
    return id && it != by_id.end() ? &it->second : nullptr;
  });
}

}  // namespace connlimit::core::nft
