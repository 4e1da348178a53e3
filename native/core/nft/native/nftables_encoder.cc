// SPDX-License-Identifier: GPL-2.0-or-later
// The encoding half of core/nft/native/nftables_codec.h.
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
#include <optional>

#include "core/nft/expr_writer.h"
#include "core/nft/nfproto.h"
#include "core/nft/native/nftables_codec.h"
#include "core/nft/native/nftables_layout.h"
#include "core/nft/native/nftables_multiport.h"
#include "core/nft/native/nftables_set_match.h"
#include "core/nft/native/xlate.h"
#include "core/nft/native/xlate_targets.h"

namespace connlimit::core::nft {
namespace {

using namespace nftables;  // NOLINT(google-build-using-namespace): the shared layout, this file's vocabulary

using UdataPtr = std::unique_ptr<struct nftnl_udata_buf, void (*)(const struct nftnl_udata_buf*)>;

// ---- encoding: one helper per expression, attributes set as nft's netlink_linearize.c does ----

void PrefixMask(int bits, int bytes, uint8_t* out) {
  for (int i = 0; i < bytes; i++) {
    int b = bits - 8 * i;
    out[i] = b >= 8 ? 0xFF : b <= 0 ? 0 : static_cast<uint8_t>(0xFF << (8 - b));
  }
}

// Where RuleWriter puts a rule's expressions (ExprsOn below). A libnftnl rule: the reference
// encoding, and the only one of what the translated modules, the set lookups and the port lists
// write (they fill libnftnl expressions themselves). The message itself, attribute by attribute
// (core/nft/expr_writer.h's overloads on a message), for a rule made of nothing else; test 26
// proves the two give the same bytes for every rule of its corpora that the second writes.
class Exprs {
 public:
  virtual void Meta(uint32_t key) = 0;
  virtual void Payload(uint32_t base, uint32_t offset, uint32_t len) = 0;
  virtual void Bitwise(const void* mask, uint32_t len, bool with_op) = 0;
  virtual void Cmp(uint32_t op, const void* data, uint32_t len) = 0;
  virtual void Range(uint32_t op, uint16_t from_be, uint16_t to_be) = 0;
  virtual void Counter() = 0;
  virtual void Verdict(int verdict) = 0;
  virtual void Reject(uint32_t type, uint8_t code) = 0;
  // `add @set { <key> ct count [over] N }`: dynset with its connlimit expression.
  virtual void CountInSet(const std::string& set_name, uint32_t set_id, uint32_t count, uint32_t flags) = 0;
  // The libnftnl rule, for the expressions only libnftnl writes here; nullptr on the direct path.
  virtual struct nftnl_rule* objects() = 0;

 protected:
  ~Exprs() = default;
};

void AddReject(struct nftnl_rule* r, uint32_t type, uint8_t code) {
  auto* e = AddExpr(r, "reject");
  nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, type);
  nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, code);
}

void AddReject(struct nlmsghdr* nlh, uint32_t type, uint8_t code) {
  PutExpr(nlh, "reject", [&] {
    mnl_attr_put_u32(nlh, NFTA_REJECT_TYPE, htonl(type));
    mnl_attr_put_u8(nlh, NFTA_REJECT_ICMP_CODE, code);
  });
}

void AddCountInSet(struct nftnl_rule* r, const std::string& set_name, uint32_t set_id, uint32_t count, uint32_t flags) {
  auto* limit = nftnl_expr_alloc("connlimit");
  nftnl_expr_set_u32(limit, NFTNL_EXPR_CONNLIMIT_COUNT, count);
  nftnl_expr_set_u32(limit, NFTNL_EXPR_CONNLIMIT_FLAGS, flags);
  auto* e = AddExpr(r, "dynset");
  nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, kReg);
  nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_ADD);
  nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, set_name.c_str());
  nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SET_ID, set_id);
  nftnl_expr_set(e, NFTNL_EXPR_DYNSET_EXPR, limit, 0);
}

