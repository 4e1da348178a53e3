// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/native/nftables_anonymous_set.h"

#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <cerrno>

#include "core/nft/expr_writer.h"

namespace connlimit::core::nft::nftables {

void AddAnonymousLookup(struct nftnl_rule* r, uint32_t id, bool invert) {
  auto* e = AddExpr(r, "lookup");
  nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, kReg);
  nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, kAnonymousSetPattern);
  nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, id);
  if (invert) nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
}

const std::vector<RawElement>* LookupElements(const Expr& k, const AnonymousSetElements& sets, bool* invert) {
  if (k.name != "lookup" || !sets || !k.a[NFTA_LOOKUP_SET] || k.a[NFTA_LOOKUP_DREG]) return nullptr;
  uint32_t flags = Be32(k.a[NFTA_LOOKUP_FLAGS]);
  if (flags & ~static_cast<uint32_t>(NFT_LOOKUP_F_INV)) return nullptr;
  *invert = (flags & NFT_LOOKUP_F_INV) != 0;
  return sets(Str(k.a[NFTA_LOOKUP_SET]), Be32(k.a[NFTA_LOOKUP_SET_ID]));
}

void AppendMessage(Message* out, const struct nlmsghdr* nlh) {
  const auto* p = reinterpret_cast<const uint8_t*>(nlh);
  out->insert(out->end(), p, p + nlh->nlmsg_len);
}

Result<Unit> ReadElementMessage(const uint8_t* msg, size_t len, std::string* set, uint32_t* id, std::vector<RawElement>* out) {
  // Read here rather than by libnftnl, whose parser refuses the set id a batch's message carries.
  auto bad = [](const char* what) { return KernelError{"decode", EBADMSG, what, -1, ErrorKind::kMalformed}; };
  const auto* nlh = reinterpret_cast<const struct nlmsghdr*>(msg);
  if (len < sizeof(struct nlmsghdr) + sizeof(struct nfgenmsg) || nlh->nlmsg_len > len || nlh->nlmsg_len < sizeof(struct nlmsghdr) + sizeof(struct nfgenmsg))
    return bad("an element message shorter than its headers");
  const auto* a = static_cast<const struct nlattr*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(struct nfgenmsg)));
  int left = static_cast<int>(reinterpret_cast<const char*>(msg) + nlh->nlmsg_len - reinterpret_cast<const char*>(a));
  const struct nlattr* list = nullptr;
  for (; mnl_attr_ok(a, left); a = mnl_attr_next(a)) {
    left -= static_cast<int>(MNL_ALIGN(a->nla_len));
    switch (mnl_attr_get_type(a)) {
      case NFTA_SET_ELEM_LIST_SET: *set = Str(a); break;
      case NFTA_SET_ELEM_LIST_SET_ID: *id = Be32(a); break;
      case NFTA_SET_ELEM_LIST_ELEMENTS: list = a; break;
      default: break;
    }
  }
  if (!list) return Unit{};
  const auto* e = static_cast<const struct nlattr*>(mnl_attr_get_payload(list));
  for (int n = static_cast<int>(mnl_attr_get_payload_len(list)); mnl_attr_ok(e, n); e = mnl_attr_next(e)) {
    n -= static_cast<int>(MNL_ALIGN(e->nla_len));
    // Any type: libnftnl numbers a batch's elements 1, 2, 3... where the kernel says NFTA_LIST_ELEM.
    auto el = ParseNested(e);
    if (!el[NFTA_SET_ELEM_KEY]) return bad("an element without a key");
    RawElement r;
    r.key = Value(el[NFTA_SET_ELEM_KEY]);
    r.interval_end = (Be32(el[NFTA_SET_ELEM_FLAGS]) & NFT_SET_ELEM_INTERVAL_END) != 0;
    out->push_back(std::move(r));
  }
  return Unit{};
}

}  // namespace connlimit::core::nft::nftables
