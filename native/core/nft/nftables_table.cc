// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/nftables_table.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include "core/legacy/entry_codec.h"
#include "core/netns_guard.h"
#include "core/nft/chain_codec.h"
#include "core/nft/nftables_codec.h"
#include "core/nft/nl_socket.h"

namespace connlimit::core::nft {
namespace {

// As the iptables-nft backend (core/nft/nft_table.cc): at least this many attempts against
// concurrent writers, then as many as lockTimeoutMs allows.
constexpr int kCommitAttempts = 8;
constexpr int kRetryPauseUs = 2000;

// The base chains of our table: the filter table's hooks and priority (0, `priority filter`).
const char* const kChains[] = {"INPUT", "FORWARD", "OUTPUT"};

Message GetTableRequest(Family family, const std::string& table, uint32_t seq) {
  std::unique_ptr<struct nftnl_table, void (*)(const struct nftnl_table*)> t(nftnl_table_alloc(), nftnl_table_free);
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, table.c_str());
  Message req(MNL_SOCKET_BUFFER_SIZE);
  auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(req.data()), NFT_MSG_GETTABLE, NfProto(family), 0, seq);
  nftnl_table_nlmsg_build_payload(nlh, t.get());
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

Message GetRulesRequest(Family family, const std::string& table, const std::string& chain, uint32_t seq) {
  std::unique_ptr<struct nftnl_rule, void (*)(const struct nftnl_rule*)> r(nftnl_rule_alloc(), nftnl_rule_free);
  nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, table.c_str());
  if (!chain.empty()) nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain.c_str());
  Message req(MNL_SOCKET_BUFFER_SIZE);
  auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(req.data()), NFT_MSG_GETRULE, NfProto(family), NLM_F_DUMP, seq);
  nftnl_rule_nlmsg_build_payload(nlh, r.get());
  req.resize(nlh->nlmsg_len);
  return req;
}

// The rules of one chain (or of the table, chain empty), decoded; none when the table is missing.
Result<std::vector<DecodedNftablesRule>> DumpRules(Socket& s, Family family, const std::string& table, const std::string& chain) {
  auto msgs = s.Dump([&](uint32_t seq) { return GetRulesRequest(family, table, chain, seq); }, "nft list rules");
  if (!msgs.ok()) {
    if (msgs.error().errnum == ENOENT) return std::vector<DecodedNftablesRule>{};
    return msgs.error();
  }
  std::vector<DecodedNftablesRule> out;
  for (const auto& m : msgs.value()) {
    auto r = DecodeNftablesRule(family, m.data(), m.size());
    if (!r.ok()) return r.error();
    if (r.value().table != table) continue;
    out.push_back(r.take());
  }
  return out;
}

bool HasNativeExpr(const RuleSpec& rule) {
  for (const auto& m : rule.matches)
    if (const auto* o = std::get_if<OpaqueExtension>(&m); o && o->name.rfind(kOpaqueExprPrefix, 0) == 0) return true;
  return false;
}

// What a rule reads back as once written (delete/check/ensure compare against this). A rule
// holding expressions we don't model came from a listing, already in that form.
Result<RuleSpec> Normalize(Family family, const std::string& table, const std::string& chain, const RuleSpec& rule) {
  if (HasNativeExpr(rule)) return rule;
  auto bytes = EncodeNftablesRule(family, table, chain, rule, "connlimit0", 1, RulePlacement{}, 0);
  if (!bytes.ok()) return bytes.error();
  auto back = DecodeNftablesRule(family, bytes.value().data(), bytes.value().size());
  if (!back.ok()) return back.error();
  return back.value().rule;
}

// A rule added by this batch: its set (if it has a connlimit match) and its NEWRULE are built
// when the batch is, so a later op of the batch may still change or drop it.
struct NewRule {
  std::string chain;
  RuleSpec rule;
  RulePlacement where;
  uint32_t set_id = 0;
  bool dropped = false;     // deleted again by a later op: neither message is sent
  bool positioned = false;  // another new rule is placed relative to it (NFTA_RULE_POSITION_ID)
};

struct Entry {
  uint64_t handle = 0;             // a rule in the kernel
  std::string set_name;            // its connlimit set, if any
  std::shared_ptr<NewRule> added;  // or a rule of this batch
  std::optional<RuleSpec> normalized;
};

