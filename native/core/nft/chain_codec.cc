// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/chain_codec.h"

#include <arpa/inet.h>
#include <endian.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "core/nft/nfproto.h"

namespace connlimit::core::nft {
namespace {

// iptables/nft.c xtables_ipv4[] (identical for ip6): hook and priority of each base chain.
constexpr BuiltinChain kFilter[] = {
    {"INPUT", NF_INET_LOCAL_IN, 0, "filter"}, {"FORWARD", NF_INET_FORWARD, 0, "filter"}, {"OUTPUT", NF_INET_LOCAL_OUT, 0, "filter"}};
constexpr BuiltinChain kRaw[] = {{"PREROUTING", NF_INET_PRE_ROUTING, -300, "filter"}, {"OUTPUT", NF_INET_LOCAL_OUT, -300, "filter"}};
constexpr BuiltinChain kMangle[] = {
    {"PREROUTING", NF_INET_PRE_ROUTING, -150, "filter"}, {"INPUT", NF_INET_LOCAL_IN, -150, "filter"},
    {"FORWARD", NF_INET_FORWARD, -150, "filter"},        {"OUTPUT", NF_INET_LOCAL_OUT, -150, "route"},
    {"POSTROUTING", NF_INET_POST_ROUTING, -150, "filter"}};
constexpr BuiltinChain kNat[] = {
    {"PREROUTING", NF_INET_PRE_ROUTING, -100, "nat"}, {"INPUT", NF_INET_LOCAL_IN, 100, "nat"},
    {"OUTPUT", NF_INET_LOCAL_OUT, -100, "nat"},       {"POSTROUTING", NF_INET_POST_ROUTING, 100, "nat"}};
constexpr BuiltinChain kSecurity[] = {
    {"INPUT", NF_INET_LOCAL_IN, 150, "filter"}, {"FORWARD", NF_INET_FORWARD, 150, "filter"}, {"OUTPUT", NF_INET_LOCAL_OUT, 150, "filter"}};

using ChainPtr = std::unique_ptr<struct nftnl_chain, void (*)(const struct nftnl_chain*)>;
using RulePtr = std::unique_ptr<struct nftnl_rule, void (*)(const struct nftnl_rule*)>;

std::vector<uint8_t> Build(uint16_t type, Family family, uint16_t flags, uint32_t seq, struct nftnl_chain* c) {
  std::vector<uint8_t> buf(MNL_SOCKET_BUFFER_SIZE, 0);
  struct nlmsghdr* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), type, NfProto(family), flags, seq);
  nftnl_chain_nlmsg_build_payload(nlh, c);
  buf.resize(nlh->nlmsg_len);
  return buf;
}

ChainPtr NewChain(Family family, const std::string& table, const std::string& name) {
  ChainPtr c(nftnl_chain_alloc(), nftnl_chain_free);
  nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, NfProto(family));
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, table.c_str());
  if (!name.empty()) nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, name.c_str());
  return c;
}

}  // namespace

std::vector<BuiltinChain> BuiltinChainsOf(const std::string& table) {
  auto v = [](const auto& a) { return std::vector<BuiltinChain>(std::begin(a), std::end(a)); };
  if (table == "filter") return v(kFilter);
  if (table == "raw") return v(kRaw);
  if (table == "mangle") return v(kMangle);
  if (table == "nat") return v(kNat);
  if (table == "security") return v(kSecurity);
  return {};
}

const BuiltinChain* FindBuiltin(const std::string& table, const std::string& chain) {
  const BuiltinChain* begin = nullptr;
  size_t n = 0;
  if (table == "filter") begin = kFilter, n = std::size(kFilter);
  else if (table == "raw") begin = kRaw, n = std::size(kRaw);
  else if (table == "mangle") begin = kMangle, n = std::size(kMangle);
  else if (table == "nat") begin = kNat, n = std::size(kNat);
  else if (table == "security") begin = kSecurity, n = std::size(kSecurity);
  for (size_t i = 0; i < n; i++)
    if (chain == begin[i].name) return &begin[i];
  return nullptr;
}

std::vector<uint8_t> EncodeNewTable(Family family, const std::string& table, uint32_t seq) {
  std::unique_ptr<struct nftnl_table, void (*)(const struct nftnl_table*)> t(nftnl_table_alloc(), nftnl_table_free);
  nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, NfProto(family));
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, table.c_str());
  std::vector<uint8_t> buf(MNL_SOCKET_BUFFER_SIZE, 0);
  struct nlmsghdr* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), NFT_MSG_NEWTABLE, NfProto(family), NLM_F_CREATE, seq);
  nftnl_table_nlmsg_build_payload(nlh, t.get());
  buf.resize(nlh->nlmsg_len);
  return buf;
}

std::vector<uint8_t> EncodeNewBaseChain(Family family, const std::string& table, const BuiltinChain& chain, uint32_t policy,
                                        uint32_t seq) {
  auto c = NewChain(family, table, chain.name);
  nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, chain.hooknum);
  nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, chain.priority);
  nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_POLICY, policy);
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, chain.type);
  return Build(NFT_MSG_NEWCHAIN, family, NLM_F_CREATE, seq, c.get());
}

std::vector<uint8_t> EncodeNewUserChain(Family family, const std::string& table, const std::string& name, uint32_t seq) {
  auto c = NewChain(family, table, name);
  return Build(NFT_MSG_NEWCHAIN, family, NLM_F_EXCL, seq, c.get());
}