// libnftnl's dynset_build order (sreg key, op, set name, set id, then its one expression), the
// expression as nftnl_expr_build_payload writes it, without a list element around it.
void AddCountInSet(struct nlmsghdr* nlh, const std::string& set_name, uint32_t set_id, uint32_t count, uint32_t flags) {
  PutExpr(nlh, "dynset", [&] {
    mnl_attr_put_u32(nlh, NFTA_DYNSET_SREG_KEY, htonl(kReg));
    mnl_attr_put_u32(nlh, NFTA_DYNSET_OP, htonl(NFT_DYNSET_OP_ADD));
    mnl_attr_put_strz(nlh, NFTA_DYNSET_SET_NAME, set_name.c_str());
    mnl_attr_put_u32(nlh, NFTA_DYNSET_SET_ID, htonl(set_id));
    auto* nest = mnl_attr_nest_start(nlh, NFTA_DYNSET_EXPR);
    PutExpr(
        nlh, "connlimit",
        [&] {
          mnl_attr_put_u32(nlh, NFTA_CONNLIMIT_COUNT, htonl(count));
          mnl_attr_put_u32(nlh, NFTA_CONNLIMIT_FLAGS, htonl(flags));
        },
        false);
    mnl_attr_nest_end(nlh, nest);
  });
}

struct nftnl_rule* ObjectsOf(struct nftnl_rule* r) { return r; }
struct nftnl_rule* ObjectsOf(struct nlmsghdr*) { return nullptr; }

// Exprs onto a libnftnl rule (Target = struct nftnl_rule*) or a message (struct nlmsghdr*):
// each builder has an overload for both.
template <typename Target>
class ExprsOn final : public Exprs {
 public:
  explicit ExprsOn(Target t) : t_(t) {}
  void Meta(uint32_t key) override { AddMeta(t_, key); }
  void Payload(uint32_t base, uint32_t offset, uint32_t len) override { AddPayload(t_, base, offset, len); }
  void Bitwise(const void* mask, uint32_t len, bool with_op) override { AddBitwise(t_, mask, len, with_op); }
  void Cmp(uint32_t op, const void* data, uint32_t len) override { AddCmp(t_, op, data, len); }
  void Range(uint32_t op, uint16_t from_be, uint16_t to_be) override { AddRange(t_, op, from_be, to_be); }
  void Counter() override { AddCounter(t_); }
  void Verdict(int verdict) override { AddVerdict(t_, verdict, nullptr); }
  void Reject(uint32_t type, uint8_t code) override { AddReject(t_, type, code); }
  void CountInSet(const std::string& set_name, uint32_t set_id, uint32_t count, uint32_t flags) override {
    AddCountInSet(t_, set_name, set_id, count, flags);
  }
  struct nftnl_rule* objects() override { return ObjectsOf(t_); }

 private:
  Target t_;
};

// `iifname "eth0"` compares the whole IFNAMSIZ buffer; `iifname "eth*"` the prefix only.
Result<Unit> AddInterface(Exprs& out, uint32_t key, const Interface& iface) {
  if (iface.wildcard && iface.name.empty()) {
    if (iface.invert) return EncodeError("'! -i +' matches no interface");
    return Unit{};  // `-i +`: any interface, nothing to say
  }
  if (iface.name.size() >= IFNAMSIZ) return EncodeError("interface name too long");
  out.Meta(key);
  if (iface.wildcard) {
    out.Cmp(CmpOp(iface.invert), iface.name.data(), static_cast<uint32_t>(iface.name.size()));
  } else {
    char name[IFNAMSIZ] = {};
    memcpy(name, iface.name.data(), iface.name.size());
    out.Cmp(CmpOp(iface.invert), name, IFNAMSIZ);
  }
  return Unit{};
}

// `ip saddr 10.0.0.0/16` loads the prefix's bytes; a prefix off a byte boundary loads the
// whole address and masks it; any other mask is `ip saddr & MASK == ADDR`.
Result<Unit> AddAddress(Exprs& out, uint32_t offset, const Address& a, int bytes) {
  int prefix = PrefixOf(a.mask, bytes);
  if (prefix == 0) {
    if (a.invert) return EncodeError("'! -s 0/0' matches no address");
    return Unit{};
  }
  if (prefix > 0 && prefix % 8 == 0) {
    out.Payload(NFT_PAYLOAD_NETWORK_HEADER, offset, prefix / 8);
    out.Cmp(CmpOp(a.invert), a.addr, prefix / 8);
    return Unit{};
  }
  out.Payload(NFT_PAYLOAD_NETWORK_HEADER, offset, bytes);
  out.Bitwise(a.mask, bytes, prefix < 0);
  out.Cmp(CmpOp(a.invert), a.addr, bytes);
  return Unit{};
}