struct ChainState {
  bool exists = false;
  std::optional<std::vector<Entry>> rules;  // loaded on demand
  std::vector<Entry> appended;              // appended before `rules` was loaded
};

class Planner {
 public:
  Planner(const TableTarget& t, Socket& s) : t_(t), s_(s) {}

  Result<std::vector<OpResult>> Run(const std::vector<Op>& ops, bool* stale) {
    *stale = false;
    auto gen = s_.GetGen();
    if (!gen.ok()) return gen.error();
    std::vector<OpResult> results;
    for (size_t i = 0; i < ops.size(); i++) {
      current_op_ = static_cast<int>(i);
      auto r = Apply(ops[i]);
      if (!r.ok()) {
        KernelError e = r.error();
        e.op_index = static_cast<int>(i);
        return e;
      }
      results.push_back(r.value());
    }
    if (!msgs_.empty()) {
      auto sent = Send(gen.value(), stale);
      if (!sent.ok()) return sent.error();
    }
    return results;
  }

 private:
  struct Planned {
    int op_index;
    std::string what;
    std::function<Result<Message>(uint32_t)> build;  // an empty message: nothing to send
  };

  void Plan(std::string what, std::function<Result<Message>(uint32_t)> build) {
    msgs_.push_back(Planned{current_op_, std::move(what), std::move(build)});
  }

  Result<Unit> EnsureTable() {
    if (!table_exists_) {
      auto r = s_.Request(GetTableRequest(t_.family, t_.table, s_.NextSeq()), false, "nft get table");
      if (!r.ok() && r.error().errnum != ENOENT) return r.error();
      table_exists_ = r.ok();
      if (!r.ok()) {
        Family f = t_.family;
        std::string table = t_.table;
        Plan("table " + table, [f, table](uint32_t seq) -> Result<Message> { return EncodeNftablesTable(f, table, seq); });
        table_exists_ = true;
      }
    }
    return Unit{};
  }

  // One of our base chains as the kernel has it (one GETCHAIN), with our planned changes on top.
  Result<ChainState*> Lookup(const std::string& name) {
    auto it = chains_.find(name);
    if (it != chains_.end()) return &it->second;
    if (!FindBuiltin("filter", name)) return KernelError{"chain", ENOENT, name, -1};
    ChainState st;
    auto r = s_.Request(GetChainRequest(t_.family, t_.table, name, s_.NextSeq()), false, "nft get chain");
    if (r.ok()) {
      st.exists = true;
      table_exists_ = true;
    } else if (r.error().errnum != ENOENT) {
      return r.error();
    } else {
      st.rules = std::vector<Entry>{};
    }
    return &chains_.emplace(name, std::move(st)).first->second;
  }

  // The chain a rule is added to: created (with the table) on first use.
  Result<ChainState*> Chain(const std::string& name) {
    auto st = Lookup(name);
    if (!st.ok()) return st.error();
    ChainState* c = st.value();
    if (!c->exists) {
      auto table = EnsureTable();
      if (!table.ok()) return table.error();
      Family f = t_.family;
      std::string tn = t_.table;
      BuiltinChain bc = *FindBuiltin("filter", name);
      Plan("chain " + name, [f, tn, bc](uint32_t seq) -> Result<Message> { return EncodeNftablesBaseChain(f, tn, bc, seq); });
      c->exists = true;
    }
    return c;
  }

  // The chain's rules (none for a chain not created yet, which stays uncreated).
  Result<std::vector<Entry>*> Rules(const std::string& name) {
    auto st = Lookup(name);
    if (!st.ok()) return st.error();
    ChainState* c = st.value();
    if (!c->rules) {
      auto dumped = DumpRules(s_, t_.family, t_.table, name);
      if (!dumped.ok()) return dumped.error();
      std::vector<Entry> entries;
      for (auto& d : dumped.value()) entries.push_back(Entry{d.handle, d.set_name, nullptr, std::move(d.rule)});
      for (auto& e : c->appended) entries.push_back(std::move(e));
      c->appended.clear();
      c->rules = std::move(entries);
    }
    return &*c->rules;
  }

