// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/native/nftables_set_socket.h"

#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <linux/netfilter/nf_tables.h>

#include <cerrno>
#include <cstring>

#include "core/nft/native/nftables_codec.h"
#include "core/nft/native/nftables_sets.h"
#include "core/nft/nfproto.h"
#include "core/nft/requests.h"

namespace connlimit::core::nft {
namespace {

// As long as an ipset socket waits for an answer (core/ipset/ipset_socket.cc).
constexpr int kReceiveTimeoutSeconds = 30;

// GETSET of one set, or a dump of our table's sets (`set` empty); GETSETELEM dump of one set.
Message GetSetRequest(uint16_t type, Family family, const std::string& set, uint32_t seq) {
  std::unique_ptr<struct nftnl_set, void (*)(const struct nftnl_set*)> s(nftnl_set_alloc(), nftnl_set_free);
  nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, NfProto(family));
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, kNftablesTable);
  if (!set.empty()) nftnl_set_set_str(s.get(), NFTNL_SET_NAME, set.c_str());
  bool dump = set.empty() || type == NFT_MSG_GETSETELEM;
  Message buf(MNL_SOCKET_BUFFER_SIZE, 0);
  auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), type, NfProto(family), dump ? NLM_F_DUMP : NLM_F_ACK, seq);
  if (type == NFT_MSG_GETSETELEM)
    nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
  else
    nftnl_set_nlmsg_build_payload(nlh, s.get());
  buf.resize(nlh->nlmsg_len);
  return buf;
}

// Messages back to back, each padded, as Commit() takes them.
Message Messages(const std::vector<Message>& msgs) {
  Message body;
  for (const auto& m : msgs) {
    size_t at = body.size();
    body.resize(at + MNL_ALIGN(m.size()));
    std::memcpy(body.data() + at, m.data(), m.size());
  }
  return body;
}

KernelError Refusal(KernelError e, const std::string& op, const std::string& set, ErrorKind kind) {
  e.op = op;
  e.detail = set;
  e.kind = kind;
  return e;
}

}  // namespace

Result<std::unique_ptr<NftablesSetSocket>> NftablesSetSocket::Open(std::shared_ptr<NetnsFd> netns) {
  auto guard = NetnsGuard::Enter(netns ? netns->fd() : -1);
  if (!guard.ok()) return guard.error();
  auto s = Socket::Open();
  if (!s.ok()) return s.error();
  s.value()->BoundReceives(kReceiveTimeoutSeconds);
  // One GETGEN: says now, not at the first call, whether this kernel has nf_tables.
  auto gen = s.value()->GetGen();
  if (!gen.ok()) return gen.error();
  return std::unique_ptr<NftablesSetSocket>(new NftablesSetSocket(s.take()));
}

Result<Unit> NftablesSetSocket::Commit(Message body, const std::string& set, ErrorKind kind, const std::vector<int>& first_of) {
  uint32_t begin = s_->NextSeq();
  // The messages take the numbers after BATCH_BEGIN's, in order: message i is begin + 1 + i.
  size_t count = 0;
  for (size_t at = 0; at + sizeof(struct nlmsghdr) <= body.size(); count++) {
    auto* nlh = reinterpret_cast<struct nlmsghdr*>(body.data() + at);
    nlh->nlmsg_seq = s_->NextSeq();
    at += MNL_ALIGN(nlh->nlmsg_len);
  }
  // Generation 0: no check; a set change does not depend on what else the ruleset holds.
  BatchWriter writer(begin, 0);
  if (!body.empty()) writer.Add(body, 1);
  auto batch = writer.End(s_->NextSeq());
  std::vector<EchoedRule> echoed;  // none: element messages are not echoed
  auto sent = s_->SendBatch(
      batch,
      [&](uint32_t seq, int err, const std::string&) {
        size_t i = seq - begin - 1;
        int index = seq > begin && i < count && i < first_of.size() ? first_of[i] : -1;
        return KernelError{"nft set", err, set, index};
      },
      &echoed);
  if (!sent.ok()) {
    KernelError e = sent.error();
    e.kind = kind;
    if (e.op.empty() || e.op == "nft commit") e.op = "nft set";
    if (e.detail.empty()) e.detail = set;
    return e;
  }
  return Unit{};
}