// `tcp dport 22`, `tcp dport != 22`, `tcp dport 1000-2000` (two cmps), `tcp dport != 1000-2000` (a range).
void AddPort(Exprs& out, uint32_t offset, const PortRange& p, bool invert) {
  out.Payload(NFT_PAYLOAD_TRANSPORT_HEADER, offset, 2);
  uint16_t lo = htons(p.lo), hi = htons(p.hi);
  if (p.lo == p.hi) {
    out.Cmp(CmpOp(invert), &lo, 2);
  } else if (invert) {
    out.Range(NFT_RANGE_NEQ, lo, hi);
  } else {
    out.Cmp(NFT_CMP_GTE, &lo, 2);
    out.Cmp(NFT_CMP_LTE, &hi, 2);
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
  RuleWriter(Exprs& out, Family family, const std::string& set_name, uint32_t set_id, uint32_t anonymous_set_id)
      : out_(out), family_(family), bytes_(AddressBytes(family)), set_name_(set_name), set_id_(set_id), anonymous_set_id_(anonymous_set_id) {}

  Result<Unit> Write(const RuleSpec& rule) {
    if (rule.fragment) return EncodeError("-f is not available in the native nftables form");
    if (rule.in_interface) {
      auto r = AddInterface(out_, NFT_META_IIFNAME, *rule.in_interface);
      if (!r.ok()) return r;
    }
    if (rule.out_interface) {
      auto r = AddInterface(out_, NFT_META_OIFNAME, *rule.out_interface);
      if (!r.ok()) return r;
    }
    bool transport = false, named = false;
    for (const auto& m : rule.matches) {
      transport = transport || SaysSomething(m);
      named = named || XlateNamesProtocol(m);
    }
    protocol_ = rule.protocol;
    if (named && rule.inv_protocol) return EncodeError("a translated match needs its protocol not negated");
    if (rule.protocol != 0 && !transport && !named) {
      // `ip protocol tcp` / `meta l4proto tcp`: said only when no port or flag says it (nft
      // then adds `meta l4proto` itself, before the first transport header load).
      if (family_ == Family::kIpv4)
        out_.Payload(NFT_PAYLOAD_NETWORK_HEADER, kIpv4Protocol, 1);
      else
        out_.Meta(NFT_META_L4PROTO);
      uint8_t p = static_cast<uint8_t>(rule.protocol);
      out_.Cmp(CmpOp(rule.inv_protocol), &p, 1);
      dependency_done_ = true;  // said already: nft adds no `meta l4proto` before a transport load
    } else if (transport && (rule.inv_protocol || (rule.protocol != IPPROTO_TCP && rule.protocol != IPPROTO_UDP))) {
      return EncodeError("ports and TCP flags need -p tcp or -p udp");
    }
    if (HasAddress(rule.src, bytes_)) {
      auto r = AddAddress(out_, SaddrOffset(family_), *rule.src, bytes_);
      if (!r.ok()) return r;
    }
    if (HasAddress(rule.dst, bytes_)) {
      auto r = AddAddress(out_, DaddrOffset(family_), *rule.dst, bytes_);
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
          out_.Payload(NFT_PAYLOAD_TRANSPORT_HEADER, kTcpFlagsOffset, 1);
          out_.Bitwise(&t->flag_mask, 1, true);
          out_.Cmp(CmpOp(t->inv_flags), &t->flag_compare, 1);
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
      } else if (auto ports = PortListOf(std::get<OpaqueExtension>(m))) {
        if (!ports->ok()) return ports->error();
        auto r = Multiport(ports->value(), rule.inv_protocol);
        if (!r.ok()) return r;
      } else if (!out_.objects()) {
        return NeedsObjects();  // a set lookup or a translated match: libnftnl writes those
      } else if (auto l = SetLookupOf(std::get<OpaqueExtension>(m))) {
        AddSetLookup(out_.objects(), family_, *l);
      } else if (auto x = AddXlateMatch(XlateRule{out_.objects(), family_, [this] { Dependency(); }, [this](AnonymousSetBuilder b, bool inv) { return Lookup(std::move(b), inv); },
                                            [this](AnonymousSetBuilder b) { return BatchSet(std::move(b)); }},
                                   std::get<OpaqueExtension>(m))) {
        if (!x->ok()) return x->error();
      } else {
        return EncodeError("match " + std::get<OpaqueExtension>(m).name + " is not available in the native nftables form");
      }
    }
    if (needs_objects_) return Unit{};
    out_.Counter();
    if (comment) comment_ = comment->comment;
    return Target(rule.target);
  }

  // The comment, for the rule's userdata (empty: none).
  const std::string& comment() const { return comment_; }
  // Whether the rule holds what only libnftnl writes here (Write then stopped, and wrote part of it).
  bool needs_objects() const { return needs_objects_; }
  // The rule's anonymous sets (port lists, weekdays), in the order its lookups name them.
  const std::vector<AnonymousSetBuilder>& anonymous_sets() const { return anonymous_sets_; }

 private:
  // nft's implicit `meta l4proto tcp` before the first transport header load of the rule,
  // unless the rule said its protocol already.
  void Dependency() {
    if (dependency_done_) return;
    dependency_done_ = true;
    out_.Meta(NFT_META_L4PROTO);
    uint8_t p = static_cast<uint8_t>(protocol_);
    out_.Cmp(NFT_CMP_EQ, &p, 1);
  }

  // nft merges `tcp sport 3 tcp dport 4` into one 4-byte load (payload_try_merge). It merges
  // `sport != 3 dport != 4` the same way, which then matches when either port differs; we keep
  // negated ports apart, so the rule means what iptables means (both differ).
  void Ports(const PortRange& s, bool inv_s, const PortRange& d, bool inv_d) {
    if (s.lo == s.hi && d.lo == d.hi && !inv_s && !inv_d) {
      Dependency();
      uint16_t both[2] = {htons(s.lo), htons(d.lo)};
      out_.Payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 4);
      out_.Cmp(NFT_CMP_EQ, both, sizeof both);
      return;
    }
    if (!IsAny(s, inv_s)) {
      Dependency();
      AddPort(out_, 0, s, inv_s);
    }
    if (!IsAny(d, inv_d)) {
      Dependency();
      AddPort(out_, 2, d, inv_d);
    }
  }

  // `tcp dport { 22, 80-89 }` (a lookup of the list's anonymous set, by set id: the sets go
  // before the rule in its message), or `tcp dport 80-88` for one port or range.
  Result<Unit> Multiport(const PortList& l, bool inv_protocol) {
    if (inv_protocol || !MultiportProtocol(protocol_)) return EncodeError("multiport needs -p tcp, udp, udplite, sctp or dccp");
    Dependency();
    uint32_t offset = l.source ? 0 : 2;
    if (l.ranges.size() == 1) {
      AddPort(out_, offset, l.ranges[0], l.invert);
      return Unit{};
    }
    out_.Payload(NFT_PAYLOAD_TRANSPORT_HEADER, offset, 2);
    auto protocol = static_cast<uint8_t>(protocol_);
    return Lookup([l, protocol](Family f, const std::string& table, uint32_t id, uint32_t seq) { return EncodePortSet(f, table, l, protocol, id, seq); },
                  l.invert);
  }

  Result<Unit> NeedsObjects() {
    needs_objects_ = true;
    return Unit{};
  }

  // The lookup of the rule's next anonymous set, by its id in the batch.
  Result<Unit> Lookup(AnonymousSetBuilder build, bool invert) {
    if (!out_.objects()) return NeedsObjects();
    auto id = BatchSet(std::move(build));
    if (!id.ok()) return id.error();
    AddAnonymousLookup(out_.objects(), id.value(), invert);
    return Unit{};
  }

  // The rule's next set in its batch (anonymous sets, meters): its id there.
  Result<uint32_t> BatchSet(AnonymousSetBuilder build) {
    if (anonymous_sets_.size() >= kAnonymousSetsPerRule) return TooManySets();
    uint32_t id = anonymous_set_id_ + static_cast<uint32_t>(anonymous_sets_.size());
    anonymous_sets_.push_back(std::move(build));
    return id;
  }

  static KernelError TooManySets() {
    return EncodeError("at most 16 anonymous sets (multiport lists, weekday lists, hashlimit meters) per rule in the native nftables form");
  }

  // `add @set { ip saddr [and MASK] ct count [over] N }`.
  void Connlimit(const ConnlimitMatch& c) {
    uint32_t off = c.daddr ? DaddrOffset(family_) : SaddrOffset(family_);
    out_.Payload(NFT_PAYLOAD_NETWORK_HEADER, off, bytes_);
    if (c.mask_bits >= 0 && c.mask_bits < bytes_ * 8) {
      uint8_t mask[16];
      PrefixMask(c.mask_bits, bytes_, mask);
      out_.Bitwise(mask, bytes_, true);
    }
    // --connlimit-above N is `ct count over N` (NFT_CONNLIMIT_F_INV); --connlimit-upto is `ct count N`.
    out_.CountInSet(set_name_, set_id_, c.limit, c.invert ? 0 : NFT_CONNLIMIT_F_INV);
  }

  Result<Unit> Target(const connlimit::core::Target& t) {
    using K = connlimit::core::Target::Kind;
    if (t.kind == K::kVerdict && t.name == "DROP") {
      out_.Verdict(NF_DROP);
      return Unit{};
    }
    if (t.kind == K::kReject) {
      if (t.name == kTcpReset) {
        out_.Reject(NFT_REJECT_TCP_RST, 0);
        return Unit{};
      }
      const RejectCode* rc = FindReject(family_, [&](const RejectCode& c) { return t.name == c.name; });
      if (!rc) return EncodeError("REJECT --reject-with " + t.name);
      out_.Reject(NFT_REJECT_ICMP_UNREACH, rc->code);
      return Unit{};
    }
    // LOG, NFLOG, MARK, CONNMARK, TCPMSS: a statement in place of the verdict; the packet goes on.
    if (!out_.objects()) return NeedsObjects();
    if (auto x = AddXlateTarget(out_.objects(), t)) return *x;
    return EncodeError("the native nftables form takes DROP, REJECT and the targets it translates (LOG, NFLOG, MARK, CONNMARK, TCPMSS) only");
  }

  Exprs& out_;
  Family family_;
  int bytes_;
  const std::string& set_name_;
  uint32_t set_id_;
  uint32_t anonymous_set_id_;
  std::vector<AnonymousSetBuilder> anonymous_sets_;
  uint16_t protocol_ = 0;
  bool dependency_done_ = false;
  bool needs_objects_ = false;
  std::string comment_;
};