  // Plans the rule's set and the rule; the kernel names the set (connlimit%d) and the rule
  // finds it by NFTA_DYNSET_SET_ID.
  Entry PlanRule(const std::string& chain, const RuleSpec& rule, RulePlacement where) {
    auto nr = std::make_shared<NewRule>(NewRule{chain, rule, where, ++next_id_, false, false});
    nr->where.id = nr->set_id;  // NFTA_RULE_ID: later ops of the batch may refer to it
    Family f = t_.family;
    std::string table = t_.table;
    Plan("set for rule " + chain, [f, table, nr](uint32_t seq) -> Result<Message> {
      if (nr->dropped || !ConnlimitOf(nr->rule)) return Message{};
      return EncodeConnlimitSet(f, table, kConnlimitSetPattern, nr->set_id, seq);
    });
    Plan("rule " + chain, [f, table, nr](uint32_t seq) -> Result<Message> {
      if (nr->dropped) return Message{};
      return EncodeNftablesRule(f, table, nr->chain, nr->rule, kConnlimitSetPattern, nr->set_id, nr->where, seq);
    });
    return Entry{0, "", nr, std::nullopt};
  }

  Result<Unit> PlanDelete(const std::string& chain, Entry& e) {
    if (e.added) {
      if (e.added->positioned) return KernelError{"rule", EOPNOTSUPP, chain + ": deleted in the transaction that placed another rule next to it", -1};
      e.added->dropped = true;
      return Unit{};
    }
    Family f = t_.family;
    std::string table = t_.table;
    uint64_t handle = e.handle;
    Plan("rule " + chain, [f, table, chain, handle](uint32_t seq) -> Result<Message> { return EncodeDelRule(f, table, chain, handle, 0, seq); });
    PlanDeleteSet(e.set_name);
    return Unit{};
  }

  // After the rule that used it: the kernel refuses to delete a set a live rule still uses.
  void PlanDeleteSet(const std::string& set) {
    if (set.empty()) return;
    Family f = t_.family;
    std::string table = t_.table;
    Plan("set " + set, [f, table, set](uint32_t seq) -> Result<Message> { return EncodeDelSet(f, table, set, seq); });
  }

  Result<const RuleSpec*> NormalizedOf(const std::string& chain, Entry& e) {
    if (!e.normalized) {
      auto n = Normalize(t_.family, t_.table, chain, e.added->rule);
      if (!n.ok()) return n.error();
      e.normalized = n.take();
    }
    return &*e.normalized;
  }

  Result<int> Find(const std::string& chain, const RuleSpec& rule) {
    auto rules = Rules(chain);
    if (!rules.ok()) return rules.error();
    auto want = Normalize(t_.family, t_.table, chain, rule);
    if (!want.ok()) return want.error();
    auto& v = *rules.value();
    for (size_t i = 0; i < v.size(); i++) {
      auto have = NormalizedOf(chain, v[i]);
      if (!have.ok()) return have.error();
      if (legacy::SameRule(t_.family, *have.value(), want.value())) return static_cast<int>(i);
    }
    return -1;
  }

  Result<OpResult> Append(const std::string& chain, const RuleSpec& rule) {
    auto st = Chain(chain);
    if (!st.ok()) return st.error();
    RulePlacement where;
    where.nlm_flags = NLM_F_CREATE | NLM_F_APPEND;
    Entry e = PlanRule(chain, rule, where);
    ChainState* c = st.value();
    if (c->rules) {
      c->rules->push_back(std::move(e));
      return OpResult{true, static_cast<int>(c->rules->size()) - 1};
    }
    c->appended.push_back(std::move(e));
    return OpResult{true, -1};
  }