Result<Unit> NftablesSetSocket::Create(Family family, const ipset::CreateSpec& spec) {
  auto r = Commit(Messages({EncodeNftablesTable(family, kNftablesTable, 0), EncodeNamedSet(family, kNftablesTable, spec, 0)}), spec.name,
                  ErrorKind::kNftSet, {});
  types_.erase({family, spec.name});
  if (r.ok()) types_[{family, spec.name}] = spec.type;
  return r;
}

Result<std::string> NftablesSetSocket::TypeOf(Family family, const std::string& set) {
  auto it = types_.find({family, set});
  if (it != types_.end()) return it->second;
  auto h = Header(family, set);
  if (!h.ok()) return h.error();
  return h.value().type;
}

Result<Unit> NftablesSetSocket::Elements(Family family, bool add, const std::string& set, const std::vector<ipset::Element>& elements,
                                         bool exist) {
  auto type = TypeOf(family, set);
  if (!type.ok()) return type.error();
  // nf_tables has no "an absent element is fine" delete: the kernel refuses the whole batch
  // at the first absent one, so with `exist` the absent ones are left out first.
  if (!add && exist) {
    std::vector<ipset::Element> present;
    for (const auto& e : elements) {
      auto in = Test(family, set, e);
      if (!in.ok()) return in.error();
      if (in.value()) present.push_back(e);
    }
    if (present.empty()) return Unit{};
    return Elements(family, false, set, present, false);
  }
  std::vector<Message> msgs;
  std::vector<int> first_of;
  ElemCmd cmd = add ? ElemCmd::kAdd : ElemCmd::kDelete;
  for (size_t i = 0; i < elements.size(); i += kElementsPerMessage) {
    msgs.push_back(EncodeSetElements(cmd, family, kNftablesTable, set, type.value(), elements, i, kElementsPerMessage, exist, 0));
    // A refusal names its element only in a call of several, as ipset's restore-style batches do.
    if (elements.size() > 1) first_of.push_back(static_cast<int>(i));
  }
  auto r = Commit(Messages(msgs), set, ErrorKind::kNftSetElement, first_of);
  if (!r.ok()) types_.erase({family, set});
  return r;
}

Result<std::vector<std::optional<KernelError>>> NftablesSetSocket::Each(Family family, const std::vector<ipset::ElementCall>& calls) {
  std::vector<std::optional<KernelError>> out(calls.size());
  std::vector<size_t> run;
  for (size_t i = 0; i <= calls.size(); i++) {
    bool alone = i < calls.size() && calls[i].cmd == ipset::Adt::kDel && calls[i].exist;
    if (i == calls.size() || alone) {
      if (!run.empty()) EachBatch(family, calls, std::move(run), out);
      run.clear();
      if (alone) {
        auto r = Elements(family, false, calls[i].set, {calls[i].element}, true);
        if (!r.ok()) out[i] = r.error();
      }
      continue;
    }
    if (calls[i].cmd == ipset::Adt::kTest) return KernelError{"nft set", EINVAL, "a test in Each()", -1, ErrorKind::kNone};
    run.push_back(i);
  }
  return out;
}

