// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/socket_reads.h"

#include <libnftnl/common.h>
#include <libnftnl/set.h>

#include <memory>
#include "core/nft/nfproto.h"

namespace connlimit::core::nft {

Result<std::optional<DecodedChain>> GetChain(Socket& s, Family family, const std::string& table, const std::string& chain) {
  auto r = s.Request(GetChainRequest(family, table, chain, s.NextSeq()), false, "nft get chain");
  if (!r.ok()) {
    if (r.error().errnum != ENOENT) return r.error();
    return std::optional<DecodedChain>{};
  }
  if (r.value().empty()) return std::optional<DecodedChain>{};
  auto d = DecodeChainMessage(r.value()[0].data(), r.value()[0].size());
  if (!d.ok()) return d.error();
  return std::optional<DecodedChain>{d.take()};
}

Result<bool> SetExists(Socket& s, Family family, const std::string& table, const std::string& set) {
  std::unique_ptr<struct nftnl_set, void (*)(const struct nftnl_set*)> q(nftnl_set_alloc(), nftnl_set_free);
  nftnl_set_set_str(q.get(), NFTNL_SET_TABLE, table.c_str());
  nftnl_set_set_str(q.get(), NFTNL_SET_NAME, set.c_str());
  Message buf(MNL_SOCKET_BUFFER_SIZE, 0);
  auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), NFT_MSG_GETSET, NfProto(family), NLM_F_ACK, s.NextSeq());
  nftnl_set_nlmsg_build_payload(nlh, q.get());
  buf.resize(nlh->nlmsg_len);
  auto r = s.Request(buf, false, "nft get set");
  if (r.ok()) return true;
  if (r.error().errnum == ENOENT) return false;
  return r.error();
}

Result<std::vector<Message>> SetElementMessages(Socket& s, Family family, const std::string& table, const std::string& set) {
  using SetPtr = std::unique_ptr<struct nftnl_set, void (*)(const struct nftnl_set*)>;
  return s.Dump(
      [&](uint32_t seq) {
        SetPtr q(nftnl_set_alloc(), nftnl_set_free);
        nftnl_set_set_str(q.get(), NFTNL_SET_TABLE, table.c_str());
        nftnl_set_set_str(q.get(), NFTNL_SET_NAME, set.c_str());
        Message buf(MNL_SOCKET_BUFFER_SIZE, 0);
        auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), NFT_MSG_GETSETELEM, NfProto(family), NLM_F_DUMP, seq);
        nftnl_set_elems_nlmsg_build_payload(nlh, q.get());
        buf.resize(nlh->nlmsg_len);
        return buf;
      },
      "nft list set");
}

Result<std::vector<std::string>> SetNames(Socket& s, Family family, const std::string& table) {
  using SetPtr = std::unique_ptr<struct nftnl_set, void (*)(const struct nftnl_set*)>;
  auto msgs = s.Dump(
      [&](uint32_t seq) {
        SetPtr q(nftnl_set_alloc(), nftnl_set_free);
        nftnl_set_set_str(q.get(), NFTNL_SET_TABLE, table.c_str());
        Message buf(MNL_SOCKET_BUFFER_SIZE, 0);
        auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), NFT_MSG_GETSET, NfProto(family), NLM_F_DUMP, seq);
        nftnl_set_nlmsg_build_payload(nlh, q.get());
        buf.resize(nlh->nlmsg_len);
        return buf;
      },
      "nft list sets");
  if (!msgs.ok()) {
    if (msgs.error().errnum == ENOENT) return std::vector<std::string>{};
    return msgs.error();
  }
  std::vector<std::string> out;
  for (const auto& m : msgs.value()) {
    SetPtr set(nftnl_set_alloc(), nftnl_set_free);
    if (nftnl_set_nlmsg_parse(reinterpret_cast<const struct nlmsghdr*>(m.data()), set.get()) < 0)
      return KernelError{"nft list sets", EBADMSG, table, -1, ErrorKind::kMalformed};
    if (nftnl_set_is_set(set.get(), NFTNL_SET_TABLE) && table != nftnl_set_get_str(set.get(), NFTNL_SET_TABLE)) continue;
    // A rule's anonymous set (a multiport list) is bound to it and goes with it.
    if (nftnl_set_get_u32(set.get(), NFTNL_SET_FLAGS) & NFT_SET_ANONYMOUS) continue;
    out.push_back(nftnl_set_get_str(set.get(), NFTNL_SET_NAME));
  }
  return out;
}

}  // namespace connlimit::core::nft