Message Finish(struct nlmsghdr* nlh, const MessageRoom& buf) { return buf.Take(nlh); }

}  // namespace

std::vector<uint8_t> EncodeNftablesTable(Family family, const std::string& table, uint32_t seq) {
  std::unique_ptr<struct nftnl_table, void (*)(const struct nftnl_table*)> t(nftnl_table_alloc(), nftnl_table_free);
  nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, NfProto(family));
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, table.c_str());
  nftnl_table_set_u32(t.get(), NFTNL_TABLE_FLAGS, 0);
  MessageRoom buf(MNL_SOCKET_BUFFER_SIZE);
  auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), NFT_MSG_NEWTABLE, NfProto(family), 0, seq);
  nftnl_table_nlmsg_build_payload(nlh, t.get());
  return Finish(nlh, buf);
}

std::vector<uint8_t> EncodeDelNftablesTable(Family family, const std::string& table, uint32_t seq) {
  std::unique_ptr<struct nftnl_table, void (*)(const struct nftnl_table*)> t(nftnl_table_alloc(), nftnl_table_free);
  nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, NfProto(family));
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, table.c_str());
  MessageRoom buf(MNL_SOCKET_BUFFER_SIZE);
  auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), NFT_MSG_DELTABLE, NfProto(family), 0, seq);
  nftnl_table_nlmsg_build_payload(nlh, t.get());
  return Finish(nlh, buf);
}