void NftablesSetSocket::EachBatch(Family family, const std::vector<ipset::ElementCall>& calls, std::vector<size_t> run,
                                  std::vector<std::optional<KernelError>>& out) {
  // Every retry drops one call, so this ends after at most run.size() batches.
  while (!run.empty()) {
    Message body;
    std::vector<size_t> sent;
    std::vector<int> first_of;
    // Calls in flight together are nearly always on one set: its type looked up once.
    const std::string* last_set = nullptr;
    std::string type;
    for (size_t i : run) {
      const auto& c = calls[i];
      if (!last_set || *last_set != c.set) {
        auto t = TypeOf(family, c.set);
        last_set = nullptr;
        if (!t.ok()) {
          out[i] = t.error();
          continue;
        }
        last_set = &c.set;
        type = t.take();
      }
      ElemCmd cmd = c.cmd == ipset::Adt::kAdd ? ElemCmd::kAdd : ElemCmd::kDelete;
      AppendSetElement(body, cmd, family, kNftablesTable, c.set, type, c.element, c.exist, 0);
      first_of.push_back(static_cast<int>(sent.size()));
      sent.push_back(i);
    }
    if (sent.empty()) return;
    auto r = Commit(std::move(body), calls[sent[0]].set, ErrorKind::kNftSetElement, first_of);
    if (r.ok()) return;
    KernelError e = r.error();
    int at = e.op_index;
    if (at < 0 || static_cast<size_t>(at) >= sent.size()) {
      // Not tied to one call (the socket failed): each call of the batch met it.
      for (size_t i : sent) {
        out[i] = e;
        out[i]->detail = calls[i].set;
        types_.erase({family, calls[i].set});
      }
      return;
    }
    size_t refused = sent[static_cast<size_t>(at)];
    e.op_index = -1;  // the call's own, as if made alone
    e.detail = calls[refused].set;
    out[refused] = e;
    types_.erase({family, calls[refused].set});
    sent.erase(sent.begin() + at);
    run = std::move(sent);
  }
}

Result<bool> NftablesSetSocket::Test(Family family, const std::string& set, const ipset::Element& e) {
  auto type = TypeOf(family, set);
  if (!type.ok()) return type.error();
  auto req = EncodeSetElements(ElemCmd::kGet, family, kNftablesTable, set, type.value(), {e}, 0, 1, false, s_->NextSeq());
  auto r = s_->Request(req, false, "nft get element");
  if (r.ok()) return true;
  if (r.error().errnum == ENOENT) return false;
  return Refusal(r.error(), "nft get element", set, ErrorKind::kNftSetElement);
}

Result<ipset::SetHeader> NftablesSetSocket::Header(Family family, const std::string& set) {
  auto r = s_->Request(GetSetRequest(NFT_MSG_GETSET, family, set, s_->NextSeq()), false, "nft list set");
  if (!r.ok()) return Refusal(r.error(), "nft list set", set, ErrorKind::kNftSet);
  if (r.value().empty()) return KernelError{"nft list set", EBADMSG, set, -1, ErrorKind::kMalformed};
  auto h = DecodeNamedSet(family, r.value()[0].data(), r.value()[0].size());
  if (!h.ok()) return h.error();
  // A connlimit rule's own set, or one of a kind we do not make: not a client set.
  if (!h.value()) return KernelError{"nft list set", ENOENT, set, -1, ErrorKind::kNftSet};
  types_[{family, set}] = h.value()->type;
  return *h.value();
}

Result<ipset::SetHeader> NftablesSetSocket::HeaderWithSize(Family family, const std::string& set) {
  auto h = Header(family, set);
  if (!h.ok()) return h;
  uint32_t seq = s_->NextSeq();
  auto sent = s_->StartDump(GetSetRequest(NFT_MSG_GETSETELEM, family, set, seq), "nft list set");
  if (!sent.ok()) return Refusal(sent.error(), "nft list set", set, ErrorKind::kNftSet);
  // Entries as list() makes them (an interval's end element is no entry), one receive at a
  // time, so a big set is never held whole.
  ElementReader reader(h.value());
  std::vector<ipset::Element> entries;
  uint32_t count = 0;
  for (bool done = false; !done;) {
    auto r = ReadDumpPart(seq, set, reader, entries);
    if (!r.ok()) return r.error();
    done = r.value();
    count += static_cast<uint32_t>(entries.size());
    entries.clear();
  }
  h.value().elements = count;
  return h;
}

