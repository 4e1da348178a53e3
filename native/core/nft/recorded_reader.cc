// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/recorded_reader.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <utility>

namespace connlimit::core::nft {
namespace {

// The first u32 attribute `type` after the nfgenmsg, in host order; 0 without one.
uint32_t U32Attr(const struct nlmsghdr* nlh, uint16_t type) {
  int left = static_cast<int>(nlh->nlmsg_len - mnl_nlmsg_size(sizeof(struct nfgenmsg)));
  const auto* a = static_cast<const struct nlattr*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(struct nfgenmsg)));
  for (; mnl_attr_ok(a, left); a = reinterpret_cast<const struct nlattr*>(reinterpret_cast<const char*>(a) + MNL_ALIGN(a->nla_len))) {
    left -= static_cast<int>(MNL_ALIGN(a->nla_len));
    if (mnl_attr_get_type(a) == type && mnl_attr_get_payload_len(a) == sizeof(uint32_t)) return ntohl(mnl_attr_get_u32(a));
  }
  return 0;
}

}  // namespace

Result<RecordedState> DecodeRecording(const Form& form, const uint8_t* bytes, size_t len) {
  RecordedState st;
  bool has_gen = false;
  std::set<std::pair<std::string, std::string>> chains_seen;
  std::set<std::pair<std::string, uint64_t>> rules_seen;
  for (size_t off = 0; off + sizeof(struct nlmsghdr) <= len;) {
    const auto* nlh = reinterpret_cast<const struct nlmsghdr*>(bytes + off);
    if (nlh->nlmsg_len < sizeof *nlh || off + nlh->nlmsg_len > len) return KernelError{"decode", EINVAL, "recorded message", -1, ErrorKind::kMalformed};
    const uint8_t* msg = bytes + off;
    switch (nlh->nlmsg_type & 0xff) {
      case NFT_MSG_NEWGEN:
        if (!has_gen) st.genid = U32Attr(nlh, NFTA_GEN_ID);  // a reader asks again at its end
        has_gen = true;
        break;
      case NFT_MSG_NEWTABLE: {
        auto name = DecodeTableName(msg, nlh->nlmsg_len);
        if (!name.ok()) return name.error();
        if (std::find(st.tables.begin(), st.tables.end(), name.value()) == st.tables.end()) st.tables.push_back(name.value());
        break;
      }
      case NFT_MSG_NEWCHAIN: {
        auto d = DecodeChainMessage(msg, nlh->nlmsg_len);
        if (!d.ok()) return d.error();
        if (chains_seen.insert({d.value().table, d.value().name}).second) st.chains[d.value().table].push_back(d.take());
        break;
      }
      case NFT_MSG_NEWRULE: {
        auto r = form.DecodeRule(msg, nlh->nlmsg_len);
        if (!r.ok()) return r.error();
        if (rules_seen.insert({r.value().table, r.value().handle}).second) st.rules.push_back(r.take());
        break;
      }
      default:
        break;
    }
    off += MNL_ALIGN(nlh->nlmsg_len);
  }
  return st;
}

Result<std::vector<int>> RecordedReader::Tables() {
  std::vector<int> out;
  for (const auto& name : state_.tables) {
    int index = form_.IndexOf(name);
    if (index >= 0) out.push_back(index);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::optional<DecodedChain>> RecordedReader::Chain(int index, const std::string& name) {
  auto chains = Chains(index);
  if (!chains.ok()) return chains.error();
  for (auto& c : chains.value())
    if (c.name == name) return std::optional<DecodedChain>{std::move(c)};
  return std::optional<DecodedChain>{};
}

Result<std::vector<DecodedChain>> RecordedReader::Chains(int index) {
  auto it = state_.chains.find(form_.TableName(index));
  if (it == state_.chains.end()) return std::vector<DecodedChain>{};
  return it->second;
}

Result<std::vector<KnownRule>> RecordedReader::Rules(int index, const std::string& chain) {
  std::string table = form_.TableName(index);
  std::vector<KnownRule> out;
  for (const auto& r : state_.rules)
    if (r.table == table && (chain.empty() || r.chain == chain)) out.push_back(r);
  return out;
}

std::unique_ptr<PlanReader> RecordedLink::NewReader(const Form& form) {
  const RecordedState& st = states_[std::min(readers_++, states_.size() - 1)];
  return std::make_unique<RecordedReader>(form, st);
}

Result<Unit> RecordedLink::SendBatch(const Message& batch, const std::function<KernelError(uint32_t, int, const std::string&)>& error_for,
                                     std::vector<EchoedRule>*, uint32_t*) {
  batches_.push_back(batch);
  const auto* begin = reinterpret_cast<const struct nlmsghdr*>(batch.data());
  if (U32Attr(begin, NFNL_BATCH_GENID) != states_.back().genid) {
    KernelError e = error_for(begin->nlmsg_seq, ERESTART, "");
    e.kind = ErrorKind::kNftCommit;  // as the socket sets it for a refused batch
    return e;
  }
  return Unit{};
}

}  // namespace connlimit::core::nft
