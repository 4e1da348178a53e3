// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/requests.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>

#include "core/nfnl_header.h"
#include "core/nft/expr_reader.h"
#include "core/nft/nfproto.h"

namespace connlimit::core::nft {

Message GetTableRequest(Family family, const std::string& table, uint32_t seq) {
  std::unique_ptr<struct nftnl_table, void (*)(const struct nftnl_table*)> t(nftnl_table_alloc(), nftnl_table_free);
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, table.c_str());
  Message req(MNL_SOCKET_BUFFER_SIZE);
  auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(req.data()), NFT_MSG_GETTABLE, NfProto(family), 0, seq);
  nftnl_table_nlmsg_build_payload(nlh, t.get());
  req.resize(nlh->nlmsg_len);
  return req;
}

Message GetTablesRequest(Family family, uint32_t seq) {
  Message req(MNL_SOCKET_BUFFER_SIZE);
  auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(req.data()), NFT_MSG_GETTABLE, NfProto(family), NLM_F_DUMP, seq);
  req.resize(nlh->nlmsg_len);
  return req;
}

Message GetChainRequest(Family family, const std::string& table, const std::string& chain, uint32_t seq) {
  std::unique_ptr<struct nftnl_chain, void (*)(const struct nftnl_chain*)> c(nftnl_chain_alloc(), nftnl_chain_free);
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, table.c_str());
  if (!chain.empty()) nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, chain.c_str());
  Message req(MNL_SOCKET_BUFFER_SIZE);
  auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(req.data()), NFT_MSG_GETCHAIN, NfProto(family),
                                    chain.empty() ? NLM_F_DUMP : 0, seq);
  nftnl_chain_nlmsg_build_payload(nlh, c.get());
  req.resize(nlh->nlmsg_len);
  return req;
}

Message GetRulesRequest(Family family, const std::string& table, const std::string& chain, uint16_t type, uint32_t seq) {
  std::unique_ptr<struct nftnl_rule, void (*)(const struct nftnl_rule*)> r(nftnl_rule_alloc(), nftnl_rule_free);
  nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, table.c_str());
  if (!chain.empty()) nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain.c_str());
  Message req(MNL_SOCKET_BUFFER_SIZE);
  auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(req.data()), type, NfProto(family), NLM_F_DUMP, seq);
  nftnl_rule_nlmsg_build_payload(nlh, r.get());
  req.resize(nlh->nlmsg_len);
  return req;
}

BatchWriter::BatchWriter(uint32_t begin_seq, uint32_t genid) {
  char b[MNL_SOCKET_BUFFER_SIZE];
  auto* nlh = PutNfnlHeader(b, NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, begin_seq, AF_UNSPEC, htons(NFNL_SUBSYS_NFTABLES));
  mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(genid));
  Put(b, nlh->nlmsg_len);
}

void BatchWriter::Put(const void* p, size_t n) {
  size_t at = batch_.size();
  batch_.resize(at + MNL_ALIGN(n));
  std::memcpy(batch_.data() + at, p, n);
}

size_t BatchWriter::Add(const Message& m, size_t expected) {
  // Grown for `expected` messages like this one (and BATCH_END), so a batch of like messages
  // is sized once rather than copied as it grows.
  size_t need = MNL_ALIGN(m.size());
  if (batch_.capacity() - batch_.size() < need + MNL_SOCKET_BUFFER_SIZE)
    batch_.reserve(std::max(2 * batch_.capacity(), batch_.size() + MNL_SOCKET_BUFFER_SIZE + expected * need));
  size_t at = batch_.size();
  Put(m.data(), m.size());
  return at;
}

Message BatchWriter::End(uint32_t end_seq) {
  char e[MNL_SOCKET_BUFFER_SIZE];
  auto* nlh = nftnl_batch_end(e, end_seq);
  Put(e, nlh->nlmsg_len);
  return std::move(batch_);
}

Message FrameBatch(uint32_t begin_seq, uint32_t genid, const std::vector<Message>& msgs, uint32_t end_seq) {
  BatchWriter w(begin_seq, genid);
  for (size_t i = 0; i < msgs.size(); i++)
    if (!msgs[i].empty()) w.Add(msgs[i], msgs.size() - i);
  return w.End(end_seq);
}

bool HasNativeExpr(const RuleSpec& rule) {
  for (const auto& m : rule.matches)
    if (const auto* o = std::get_if<OpaqueExtension>(&m); o && o->name.rfind(kOpaqueExprPrefix, 0) == 0) return true;
  return false;
}

}  // namespace connlimit::core::nft