std::vector<uint8_t> EncodeNftablesBaseChain(Family family, const std::string& table, const BuiltinChain& chain, uint32_t seq) {
  // The attribute order of nft's mnl_nft_chain_add (table, name, type, policy, hook), which
  // differs from libnftnl's (iptables-nft's).
  MessageRoom buf(MNL_SOCKET_BUFFER_SIZE);
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

// Written attribute by attribute, in the order libnftnl's nftnl_set_nlmsg_build_payload (and so
// nft) writes them: every append sends one, and through a libnftnl set object (its
// allocations, a copy of each name, a 256-byte user data buffer) it took 2.2 µs, now 0.4.
std::vector<uint8_t> EncodeConnlimitSet(Family family, const std::string& table, const std::string& name, uint32_t id,
                                        uint32_t seq) {
  MessageRoom buf(1024 + table.size() + name.size());  // the set's attributes and names
  auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), NFT_MSG_NEWSET, NfProto(family), NLM_F_CREATE, seq);
  mnl_attr_put_strz(nlh, NFTA_SET_TABLE, table.c_str());
  mnl_attr_put_strz(nlh, NFTA_SET_NAME, name.c_str());
  mnl_attr_put_u32(nlh, NFTA_SET_FLAGS, htonl(NFT_SET_EVAL));  // `flags dynamic`
  mnl_attr_put_u32(nlh, NFTA_SET_KEY_TYPE, htonl(family == Family::kIpv4 ? kTypeIpAddr : kTypeIp6Addr));
  mnl_attr_put_u32(nlh, NFTA_SET_KEY_LEN, htonl(AddressBytes(family)));
  mnl_attr_put_u32(nlh, NFTA_SET_ID, htonl(id));
  // User data as nftnl_udata_put_u32 lays it out: type, length, the value in host order.
  uint8_t udata[2 + sizeof(uint32_t)] = {NFTNL_UDATA_SET_KEYBYTEORDER, sizeof(uint32_t)};
  uint32_t order = kByteorderBigEndian;
  std::memcpy(udata + 2, &order, sizeof order);
  mnl_attr_put(nlh, NFTA_SET_USERDATA, sizeof udata, udata);
  return Finish(nlh, buf);
}

