// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/native/nftables_anonymous_set.h"

#include <libmnl/libmnl.h>
#include <arpa/inet.h>
#include <libnftnl/expr.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "core/nft/expr_writer.h"
#include "core/nft/nfproto.h"

namespace connlimit::core::nft::nftables {
namespace {

// The `typeof` nest's attributes in the set's userdata (nft's src/rule.c): the expression type,
// then its data.
constexpr uint8_t kTypeofExpr = 0, kTypeofData = 1;

using SetPtr = std::unique_ptr<struct nftnl_set, void (*)(const struct nftnl_set*)>;
using UdataPtr = std::unique_ptr<struct nftnl_udata_buf, void (*)(const struct nftnl_udata_buf*)>;

}  // namespace

Message EncodeAnonymousSet(Family family, const std::string& table, const AnonymousSetKey& key, struct nftnl_set* elems, uint32_t size, uint32_t id,
                           uint32_t seq) {
  SetPtr s(nftnl_set_alloc(), nftnl_set_free);
  nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, NfProto(family));
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, table.c_str());
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, kAnonymousSetPattern);
  nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | (key.interval ? NFT_SET_INTERVAL : 0));
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, key.type);
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, key.len);
  nftnl_set_set_u32(s.get(), NFTNL_SET_ID, id);
  nftnl_set_set_u32(s.get(), NFTNL_SET_DESC_SIZE, size);
  UdataPtr ud(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN), nftnl_udata_buf_free);
  nftnl_udata_put_u32(ud.get(), NFTNL_UDATA_SET_KEYBYTEORDER, key.byteorder);
  if (key.interval) nftnl_udata_put_u32(ud.get(), NFTNL_UDATA_SET_MERGE_ELEMENTS, 1);
  auto* typeof_key = nftnl_udata_nest_start(ud.get(), NFTNL_UDATA_SET_KEY_TYPEOF);
  nftnl_udata_put_u32(ud.get(), kTypeofExpr, key.typeof_expr);
  auto* data = nftnl_udata_nest_start(ud.get(), kTypeofData);
  key.typeof_data(ud.get());
  nftnl_udata_nest_end(ud.get(), data);
  nftnl_udata_nest_end(ud.get(), typeof_key);
  nftnl_set_set_data(s.get(), NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud.get()), nftnl_udata_buf_len(ud.get()));

  Message out;
  std::vector<uint8_t> buf(MNL_SOCKET_BUFFER_SIZE, 0);
  auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), NFT_MSG_NEWSET, NfProto(family), NLM_F_CREATE, seq);
  nftnl_set_nlmsg_build_payload(nlh, s.get());
  AppendMessage(&out, nlh);
  std::fill(buf.begin(), buf.end(), 0);
  nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), NFT_MSG_NEWSETELEM, NfProto(family), NLM_F_CREATE, seq);
  mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table.c_str());
  mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, kAnonymousSetPattern);
  mnl_attr_put_u32(nlh, NFTA_SET_ELEM_LIST_SET_ID, htonl(id));
  nftnl_set_elems_nlmsg_build_payload(nlh, elems);
  AppendMessage(&out, nlh);
  return out;
}

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