Result<Unit> NftablesSetSocket::Destroy(Family family, const std::string& set, bool exist) {
  types_.erase({family, set});
  if (exist) {
    // DELSET has no "missing is fine" form (DESTROYSET needs Linux 6.3 and nft 1.0.8): ask first.
    auto h = Header(family, set);
    if (!h.ok()) return h.error().errnum == ENOENT ? Result<Unit>(Unit{}) : Result<Unit>(h.error());
  }
  return Commit(EncodeDestroySet(family, kNftablesTable, set, 0), set, ErrorKind::kNftSet, {});
}

Result<Unit> NftablesSetSocket::Flush(Family family, const std::string& set) {
  auto h = Header(family, set);
  if (!h.ok()) return h.error();
  return Commit(EncodeFlushSet(family, kNftablesTable, set, 0), set, ErrorKind::kNftSet, {});
}

Result<ipset::ListedSet> NftablesSetSocket::List(Family family, const std::string& set) {
  auto h = Header(family, set);
  if (!h.ok()) return h.error();
  auto msgs = s_->Dump([&](uint32_t seq) { return GetSetRequest(NFT_MSG_GETSETELEM, family, set, seq); }, "nft list set");
  if (!msgs.ok()) return Refusal(msgs.error(), "nft list set", set, ErrorKind::kNftSet);
  std::vector<RawElement> raw;
  for (const auto& m : msgs.value()) {
    auto d = DecodeSetElements(m.data(), m.size(), raw);
    if (!d.ok()) return d.error();
  }
  ipset::ListedSet out;
  out.header = h.value();
  out.entries = ElementsOf(out.header, std::move(raw));
  out.header.elements = static_cast<uint32_t>(out.entries.size());
  return out;
}

Result<Unit> NftablesSetSocket::StartList(Family family, const std::string& set) {
  auto h = Header(family, set);
  if (!h.ok()) return h.error();
  list_set_ = set;
  list_header_ = h.value();
  list_reader_.emplace(h.value());
  list_seq_ = s_->NextSeq();
  auto sent = s_->StartDump(GetSetRequest(NFT_MSG_GETSETELEM, family, set, list_seq_), "nft list set");
  if (!sent.ok()) return Refusal(sent.error(), "nft list set", set, ErrorKind::kNftSet);
  return Unit{};
}

Result<bool> NftablesSetSocket::ReadDumpPart(uint32_t seq, const std::string& set, ElementReader& reader,
                                             std::vector<ipset::Element>& entries) {
  std::vector<Message> msgs;
  auto r = s_->ReadDump(seq, msgs, "nft list set");
  if (!r.ok()) return Refusal(r.error(), "nft list set", set, ErrorKind::kNftSet);
  std::vector<RawElement> raw;
  for (const auto& m : msgs) {
    auto d = DecodeSetElements(m.data(), m.size(), raw);
    if (!d.ok()) return d.error();
  }
  for (const auto& e : raw) reader.Feed(e, entries);
  return r.value();
}

Result<bool> NftablesSetSocket::ReadList(size_t want, ipset::ListedSet& out) {
  if (!list_reader_) return KernelError{"nft list set", EBADF, list_set_, -1, ErrorKind::kClosed};
  out.header = *list_header_;
  bool done = false;
  while (!done && out.entries.size() < want) {
    auto r = ReadDumpPart(list_seq_, list_set_, *list_reader_, out.entries);
    if (!r.ok()) return r;
    done = r.value();
  }
  if (done) list_reader_.reset();
  return done;
}

Result<std::vector<std::string>> NftablesSetSocket::Names(Family family) {
  auto msgs = s_->Dump([&](uint32_t seq) { return GetSetRequest(NFT_MSG_GETSET, family, "", seq); }, "nft list sets");
  if (!msgs.ok()) {
    if (msgs.error().errnum == ENOENT) return std::vector<std::string>{};  // no table of ours yet
    return Refusal(msgs.error(), "nft list sets", "", ErrorKind::kNftSet);
  }
  std::vector<std::string> names;
  for (const auto& m : msgs.value()) {
    auto h = DecodeNamedSet(family, m.data(), m.size());
    if (!h.ok()) return h.error();
    if (h.value()) names.push_back(h.value()->name);
  }
  return names;
}

}  // namespace connlimit::core::nft