std::vector<uint8_t> EncodeDelSet(Family family, const std::string& table, const std::string& name, uint32_t seq, Writing how) {
  if (how == Writing::kDirect) {
    // nftnl_set_nlmsg_build_payload's order: the table, then the name.
    MessageRoom buf(64 + MNL_ALIGN(table.size() + 1) + MNL_ALIGN(name.size() + 1));
    auto* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_DELSET, NfProto(family), 0, seq);
    mnl_attr_put_strz(nlh, NFTA_SET_TABLE, table.c_str());
    mnl_attr_put_strz(nlh, NFTA_SET_NAME, name.c_str());
    return Finish(nlh, buf);
  }
  std::unique_ptr<struct nftnl_set, void (*)(const struct nftnl_set*)> s(nftnl_set_alloc(), nftnl_set_free);
  nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, NfProto(family));
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, table.c_str());
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, name.c_str());
  MessageRoom buf(512 + table.size() + name.size());
  auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), NFT_MSG_DELSET, NfProto(family), 0, seq);
  nftnl_set_nlmsg_build_payload(nlh, s.get());
  return Finish(nlh, buf);
}

const ConnlimitMatch* ConnlimitOf(const RuleSpec& rule) {
  for (const auto& m : rule.matches)
    if (const auto* c = std::get_if<ConnlimitMatch>(&m)) return c;
  return nullptr;
}

namespace {

// nft puts the comment after the expressions (libnftnl would put it before them).
Result<Unit> PutComment(struct nlmsghdr* nlh, const std::string& comment) {
  if (comment.empty()) return Unit{};
  UdataPtr ud(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN), nftnl_udata_buf_free);
  if (!nftnl_udata_put_strz(ud.get(), NFTNL_UDATA_RULE_COMMENT, comment.c_str())) return EncodeError("comment too long");
  mnl_attr_put(nlh, NFTA_RULE_USERDATA, nftnl_udata_buf_len(ud.get()), nftnl_udata_buf_data(ud.get()));
  return Unit{};
}

