// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/expr_reader.h"

#include <arpa/inet.h>
#include <endian.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <cerrno>
#include <cstring>

namespace connlimit::core::nft {
namespace {

void ParseAttrs(const char* p, int left, Attrs* tb) {
  for (auto* a = reinterpret_cast<const struct nlattr*>(p); mnl_attr_ok(a, left);) {
    uint16_t type = mnl_attr_get_type(a);
    if (type < kMaxAttr) (*tb)[type] = a;
    left -= static_cast<int>(MNL_ALIGN(a->nla_len));
    a = reinterpret_cast<const struct nlattr*>(reinterpret_cast<const char*>(a) + MNL_ALIGN(a->nla_len));
  }
}

}  // namespace

Attrs ParseNested(const struct nlattr* nest) {
  Attrs tb{};
  ParseAttrs(static_cast<const char*>(mnl_attr_get_payload(nest)), static_cast<int>(mnl_attr_get_payload_len(nest)), &tb);
  return tb;
}

uint32_t Be32(const struct nlattr* a) { return a && mnl_attr_get_payload_len(a) >= 4 ? ntohl(mnl_attr_get_u32(a)) : 0; }
uint64_t Be64(const struct nlattr* a) { return a && mnl_attr_get_payload_len(a) >= 8 ? be64toh(mnl_attr_get_u64(a)) : 0; }

std::string Str(const struct nlattr* a) {
  if (!a) return "";
  const char* p = static_cast<const char*>(mnl_attr_get_payload(a));
  return std::string(p, strnlen(p, mnl_attr_get_payload_len(a)));
}

std::vector<uint8_t> Value(const struct nlattr* a) {
  if (!a) return {};
  auto tb = ParseNested(a);
  const auto* v = tb[NFTA_DATA_VALUE];
  if (!v) return {};
  const auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(v));
  return std::vector<uint8_t>(p, p + mnl_attr_get_payload_len(v));
}

OpaqueExtension OpaqueExpr(const Expr& e) {
  OpaqueExtension o;
  o.name = kOpaqueExprPrefix + e.name;
  if (e.data) {
    const auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(e.data));
    o.data.assign(p, p + mnl_attr_get_payload_len(e.data));
  }
  return o;
}

bool CmpEqNeq(const Expr* k, bool* invert, std::vector<uint8_t>* data) {
  if (!k || k->name != "cmp") return false;
  uint32_t op = Be32(k->a[NFTA_CMP_OP]);
  if (op != NFT_CMP_EQ && op != NFT_CMP_NEQ) return false;
  *invert = op == NFT_CMP_NEQ;
  *data = Value(k->a[NFTA_CMP_DATA]);
  return true;
}

bool IsMetaLoad(const Expr& e, uint32_t key) {
  return e.name == "meta" && e.a[NFTA_META_DREG] && !e.a[NFTA_META_SREG] && Be32(e.a[NFTA_META_KEY]) == key;
}

bool HostU32(const std::vector<uint8_t>& v, uint32_t* out) {
  if (v.size() != sizeof *out) return false;
  memcpy(out, v.data(), sizeof *out);
  return true;
}

std::optional<PayloadLoad> ReadPayloadLoad(const std::vector<Expr>& ex, size_t i) {
  const Expr& e = ex[i];
  if (e.name != "payload" || !e.a[NFTA_PAYLOAD_DREG] || e.a[NFTA_PAYLOAD_SREG]) return std::nullopt;
  PayloadLoad l;
  l.base = Be32(e.a[NFTA_PAYLOAD_BASE]);
  l.offset = Be32(e.a[NFTA_PAYLOAD_OFFSET]);
  l.len = Be32(e.a[NFTA_PAYLOAD_LEN]);
  l.next = i + 1;
  if (l.next < ex.size() && ex[l.next].name == "bitwise") {
    const Expr& b = ex[l.next];
    if (b.a[NFTA_BITWISE_OP] && Be32(b.a[NFTA_BITWISE_OP]) != NFT_BITWISE_BOOL) return std::nullopt;
    for (uint8_t c : Value(b.a[NFTA_BITWISE_XOR]))
      if (c) return std::nullopt;
    l.mask = Value(b.a[NFTA_BITWISE_MASK]);
    if (l.mask.size() != l.len) return std::nullopt;
    l.next++;
  }
  return l;
}