  Result<OpResult> Apply(const Op& op) {
    using K = Op::Kind;
    const std::string& chain = op.chain;
    switch (op.kind) {
      case K::kAppend:
        return Append(chain, op.rule);
      case K::kEnsure: {
        auto found = Find(chain, op.rule);
        if (!found.ok()) return found.error();
        if (found.value() >= 0) return OpResult{false, found.value()};
        return Append(chain, op.rule);
      }
      case K::kInsert: {
        auto rules = Rules(chain);
        if (!rules.ok()) return rules.error();
        auto& v = *rules.value();
        if (op.index > v.size()) return KernelError{"rule", E2BIG, chain, -1};
        if (op.index == v.size()) return Append(chain, op.rule);
        RulePlacement where;
        where.nlm_flags = NLM_F_CREATE;  // before the rule at `position` (or `position_id`)
        Entry& at = v[op.index];
        if (at.added) {
          at.added->positioned = true;
          where.position_id = at.added->where.id;
        } else {
          where.position = at.handle;
        }
        v.insert(v.begin() + op.index, PlanRule(chain, op.rule, where));
        return OpResult{true, static_cast<int>(op.index)};
      }
      case K::kReplace: {
        auto rules = Rules(chain);
        if (!rules.ok()) return rules.error();
        auto& v = *rules.value();
        if (op.index >= v.size()) return KernelError{"rule", E2BIG, chain, -1};
        Entry& at = v[op.index];
        if (at.added) {  // not sent yet: send the new rule in its place
          at.added->rule = op.rule;
          at.normalized.reset();
          return OpResult{true, static_cast<int>(op.index)};
        }
        RulePlacement where;
        where.nlm_flags = NLM_F_REPLACE;
        where.handle = at.handle;
        std::string old_set = at.set_name;
        at = PlanRule(chain, op.rule, where);
        PlanDeleteSet(old_set);
        return OpResult{true, static_cast<int>(op.index)};
      }
      case K::kDelete:
      case K::kDeleteAt: {
        auto rules = Rules(chain);
        if (!rules.ok()) return rules.error();
        auto& v = *rules.value();
        int index = static_cast<int>(op.index);
        if (op.kind == K::kDelete) {
          auto found = Find(chain, op.rule);
          if (!found.ok()) return found.error();
          if (found.value() < 0) return KernelError{"rule", ENOENT, chain, -1};
          index = found.value();
        } else if (op.index >= v.size()) {
          return KernelError{"rule", E2BIG, chain, -1};
        }
        auto planned = PlanDelete(chain, v[index]);
        if (!planned.ok()) return planned.error();
        v.erase(v.begin() + index);
        return OpResult{true, index};
      }
      case K::kFlush: {
        std::vector<std::string> names;
        if (chain.empty())
          names.assign(std::begin(kChains), std::end(kChains));
        else
          names.push_back(chain);
        for (const auto& name : names) {
          auto rules = Rules(name);
          if (!rules.ok()) return rules.error();
          for (auto& e : *rules.value()) {
            auto planned = PlanDelete(name, e);
            if (!planned.ok()) return planned.error();
          }
          rules.value()->clear();
        }
        return OpResult{};
      }
      default:
        return KernelError{"op", EOPNOTSUPP, "not available in the native nftables form", -1};
    }
  }

  Result<Unit> Send(uint32_t genid, bool* stale) {
    Message batch;
    auto append = [&batch](const uint8_t* p, size_t n) {
      batch.insert(batch.end(), p, p + n);
      batch.resize((batch.size() + 3) & ~size_t{3}, 0);
    };
    // NFNL_MSG_BATCH_BEGIN with the generation id we read first (network order; NOTES §4.2).
    uint32_t first_seq = s_.NextSeq();
    {
      Message b(MNL_SOCKET_BUFFER_SIZE);
      auto* nlh = mnl_nlmsg_put_header(b.data());
      nlh->nlmsg_type = NFNL_MSG_BATCH_BEGIN;
      nlh->nlmsg_flags = NLM_F_REQUEST;
      nlh->nlmsg_seq = first_seq;
      auto* nfg = static_cast<struct nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(struct nfgenmsg)));
      nfg->nfgen_family = AF_UNSPEC;
      nfg->version = NFNETLINK_V0;
      nfg->res_id = htons(NFNL_SUBSYS_NFTABLES);
      mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(genid));
      append(b.data(), nlh->nlmsg_len);
    }
    std::map<uint32_t, size_t> by_seq;
    for (size_t i = 0; i < msgs_.size(); i++) {
      uint32_t seq = s_.NextSeq();
      auto built = msgs_[i].build(seq);
      if (!built.ok()) {
        KernelError e = built.error();
        e.op_index = msgs_[i].op_index;
        return e;
      }
      if (built.value().empty()) continue;
      by_seq[seq] = i;
      append(built.value().data(), built.value().size());
    }
    if (by_seq.empty()) return Unit{};  // every planned change was undone within the batch
    {
      Message e(MNL_SOCKET_BUFFER_SIZE);
      auto* nlh = nftnl_batch_end(reinterpret_cast<char*>(e.data()), s_.NextSeq());
      append(e.data(), nlh->nlmsg_len);
    }
    return s_.SendBatch(batch, [&](uint32_t seq, int err, const std::string& text) {
      auto it = by_seq.find(seq);
      if (seq == first_seq && err == ERESTART) *stale = true;
      std::string detail = it != by_seq.end() ? msgs_[it->second].what : t_.table;
      if (!text.empty()) detail += ": " + text;
      return KernelError{"nft commit", err, detail, it != by_seq.end() ? msgs_[it->second].op_index : -1};
    }, nullptr);
  }

  const TableTarget& t_;
  Socket& s_;
  std::vector<Planned> msgs_;
  std::map<std::string, ChainState> chains_;
  std::optional<bool> table_exists_;
  uint32_t next_id_ = 0;
  int current_op_ = -1;
};

}  // namespace