// The rule written straight into its message; nullopt when it holds what only libnftnl writes
// here (a set lookup, a port or weekday list, a translated match or target), which never has
// anonymous sets to go before it.
std::optional<Result<Message>> EncodeDirect(Family family, const std::string& table, const std::string& chain, const RuleSpec& rule,
                                            const std::string& set_name, uint32_t set_id, const RulePlacement& where, uint32_t seq) {
  // What Direct writes for a match is under 1 KiB (a port range each way and TCP flags, with
  // their protocol test); addresses, interfaces, the connlimit set and the verdict, the comment
  // (at most 256 bytes) and the names fit in the rest.
  MessageRoom buf(2048 + 1024 * rule.matches.size() + table.size() + chain.size() + set_name.size());
  auto* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_NEWRULE, NfProto(family), where.nlm_flags, seq);
  auto* exprs = PutRuleStart(nlh, table, chain, where);
  ExprsOn<struct nlmsghdr*> out(nlh);
  RuleWriter writer(out, family, set_name, set_id, 0);
  auto written = writer.Write(rule);
  if (writer.needs_objects()) return std::nullopt;
  if (!written.ok()) return Result<Message>(written.error());
  PutRuleEnd(nlh, exprs, where);
  auto comment = PutComment(nlh, writer.comment());
  if (!comment.ok()) return Result<Message>(comment.error());
  return Result<Message>(Finish(nlh, buf));
}

Result<Message> EncodeWithObjects(Family family, const std::string& table, const std::string& chain, const RuleSpec& rule,
                                  const std::string& set_name, uint32_t set_id, uint32_t anonymous_set_id, const RulePlacement& where,
                                  uint32_t seq) {
  RulePtr r = NewRule(family, table, chain, where);
  if (!r) return KernelError{"encode", ENOMEM, "nftnl_rule_alloc", -1};
  ExprsOn<struct nftnl_rule*> out(r.get());
  RuleWriter writer(out, family, set_name, set_id, anonymous_set_id);
  auto written = writer.Write(rule);
  if (!written.ok()) return written.error();
  // Every expression is small (addresses 16 bytes, names 16); the comment is at most 256.
  MessageRoom buf(8192 + 256 * rule.matches.size() + table.size() + chain.size() + set_name.size());
  auto* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_NEWRULE, NfProto(family), where.nlm_flags, seq);
  nftnl_rule_nlmsg_build_payload(nlh, r.get());
  auto comment = PutComment(nlh, writer.comment());
  if (!comment.ok()) return comment.error();
  if (nlh->nlmsg_len > buf.size()) return EncodeError("rule too large");
  if (writer.anonymous_sets().empty()) return Finish(nlh, buf);
  // The anonymous sets first, in the same message sequence number as the rule.
  std::vector<uint8_t> out_bytes;
  for (size_t i = 0; i < writer.anonymous_sets().size(); i++) {
    auto set = writer.anonymous_sets()[i](family, table, anonymous_set_id + static_cast<uint32_t>(i), seq);
    out_bytes.insert(out_bytes.end(), set.begin(), set.end());
  }
  auto rule_msg = buf.Take(nlh);
  out_bytes.insert(out_bytes.end(), rule_msg.begin(), rule_msg.end());
  return out_bytes;
}

}  // namespace

Result<std::vector<uint8_t>> EncodeNftablesRule(Family family, const std::string& table, const std::string& chain,
                                                const RuleSpec& rule, const std::string& set_name, uint32_t set_id, uint32_t anonymous_set_id,
                                                const RulePlacement& where, uint32_t seq, RuleWriting how) {
  if (how != RuleWriting::kObjects) {
    auto direct = EncodeDirect(family, table, chain, rule, set_name, set_id, where, seq);
    if (direct) return std::move(*direct);
    if (how == RuleWriting::kDirect) return Message{};
  }
  return EncodeWithObjects(family, table, chain, rule, set_name, set_id, anonymous_set_id, where, seq);
}

}  // namespace connlimit::core::nft