Address ComparedAddress(const std::vector<uint8_t>& data, const std::vector<uint8_t>& mask, bool invert) {
  Address a;
  memcpy(a.addr, data.data(), data.size());
  if (mask.empty())
    memset(a.mask, 0xFF, data.size());
  else
    memcpy(a.mask, mask.data(), data.size());
  a.invert = invert;
  return a;
}

std::optional<Target> ReadVerdict(const Expr& e) {
  if (e.name != "immediate" || Be32(e.a[NFTA_IMMEDIATE_DREG]) != NFT_REG_VERDICT || !e.a[NFTA_IMMEDIATE_DATA]) return std::nullopt;
  auto data = ParseNested(e.a[NFTA_IMMEDIATE_DATA]);
  if (!data[NFTA_DATA_VERDICT]) return std::nullopt;
  auto v = ParseNested(data[NFTA_DATA_VERDICT]);
  Target t;
  switch (static_cast<int32_t>(Be32(v[NFTA_VERDICT_CODE]))) {
    case NF_ACCEPT: t.kind = Target::Kind::kVerdict; t.name = "ACCEPT"; break;
    case NF_DROP: t.kind = Target::Kind::kVerdict; t.name = "DROP"; break;
    case NFT_RETURN: t.kind = Target::Kind::kVerdict; t.name = "RETURN"; break;
    case NFT_JUMP: t.kind = Target::Kind::kJump; t.name = Str(v[NFTA_VERDICT_CHAIN]); break;
    case NFT_GOTO: t.kind = Target::Kind::kGoto; t.name = Str(v[NFTA_VERDICT_CHAIN]); break;
    default: return std::nullopt;
  }
  return t;
}

Result<RuleMessage> ReadRuleMessage(const uint8_t* msg, size_t len) {
  auto bad = [](const char* what) { return KernelError{"decode", EINVAL, what, -1, ErrorKind::kMalformed}; };
  if (len < sizeof(struct nlmsghdr) + sizeof(struct nfgenmsg)) return bad("message shorter than its headers");
  const auto* nlh = reinterpret_cast<const struct nlmsghdr*>(msg);
  if (nlh->nlmsg_len > len || nlh->nlmsg_len < sizeof(struct nlmsghdr) + sizeof(struct nfgenmsg)) return bad("bad nlmsg_len");
  Attrs tb{};
  const char* p = static_cast<const char*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(struct nfgenmsg)));
  ParseAttrs(p, static_cast<int>(reinterpret_cast<const char*>(msg) + nlh->nlmsg_len - p), &tb);
  RuleMessage out;
  out.table = Str(tb[NFTA_RULE_TABLE]);
  out.chain = Str(tb[NFTA_RULE_CHAIN]);
  out.handle = Be64(tb[NFTA_RULE_HANDLE]);
  out.userdata = tb[NFTA_RULE_USERDATA];
  if (const auto* nest = tb[NFTA_RULE_EXPRESSIONS]) {
    const char* q = static_cast<const char*>(mnl_attr_get_payload(nest));
    int n = static_cast<int>(mnl_attr_get_payload_len(nest));
    for (auto* a = reinterpret_cast<const struct nlattr*>(q); mnl_attr_ok(a, n);) {
      auto elem = ParseNested(a);
      Expr e;
      e.name = Str(elem[NFTA_EXPR_NAME]);
      e.data = elem[NFTA_EXPR_DATA];
      if (e.data) e.a = ParseNested(e.data);
      out.exprs.push_back(std::move(e));
      n -= static_cast<int>(MNL_ALIGN(a->nla_len));
      a = reinterpret_cast<const struct nlattr*>(reinterpret_cast<const char*>(a) + MNL_ALIGN(a->nla_len));
    }
  }
  return out;
}

}  // namespace connlimit::core::nft