Result<std::vector<OpResult>> CommitNftablesOps(const TableTarget& t, const std::vector<Op>& ops) {
  auto ns = NetnsGuard::Enter(t.netns_fd);
  if (!ns.ok()) return ns.error();
  auto s = Socket::Open();
  if (!s.ok()) return s.error();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(0, t.lock_timeout_ms));
  for (int attempt = 1;; attempt++) {
    bool stale = false;
    Planner p(t, *s.value());
    auto r = p.Run(ops, &stale);
    if (r.ok() || !stale) return r;
    if (attempt >= kCommitAttempts && std::chrono::steady_clock::now() >= deadline) return r;
    std::this_thread::sleep_for(std::chrono::microseconds(kRetryPauseUs));
  }
}

Result<std::vector<ListedChain>> ListNftablesTable(const TableTarget& t) {
  auto ns = NetnsGuard::Enter(t.netns_fd);
  if (!ns.ok()) return ns.error();
  auto sock = Socket::Open();
  if (!sock.ok()) return sock.error();
  Socket& s = *sock.value();
  for (int attempt = 1;; attempt++) {
    auto gen = s.GetGen();
    if (!gen.ok()) return gen.error();
    auto chains = s.Dump([&](uint32_t seq) { return GetChainRequest(t.family, t.table, "", seq); }, "nft list chains");
    if (!chains.ok() && chains.error().errnum != ENOENT) return chains.error();
    std::map<std::string, DecodedChain> by_name;
    if (chains.ok()) {
      for (const auto& m : chains.value()) {
        auto d = DecodeChainMessage(m.data(), m.size());
        if (!d.ok()) return d.error();
        if (d.value().table != t.table) continue;
        std::string name = d.value().name;
        by_name[name] = d.take();
      }
    }
    auto rules = DumpRules(s, t.family, t.table, "");
    if (!rules.ok()) return rules.error();
    // Chains and rules come from two dumps: if the ruleset changed between them, read again.
    auto gen2 = s.GetGen();
    if (!gen2.ok()) return gen2.error();
    if (gen2.value() != gen.value() && attempt < kDumpAttempts) continue;

    std::vector<ListedChain> out;
    auto add = [&](const std::string& name, bool builtin, const DecodedChain* d) {
      ListedChain c;
      c.name = name;
      c.builtin = builtin;
      if (builtin) c.policy = !d || d->policy == NF_ACCEPT ? "ACCEPT" : "DROP";
      if (d) {
        c.packets = d->packets;
        c.bytes = d->bytes;
      }
      for (auto& r : rules.value())
        if (r.chain == name) c.rules.push_back(ListedRule{r.rule, r.packets, r.bytes});
      out.push_back(std::move(c));
    };
    for (const char* name : kChains) {
      auto it = by_name.find(name);
      add(name, true, it == by_name.end() ? nullptr : &it->second);
      if (it != by_name.end()) by_name.erase(it);
    }
    for (const auto& [name, d] : by_name) add(name, d.base, &d);
    return out;
  }
}

Result<int> FindNftablesRule(const TableTarget& t, const std::string& chain, const RuleSpec& rule) {
  auto ns = NetnsGuard::Enter(t.netns_fd);
  if (!ns.ok()) return ns.error();
  auto sock = Socket::Open();
  if (!sock.ok()) return sock.error();
  if (!FindBuiltin("filter", chain)) return KernelError{"chain", ENOENT, chain, -1};
  auto rules = DumpRules(*sock.value(), t.family, t.table, chain);
  if (!rules.ok()) return rules.error();
  auto want = Normalize(t.family, t.table, chain, rule);
  if (!want.ok()) return want.error();
  for (size_t i = 0; i < rules.value().size(); i++)
    if (legacy::SameRule(t.family, rules.value()[i].rule, want.value())) return static_cast<int>(i);
  return -1;
}

}  // namespace connlimit::core::nft
