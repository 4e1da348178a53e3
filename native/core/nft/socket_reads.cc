// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/socket_reads.h"

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>

#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>

#include "core/nft/expr_reader.h"
#include "core/nft/nfproto.h"

namespace connlimit::core::nft {
namespace {

// Gets per send: each answer is queued on our socket before the send returns, and a full
// receive queue drops the rest (their sets then read whole), so a run stays well inside its
// 208 KiB default: an absent element is one small NLMSG_ERROR.
constexpr size_t kProbesPerSend = 64;

// The element a GETSETELEM get's reply holds: its key and whether it ends an interval.
std::optional<std::pair<std::vector<uint8_t>, bool>> ElementOf(const Message& m) {
  const auto* nlh = reinterpret_cast<const struct nlmsghdr*>(m.data());
  if (m.size() < mnl_nlmsg_size(sizeof(struct nfgenmsg))) return std::nullopt;
  const auto* a = static_cast<const struct nlattr*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(struct nfgenmsg)));
  for (int left = static_cast<int>(m.size() - mnl_nlmsg_size(sizeof(struct nfgenmsg))); mnl_attr_ok(a, left); a = mnl_attr_next(a)) {
    left -= static_cast<int>(MNL_ALIGN(a->nla_len));
    if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS) continue;
    const auto* e = static_cast<const struct nlattr*>(mnl_attr_get_payload(a));
    if (!mnl_attr_ok(e, static_cast<int>(mnl_attr_get_payload_len(a)))) return std::nullopt;
    auto el = ParseNested(e);
    if (!el[NFTA_SET_ELEM_KEY]) return std::nullopt;
    return std::make_pair(Value(el[NFTA_SET_ELEM_KEY]), (Be32(el[NFTA_SET_ELEM_FLAGS]) & NFT_SET_ELEM_INTERVAL_END) != 0);
  }
  return std::nullopt;
}

// Whether the answer to a get of `probe`'s elements proves one absent: the kernel answers each
// element it finds, in order, and stops at the first it does not with ENOENT (no such element,
// or no such set). A reply naming another element than asked (an interval set answers a key
// inside a range with the range's start) proves nothing.
bool ProvesLack(const Socket::Answer& a, const SetProbe& probe) {
  if (a.error != ENOENT || a.replies.size() >= probe.elements.size()) return false;
  for (size_t i = 0; i < a.replies.size(); i++)
    if (ElementOf(a.replies[i]) != probe.elements[i]) return false;
  return true;
}

}  // namespace

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

Result<std::vector<bool>> SetsLacking(Socket& s, Family family, const std::vector<SetProbe>& probes) {
  using SetPtr = std::unique_ptr<struct nftnl_set, void (*)(const struct nftnl_set*)>;
  std::vector<bool> out;
  out.reserve(probes.size());
  Message buf(MNL_SOCKET_BUFFER_SIZE, 0);  // each request built here, then appended: zeroed once
  for (size_t from = 0; from < probes.size(); from += kProbesPerSend) {
    size_t count = std::min(kProbesPerSend, probes.size() - from);
    uint32_t first_seq = s.NextSeq();
    Message reqs;
    for (size_t i = 0; i < count; i++) {
      const SetProbe& p = probes[from + i];
      SetPtr q(nftnl_set_alloc(), nftnl_set_free);
      nftnl_set_set_str(q.get(), NFTNL_SET_TABLE, p.table.c_str());
      nftnl_set_set_str(q.get(), NFTNL_SET_NAME, p.set.c_str());
      for (const auto& [key, end] : p.elements) {
        struct nftnl_set_elem* el = nftnl_set_elem_alloc();
        nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, key.data(), static_cast<uint32_t>(key.size()));
        if (end) nftnl_set_elem_set_u32(el, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
        nftnl_set_elem_add(q.get(), el);
      }
      uint32_t seq = i == 0 ? first_seq : s.NextSeq();
      auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), NFT_MSG_GETSETELEM, NfProto(family), NLM_F_ACK, seq);
      nftnl_set_elems_nlmsg_build_payload(nlh, q.get());
      reqs.insert(reqs.end(), buf.begin(), buf.begin() + nlh->nlmsg_len);
    }
    auto answers = s.RequestEach(reqs, first_seq, count, "nft get element");
    if (!answers.ok()) return answers.error();
    for (size_t i = 0; i < count; i++) out.push_back(ProvesLack(answers.value()[i], probes[from + i]));
  }
  return out;
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