std::vector<uint8_t> EncodeRenameChain(Family family, const std::string& table, uint64_t handle, const std::string& to, uint32_t seq) {
  auto c = NewChain(family, table, to);
  nftnl_chain_set_u64(c.get(), NFTNL_CHAIN_HANDLE, handle);
  return Build(NFT_MSG_NEWCHAIN, family, 0, seq, c.get());
}

std::vector<uint8_t> EncodeDelChain(Family family, const std::string& table, const std::string& name, uint32_t seq) {
  auto c = NewChain(family, table, name);
  return Build(NFT_MSG_DELCHAIN, family, 0, seq, c.get());
}

std::vector<uint8_t> EncodeDelRule(Family family, const std::string& table, const std::string& chain, uint64_t handle,
                                   uint32_t id, uint32_t seq, Writing how) {
  if (how == Writing::kDirect) {
    // nftnl_rule_nlmsg_build_payload's order for these attributes (a rule with no expressions
    // writes no NFTA_RULE_EXPRESSIONS): no rule object, no 8 KiB room.
    MessageRoom buf(64 + MNL_ALIGN(table.size() + 1) + MNL_ALIGN(chain.size() + 1));
    auto* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_DELRULE, NfProto(family), 0, seq);
    mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, table.c_str());
    if (!chain.empty()) mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, chain.c_str());
    if (handle) mnl_attr_put_u64(nlh, NFTA_RULE_HANDLE, htobe64(handle));
    if (id) mnl_attr_put_u32(nlh, NFTA_RULE_ID, htonl(id));
    return buf.Take(nlh);
  }
  RulePtr r(nftnl_rule_alloc(), nftnl_rule_free);
  nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, NfProto(family));
  nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, table.c_str());
  if (!chain.empty()) nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain.c_str());
  if (handle) nftnl_rule_set_u64(r.get(), NFTNL_RULE_HANDLE, handle);
  if (id) nftnl_rule_set_u32(r.get(), NFTNL_RULE_ID, id);
  std::vector<uint8_t> buf(MNL_SOCKET_BUFFER_SIZE, 0);
  struct nlmsghdr* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), NFT_MSG_DELRULE, NfProto(family), 0, seq);
  nftnl_rule_nlmsg_build_payload(nlh, r.get());
  buf.resize(nlh->nlmsg_len);
  return buf;
}

Result<DecodedChain> DecodeChainMessage(const uint8_t* msg, size_t len) {
  const auto* nlh = reinterpret_cast<const struct nlmsghdr*>(msg);
  if (len < sizeof *nlh || nlh->nlmsg_len > len) return KernelError{"decode", EINVAL, "chain message", -1, ErrorKind::kMalformed};
  ChainPtr c(nftnl_chain_alloc(), nftnl_chain_free);
  if (nftnl_chain_nlmsg_parse(nlh, c.get()) < 0) return KernelError{"decode", EINVAL, "chain message", -1, ErrorKind::kMalformed};
  DecodedChain d;
  auto str = [&](uint16_t a) { return nftnl_chain_is_set(c.get(), a) ? std::string(nftnl_chain_get_str(c.get(), a)) : std::string(); };
  d.table = str(NFTNL_CHAIN_TABLE);
  d.name = str(NFTNL_CHAIN_NAME);
  d.handle = nftnl_chain_get_u64(c.get(), NFTNL_CHAIN_HANDLE);
  d.base = nftnl_chain_is_set(c.get(), NFTNL_CHAIN_HOOKNUM);
  if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_POLICY)) d.policy = nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_POLICY);
  if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_PACKETS)) d.packets = nftnl_chain_get_u64(c.get(), NFTNL_CHAIN_PACKETS);
  if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_BYTES)) d.bytes = nftnl_chain_get_u64(c.get(), NFTNL_CHAIN_BYTES);
  if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_USE)) d.use = nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_USE);
  return d;
}

std::optional<uint32_t> DecodeTableOwner(const uint8_t* msg, size_t len) {
  const auto* nlh = reinterpret_cast<const struct nlmsghdr*>(msg);
  if (len < sizeof *nlh || nlh->nlmsg_len > len) return std::nullopt;
  std::unique_ptr<struct nftnl_table, void (*)(const struct nftnl_table*)> t(nftnl_table_alloc(), nftnl_table_free);
  if (nftnl_table_nlmsg_parse(nlh, t.get()) < 0) return std::nullopt;
  if (!(nftnl_table_get_u32(t.get(), NFTNL_TABLE_FLAGS) & NFT_TABLE_F_OWNER)) return std::nullopt;
  return nftnl_table_get_u32(t.get(), NFTNL_TABLE_OWNER);
}

Result<std::string> DecodeTableName(const uint8_t* msg, size_t len) {
  const auto* nlh = reinterpret_cast<const struct nlmsghdr*>(msg);
  std::unique_ptr<struct nftnl_table, void (*)(const struct nftnl_table*)> t(nftnl_table_alloc(), nftnl_table_free);
  if (len < sizeof *nlh || nlh->nlmsg_len > len || nftnl_table_nlmsg_parse(nlh, t.get()) < 0)
    return KernelError{"decode", EINVAL, "table message", -1, ErrorKind::kMalformed};
  return std::string(nftnl_table_get_str(t.get(), NFTNL_TABLE_NAME));
}

}  // namespace connlimit::core::nft
