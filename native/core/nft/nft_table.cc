// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/nft_table.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>
#include <cerrno>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "core/netns_guard.h"
#include "core/nft/chain_codec.h"
#include "core/nft/nl_socket.h"
#include "core/nft/requests.h"
#include "core/nft/rule_codec.h"
#include "core/nft/socket_reads.h"
#include "core/xt/same_rule.h"

// Dump-and-reset of rule counters (kernel 6.3+, include/uapi/linux/netfilter/nf_tables.h);
// older installed headers lack it.
#ifndef NFT_MSG_GETRULE_RESET
#define NFT_MSG_GETRULE_RESET 25
#endif

namespace connlimit::core::nft {
namespace {

// A stale generation id (another writer committed between our read and our batch) makes the
// kernel refuse the batch with ERESTART; iptables-nft re-reads and retries without bound. We
// retry for as long as the caller's lockTimeoutMs allows (at least kCommitAttempts times) and
// then report BUSY: the same promise as the legacy backend's lock wait. Between attempts we
// wait a random time that grows with the attempt (capped): retrying at once, ten writers on a
// 2,000-rule table kept losing the same race: of 10,000 operations
// (scripts/stress-concurrency.mjs --backend nft), 343 ended BUSY after 8 immediate attempts,
// 56 after 16 with the wait, 4 after 32; a count alone was never enough under load.
constexpr int kCommitAttempts = 8;
constexpr int kBackoffCapUs = 100'000;
// At most this many rules of one batch are echoed back (about 450 bytes each, well inside the
// default 208 KiB receive buffer).
constexpr size_t kMaxEchoedRules = 256;
// A commit of more ops than this reads the generation id before trusting the cache: planning,
// encoding and sending a large batch for the kernel to refuse as stale costs far more than the
// one round trip (10,000 appends: about 150 ms wasted).
constexpr size_t kUncheckedCacheOps = 64;

// What a rule reads back as once written: delete and check compare against this, since some
// spellings come back in another (equivalent) form (`! --dport 0:10` reads as 11:65535). A
// rule holding native expressions came from a listing, already in that form.
Result<RuleSpec> Normalize(Family family, const std::string& table, const std::string& chain, const RuleSpec& rule) {
  if (HasNativeExpr(rule)) return rule;
  RulePlacement where;
  auto bytes = EncodeRuleMessage(family, table, chain, rule, where, 0);
  if (!bytes.ok()) return bytes.error();
  auto back = DecodeRuleMessage(family, bytes.value().data(), bytes.value().size());
  if (!back.ok()) return back.error();
  return back.value().rule;
}

// ---- one commit attempt: read what the ops need, plan the batch, send it ----

struct NewRule {
  std::string chain;
  const RuleSpec* rule;  // the op's own (the ops outlive the plan): 10,000 appends copy no rule
  RulePlacement where;
  uint64_t echoed_handle = 0;  // from the kernel's NLM_F_ECHO of this rule, once committed
};

struct Entry {
  uint64_t handle = 0;               // a rule already in the kernel
  std::shared_ptr<NewRule> pending;  // or one added earlier in this batch
  // As it reads back (Normalize); for a pending rule computed only when compared, so a large
  // batch of appends pays for no decode.
  std::optional<RuleSpec> normalized;
};

struct ChainState {
  bool exists = false;
  bool base = false;
  uint64_t handle = 0;  // 0 for a chain created in this batch
  uint32_t use = 0;
  bool created = false;
  std::optional<std::vector<Entry>> rules;  // loaded on demand
  // Rules planned before `rules` was loaded: put to the head (-I 1) or appended.
  std::vector<Entry> early_head, early_tail;
};

}  // namespace

struct TableSession {
  std::mutex mu;  // held for the whole of each call
  std::unique_ptr<Socket> sock;
  // What the handle learned of its table, valid only at the generation id it was learned at:
  // chain states and the rules (handles + normalized specs) of the chains it has read.
  bool valid = false;
  uint32_t genid = 0;
  std::map<std::string, ChainState> chains;
  std::optional<bool> table_exists;
};

std::shared_ptr<TableSession> NewTableSession() { return std::make_shared<TableSession>(); }

namespace {

// The session's socket, opened in the table's namespace by its first call; one that failed is
// replaced. The caller holds the session's mutex.
Result<Socket*> Connect(const TableTarget& t, TableSession& session) {
  if (session.sock && session.sock->broken()) session.sock.reset();
  if (!session.sock) {
    auto ns = NetnsGuard::Enter(t.netns_fd);
    if (!ns.ok()) return ns.error();
    auto s = Socket::Open();
    if (!s.ok()) return s.error();
    session.sock = s.take();
  }
  return session.sock.get();
}

class Planner {
 public:
  Planner(const TableTarget& t, Socket& s, TableSession& session) : t_(t), s_(s), session_(session) {}

  // Whether this attempt started from the session's cache without reading the generation id: a
  // stale one then only means another writer committed since our last call, not contention.
  bool from_cache() const { return from_cache_; }

  Result<std::vector<OpResult>> Run(const std::vector<Op>& ops, bool* stale, bool send_stale_genid) {
    *stale = false;
    uint32_t gen = 0;
    bool read = !session_.valid || ops.size() > kUncheckedCacheOps;
    if (read) {
      auto now = s_.GetGen();
      if (!now.ok()) return now.error();
      gen = now.value();
    }
    if (session_.valid && (!read || gen == session_.genid)) {
      // What we knew at our last commit. Unread, the batch carries that generation id, so the
      // kernel refuses it if anybody committed since, and we retry from a fresh read.
      gen = session_.genid;
      chains_ = std::move(session_.chains);
      table_exists_ = session_.table_exists;
      from_cache_ = !read;
    }
    session_.valid = false;
    session_.chains.clear();
    std::vector<OpResult> results;
    for (size_t i = 0; i < ops.size(); i++) {
      current_op_ = static_cast<int>(i);
      auto r = Apply(ops[i]);
      if (!r.ok()) {
        // A refusal made from the cache (no such rule, no such position) may only mean the
        // cache is out of date: then it is retried from a fresh read.
        auto checked = CheckCache(gen, stale);
        if (!checked.ok()) return checked.error();
        KernelError e = r.error();
        e.op_index = static_cast<int>(i);
        return e;
      }
      results.push_back(r.value());
    }
    if (!msgs_.empty()) {
      // Test hook: any id but the current one is stale (one ahead, since 0 would disable the check).
      uint32_t committed = 0;
      auto sent = Send(send_stale_genid ? gen + 1 : gen, stale, &committed);
      if (!sent.ok()) return OwnerRefusal(sent.error());
      if (committed) Remember(committed);
    } else {
      // No batch checked the generation id for us.
      auto checked = CheckCache(gen, stale);
      if (!checked.ok()) return checked.error();
      Remember(gen);
    }
    for (const auto& chain : zero_) {
      auto r = s_.Dump([&](uint32_t seq) { return GetRulesRequest(t_.family, t_.table, chain, NFT_MSG_GETRULE_RESET, seq); },
                       "nft reset counters");
      if (!r.ok() && r.error().errnum != ENOENT) return r.error();
    }
    return results;
  }

 private:
  // When the plan used the cache and no batch will check its generation id, asks for the
  // current one: a commit by anybody since makes this attempt stale (an ERESTART, retried).
  Result<Unit> CheckCache(uint32_t gen, bool* stale) {
    if (!from_cache_) return Unit{};
    auto now = s_.GetGen();
    if (!now.ok()) return now.error();
    if (now.value() == gen) return Unit{};
    *stale = true;
    return KernelError{"nft commit", ERESTART, t_.table, -1, ErrorKind::kNftCommit};
  }

  // Keeps what this commit knows for the next one, if it can be trusted: every rule we added has
  // its handle (echoed by the kernel). `gen` is the generation id our commit produced (the
  // kernel's echo of it, so no later commit can be mistaken for ours) or the one we read.
  void Remember(uint32_t gen) {
    for (auto& [name, st] : chains_) {
      if (!st.early_head.empty() || !st.early_tail.empty()) st.rules.reset();  // never loaded: forget the partial view
      st.early_head.clear();
      st.early_tail.clear();
      if (!st.rules) continue;
      for (auto& e : *st.rules) {
        if (!e.pending) continue;
        if (!e.pending->echoed_handle) return;
        auto normalized = NormalizedOf(name, e);  // the spec goes with the pending state
        if (!normalized.ok()) return;
        e.handle = e.pending->echoed_handle;
        e.pending.reset();
      }
    }
    // Chains created by this commit: their handle is unknown, so look them up again next time.
    for (auto it = chains_.begin(); it != chains_.end();) {
      if (it->second.created) {
        it = chains_.erase(it);
      } else {
        ++it;
      }
    }
    session_.chains = std::move(chains_);
    session_.table_exists = table_exists_;
    session_.genid = gen;
    session_.valid = true;
  }

  struct Planned {
    int op_index;
    std::string what;  // for error messages: "rule INPUT", "chain LIMITS"
    std::function<Result<Message>(uint32_t)> build;
    int busy_as = 0;  // the errno to report instead of the kernel's EBUSY, when it means something precise
    bool flush = false;  // deletes every rule of a chain or table: echoed, it would echo each one
  };

  void Plan(std::string what, std::function<Result<Message>(uint32_t)> build, int busy_as = 0) {
    msgs_.push_back(Planned{current_op_, std::move(what), std::move(build), busy_as, false});
  }

  void PlanFlush(std::string what, std::function<Result<Message>(uint32_t)> build) {
    msgs_.push_back(Planned{current_op_, std::move(what), std::move(build), 0, true});
  }

  Result<bool> TableExists() {
    if (!table_exists_) {
      auto r = s_.Request(GetTableRequest(t_.family, t_.table, s_.NextSeq()), false, "nft get table");
      if (!r.ok() && r.error().errnum != ENOENT) return r.error();
      table_exists_ = r.ok();
    }
    return *table_exists_;
  }

  // EPERM on a message of the batch (a missing capability refuses the whole batch, on
  // BATCH_BEGIN, with op_index -1) means the table has the 'owner' flag (NFT_TABLE_F_OWNER):
  // only the netlink socket that created it may change it (nf_tables_table_lookup), whoever
  // we are. Said as such, since "run as root" would not help.
  KernelError OwnerRefusal(KernelError e) {
    if (e.errnum != EPERM || e.op_index < 0) return e;
    auto r = s_.Request(GetTableRequest(t_.family, t_.table, s_.NextSeq()), false, "nft get table");
    if (!r.ok() || r.value().empty()) return e;
    auto owner = DecodeTableOwner(r.value()[0].data(), r.value()[0].size());
    if (!owner) return e;
    return KernelError{"nft table owner", EPERM, t_.table + ": netlink port " + std::to_string(*owner), e.op_index, ErrorKind::kTableOwned};
  }

  Result<Unit> EnsureTable() {
    auto exists = TableExists();
    if (!exists.ok()) return exists.error();
    if (!exists.value()) {
      Family f = t_.family;
      std::string table = t_.table;
      Plan("table " + table, [f, table](uint32_t seq) { return EncodeNewTable(f, table, seq); });
      table_exists_ = true;
    }
    return Unit{};
  }

  // The chain as the kernel has it (one GETCHAIN), with our planned changes on top.
  Result<ChainState*> Lookup(const std::string& name) {
    auto it = chains_.find(name);
    if (it != chains_.end()) return &it->second;
    auto d = GetChain(s_, t_.family, t_.table, name);
    if (!d.ok()) return d.error();
    ChainState st;
    if (const auto& c = d.value()) {
      st.exists = true;
      st.base = c->base;
      st.handle = c->handle;
      st.use = c->use;
    }
    return &chains_.emplace(name, std::move(st)).first->second;
  }

  // A chain a rule op works on: built-in chains missing on first use are created as
  // iptables-nft creates them (table, then the base chain with policy ACCEPT).
  Result<ChainState*> Chain(const std::string& name) {
    auto st = Lookup(name);
    if (!st.ok()) return st.error();
    ChainState* c = st.value();
    if (c->exists) return c;
    const BuiltinChain* b = FindBuiltin(t_.table, name);
    if (!b) return KernelError{"chain", ENOENT, name, -1, ErrorKind::kChainNotFound};
    auto table = EnsureTable();
    if (!table.ok()) return table.error();
    Family f = t_.family;
    std::string tn = t_.table;
    BuiltinChain bc = *b;
    Plan("chain " + name, [f, tn, bc](uint32_t seq) { return EncodeNewBaseChain(f, tn, bc, NF_ACCEPT, seq); });
    c->exists = c->base = c->created = true;
    c->rules = std::vector<Entry>{};
    return c;
  }

  Result<std::vector<Entry>*> Rules(const std::string& name) {
    auto st = Chain(name);
    if (!st.ok()) return st.error();
    ChainState* c = st.value();
    if (!c->rules) {
      std::vector<Entry> entries;
      if (!flushed_all_) {
        auto dumped = DumpRules(s_, t_.family, t_.table, name, DecodeRuleMessage);
        if (!dumped.ok()) return dumped.error();
        for (auto& d : dumped.value()) entries.push_back(Entry{d.handle, nullptr, std::move(d.rule)});
      }
      for (auto& e : c->early_head) entries.insert(entries.begin(), std::move(e));
      for (auto& e : c->early_tail) entries.push_back(std::move(e));
      c->early_head.clear();
      c->early_tail.clear();
      c->rules = std::move(entries);
    }
    return &*c->rules;
  }

  Result<Unit> CheckJump(const Target& t) {
    if (t.kind != Target::Kind::kJump && t.kind != Target::Kind::kGoto) return Unit{};
    auto st = Lookup(t.name);
    if (!st.ok()) return st.error();
    if (!st.value()->exists || st.value()->base) return KernelError{"chain", ENOENT, t.name, -1, ErrorKind::kChainNotFound};
    return Unit{};
  }

  // Plans a NEWRULE; returns its shared state so later ops of the batch can refer to it.
  std::shared_ptr<NewRule> PlanRule(const std::string& chain, const RuleSpec& rule, RulePlacement where) {
    auto nr = std::make_shared<NewRule>(NewRule{chain, &rule, where, 0});
    new_rules_.push_back(nr);
    Family f = t_.family;
    std::string table = t_.table;
    Plan("rule " + chain, [f, table, nr](uint32_t seq) { return EncodeRuleMessage(f, table, nr->chain, *nr->rule, nr->where, seq); });
    return nr;
  }

  uint32_t IdOf(const std::shared_ptr<NewRule>& nr) {
    if (!nr->where.id) nr->where.id = ++next_rule_id_;
    return nr->where.id;
  }

  // The rule is encoded when the batch is built; a rule that cannot be fails there, naming its op.
  Result<Entry> NewEntry(const std::string& chain, const RuleSpec& rule, RulePlacement where) {
    auto jump = CheckJump(rule.target);
    if (!jump.ok()) return jump.error();
    return Entry{0, PlanRule(chain, rule, where), std::nullopt};
  }

  Result<const RuleSpec*> NormalizedOf(const std::string& chain, Entry& e) {
    if (!e.normalized) {
      auto n = Normalize(t_.family, t_.table, chain, *e.pending->rule);
      if (!n.ok()) return n.error();
      e.normalized = n.take();
    }
    return &*e.normalized;
  }

  void PlanDelete(const std::string& chain, Entry& e) {
    Family f = t_.family;
    std::string table = t_.table;
    uint64_t handle = e.handle;
    uint32_t id = e.pending ? IdOf(e.pending) : 0;
    Plan("rule " + chain, [f, table, chain, handle, id](uint32_t seq) { return EncodeDelRule(f, table, chain, handle, id, seq); });
  }

  Result<int> Find(const std::string& chain, const RuleSpec& rule) {
    auto rules = Rules(chain);
    if (!rules.ok()) return rules.error();
    auto norm = Normalize(t_.family, t_.table, chain, rule);
    if (!norm.ok()) return norm.error();
    auto& v = *rules.value();
    for (size_t i = 0; i < v.size(); i++) {
      auto have = NormalizedOf(chain, v[i]);
      if (!have.ok()) return have.error();
      if (xt::SameRule(t_.family, *have.value(), norm.value())) return static_cast<int>(i);
    }
    return -1;
  }

  Result<OpResult> Append(const std::string& chain, const RuleSpec& rule) {
    auto st = Chain(chain);
    if (!st.ok()) return st.error();
    RulePlacement where;
    where.nlm_flags = NLM_F_CREATE | NLM_F_APPEND;
    auto e = NewEntry(chain, rule, where);
    if (!e.ok()) return e.error();
    if (st.value()->rules)
      st.value()->rules->push_back(e.take());
    else
      st.value()->early_tail.push_back(e.take());
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
        if (op.index == 0) {
          // `iptables-nft -I CHAIN 1`: no position, the kernel puts it at the head.
          auto st = Chain(chain);
          if (!st.ok()) return st.error();
          RulePlacement where;
          where.nlm_flags = NLM_F_CREATE;
          auto e = NewEntry(chain, op.rule, where);
          if (!e.ok()) return e.error();
          if (st.value()->rules)
            st.value()->rules->insert(st.value()->rules->begin(), e.take());
          else
            st.value()->early_head.push_back(e.take());
          return OpResult{true, 0};
        }
        auto rules = Rules(chain);
        if (!rules.ok()) return rules.error();
        auto& v = *rules.value();
        if (op.index > v.size()) return KernelError{"rule", E2BIG, chain, -1, ErrorKind::kPositionNotFound};
        if (op.index == v.size()) {
          auto r = Append(chain, op.rule);
          if (!r.ok()) return r.error();
          return OpResult{true, static_cast<int>(op.index)};
        }
        RulePlacement where;
        where.nlm_flags = NLM_F_CREATE;  // before the rule now at that position
        Entry& at = v[op.index];
        if (at.handle)
          where.position = at.handle;
        else
          where.position_id = IdOf(at.pending);
        auto e = NewEntry(chain, op.rule, where);
        if (!e.ok()) return e.error();
        v.insert(v.begin() + op.index, e.take());
        return OpResult{true, static_cast<int>(op.index)};
      }
      case K::kReplace: {
        auto rules = Rules(chain);
        if (!rules.ok()) return rules.error();
        auto& v = *rules.value();
        if (op.index >= v.size()) return KernelError{"rule", E2BIG, chain, -1, ErrorKind::kPositionNotFound};
        Entry& at = v[op.index];
        if (at.pending) {  // not sent yet: send the new rule in its place
          auto jump = CheckJump(op.rule.target);
          if (!jump.ok()) return jump.error();
          at.pending->rule = &op.rule;
          at.normalized.reset();
          return OpResult{true, static_cast<int>(op.index)};
        }
        RulePlacement where;
        where.nlm_flags = NLM_F_REPLACE;
        where.handle = at.handle;
        auto e = NewEntry(chain, op.rule, where);
        if (!e.ok()) return e.error();
        at = e.take();  // the replacement gets a new handle: later ops refer to it by id
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
          if (found.value() < 0) return KernelError{"rule", ENOENT, chain, -1, ErrorKind::kRuleNotFound};
          index = found.value();
        } else if (op.index >= v.size()) {
          return KernelError{"rule", E2BIG, chain, -1, ErrorKind::kPositionNotFound};
        }
        PlanDelete(chain, v[index]);
        v.erase(v.begin() + index);
        return OpResult{true, index};
      }
      case K::kFlush: {
        Family f = t_.family;
        std::string table = t_.table;
        if (!chain.empty()) {
          auto st = Lookup(chain);
          if (!st.ok()) return st.error();
          if (!st.value()->exists) {
            if (!FindBuiltin(t_.table, chain)) return KernelError{"chain", ENOENT, chain, -1, ErrorKind::kChainNotFound};
            return OpResult{};  // a built-in chain not created yet has no rules
          }
          PlanFlush("chain " + chain, [f, table, chain](uint32_t seq) { return EncodeDelRule(f, table, chain, 0, 0, seq); });
          st.value()->rules = std::vector<Entry>{};
          st.value()->early_head.clear();
          st.value()->early_tail.clear();
          return OpResult{};
        }
        auto exists = TableExists();
        if (!exists.ok()) return exists.error();
        if (!exists.value()) return OpResult{};
        PlanFlush("table " + table, [f, table](uint32_t seq) { return EncodeDelRule(f, table, "", 0, 0, seq); });
        for (auto& [name, st] : chains_) {
          st.rules = std::vector<Entry>{};
          st.early_head.clear();
          st.early_tail.clear();
        }
        flushed_all_ = true;
        return OpResult{};
      }
      case K::kZero: {
        if (!chain.empty()) {
          auto st = Lookup(chain);
          if (!st.ok()) return st.error();
          if (!st.value()->exists && !FindBuiltin(t_.table, chain)) return KernelError{"chain", ENOENT, chain, -1, ErrorKind::kChainNotFound};
        }
        zero_.push_back(chain);
        return OpResult{};
      }
      case K::kCreateChain: {
        auto st = Lookup(chain);
        if (!st.ok()) return st.error();
        if (st.value()->exists) return KernelError{"chain", EEXIST, chain, -1};
        auto table = EnsureTable();
        if (!table.ok()) return table.error();
        Family f = t_.family;
        std::string tn = t_.table;
        Plan("chain " + chain, [f, tn, chain](uint32_t seq) { return EncodeNewUserChain(f, tn, chain, seq); });
        st.value()->exists = st.value()->created = true;
        st.value()->base = false;
        st.value()->handle = 0;
        st.value()->use = 0;
        st.value()->rules = std::vector<Entry>{};
        return OpResult{};
      }
      case K::kDeleteChain: {
        auto rules = Rules(chain);
        if (!rules.ok()) return rules.error();
        ChainState* st = &chains_[chain];
        if (!rules.value()->empty()) return KernelError{"chain", ENOTEMPTY, chain, -1};
        Family f = t_.family;
        std::string tn = t_.table;
        // Empty by then, so the kernel's EBUSY can only mean a rule still jumps to it (its
        // use count holds both the chain's rules and the references to it).
        Plan("chain " + chain, [f, tn, chain](uint32_t seq) { return EncodeDelChain(f, tn, chain, seq); }, EMLINK);
        st->exists = false;
        st->rules.reset();
        return OpResult{};
      }
      case K::kRenameChain: {
        auto st = Lookup(chain);
        if (!st.ok()) return st.error();
        if (!st.value()->exists) return KernelError{"chain", ENOENT, chain, -1, ErrorKind::kChainNotFound};
        if (!st.value()->handle) return KernelError{"chain", EOPNOTSUPP, chain + ": renamed in the transaction that created it", -1};
        auto to = Lookup(op.to);
        if (!to.ok()) return to.error();
        if (to.value()->exists) return KernelError{"chain", EEXIST, op.to, -1};
        Family f = t_.family;
        std::string tn = t_.table;
        uint64_t handle = st.value()->handle;
        std::string new_name = op.to;
        Plan("chain " + chain, [f, tn, handle, new_name](uint32_t seq) { return EncodeRenameChain(f, tn, handle, new_name, seq); });
        ChainState moved = *st.value();
        chains_[chain] = ChainState{};
        chains_[op.to] = std::move(moved);
        return OpResult{};
      }
      case K::kSetPolicy: {
        const BuiltinChain* b = FindBuiltin(t_.table, chain);
        if (!b) return KernelError{"chain", ENOENT, chain, -1, ErrorKind::kChainNotFound};
        auto st = Lookup(chain);
        if (!st.ok()) return st.error();
        if (!st.value()->exists) {
          auto table = EnsureTable();
          if (!table.ok()) return table.error();
          st.value()->exists = st.value()->base = st.value()->created = true;
        }
        Family f = t_.family;
        std::string tn = t_.table;
        BuiltinChain bc = *b;
        uint32_t policy = op.to == "DROP" ? NF_DROP : NF_ACCEPT;
        Plan("chain " + chain, [f, tn, bc, policy](uint32_t seq) { return EncodeNewBaseChain(f, tn, bc, policy, seq); });
        return OpResult{};
      }
    }
    return KernelError{"op", EINVAL, "unknown op kind", -1};
  }

  // Sends the batch under `genid`; `committed` gets the generation id the commit produced.
  Result<Unit> Send(uint32_t genid, bool* stale, uint32_t* committed) {
    // NLM_F_ECHO: the kernel sends each committed rule back with its handle, so the next call
    // can delete or insert relative to it without dumping the chain. Not for large batches:
    // their echoes would overflow the receive buffer, and a lost error reply with them (the
    // cache then simply stays cold).
    if (new_rules_.size() <= kMaxEchoedRules)
      for (auto& nr : new_rules_) nr->where.nlm_flags |= NLM_F_ECHO;
    // Sequence numbers: BATCH_BEGIN, then one per planned message (so msgs_[seq - first_seq - 1]
    // is the message a reply names), then BATCH_END.
    uint32_t first_seq = s_.NextSeq();
    std::vector<Message> built;
    built.reserve(msgs_.size());
    for (size_t i = 0; i < msgs_.size(); i++) {
      auto m = msgs_[i].build(s_.NextSeq());
      if (!m.ok()) {
        KernelError e = m.error();
        e.op_index = msgs_[i].op_index;
        return e;
      }
      built.push_back(m.take());
    }
    // NLM_F_ECHO on the first message after BATCH_BEGIN also asks for the NEWGEN of our commit:
    // nf_tables_gen_notify reports to the sender when the message at the head of the batch
    // skb (BATCH_BEGIN already pulled) has it. Its id is the one our cache is valid at, given
    // under the commit mutex, so no later commit can be taken for ours (NOTES §4.2). Not on
    // a flush: it would echo every rule deleted, overflowing the receive buffer; such a
    // batch leaves the cache cold.
    if (!msgs_[0].flush) reinterpret_cast<struct nlmsghdr*>(built[0].data())->nlmsg_flags |= NLM_F_ECHO;
    // Under the generation id the plan was made at.
    Message batch = FrameBatch(first_seq, genid, built, s_.NextSeq());
    built = {};

    std::vector<uint64_t> echoed;
    auto sent = s_.SendBatch(batch, [&](uint32_t seq, int err, const std::string& text) {
      const Planned* m = seq > first_seq && seq - first_seq <= msgs_.size() ? &msgs_[seq - first_seq - 1] : nullptr;
      if (seq == first_seq && err == ERESTART) *stale = true;
      std::string detail = m ? m->what : t_.table;
      if (!text.empty()) detail += ": " + text;
      if (err == EBUSY && m && m->busy_as) err = m->busy_as;
      return KernelError{"nft commit", err, detail, m ? m->op_index : -1};
    }, &echoed, committed);
    if (!sent.ok()) return sent.error();
    // Echoes come in commit order, which is batch order; a short count (a full receive
    // buffer) leaves handles unknown and the cache unused.
    if (echoed.size() == new_rules_.size())
      for (size_t i = 0; i < echoed.size(); i++) new_rules_[i]->echoed_handle = echoed[i];
    return Unit{};
  }

  const TableTarget& t_;
  Socket& s_;
  TableSession& session_;
  bool from_cache_ = false;
  std::vector<std::shared_ptr<NewRule>> new_rules_;  // in batch order, as the echoes come back
  std::vector<Planned> msgs_;
  std::map<std::string, ChainState> chains_;
  std::optional<bool> table_exists_;
  std::vector<std::string> zero_;
  bool flushed_all_ = false;
  uint32_t next_rule_id_ = 0;
  int current_op_ = -1;
};

}  // namespace

Result<Unit> ProbeTable(const TableTarget& t, TableSession& session) {
  std::lock_guard<std::mutex> lock(session.mu);
  auto s = Connect(t, session);
  if (!s.ok()) return s.error();
  auto gen = s.value()->GetGen();
  if (!gen.ok()) return gen.error();
  return Unit{};
}

namespace {
// Full jitter: uniform in [0, min(cap, 1 ms << attempt)), so writers that collided spread out.
void BackoffBeforeRetry(int attempt) {
  thread_local std::minstd_rand rng(std::random_device{}());
  int ceiling = std::min(kBackoffCapUs, 1000 << std::min(attempt, 10));
  std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, ceiling - 1)(rng)));
}
}  // namespace

Result<std::vector<OpResult>> CommitOps(const TableTarget& t, const std::vector<Op>& ops, TableSession& session, int stale_attempts,
                                        int* attempts) {
  std::lock_guard<std::mutex> lock(session.mu);
  auto s = Connect(t, session);
  if (!s.ok()) return s.error();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(0, t.lock_timeout_ms));
  for (int attempt = 1;; attempt++) {
    bool stale = false;
    Planner p(t, *s.value(), session);
    auto r = p.Run(ops, &stale, attempt <= stale_attempts);
    if (attempts) *attempts = attempt;
    if (r.ok() || !stale) return r;
    if (attempt >= kCommitAttempts && std::chrono::steady_clock::now() >= deadline) return r;
    if (attempt > stale_attempts && !p.from_cache()) BackoffBeforeRetry(attempt);
  }
}

Result<std::vector<ListedChain>> ListTable(const TableTarget& t, TableSession& session) {
  std::lock_guard<std::mutex> lock(session.mu);
  auto sock = Connect(t, session);
  if (!sock.ok()) return sock.error();
  Socket& s = *sock.value();
  std::vector<ListedChain> out;
  for (int attempt = 1;; attempt++) {
    out.clear();
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
        std::string name = d.value().name;  // read before take(): the right operand of = runs first
        by_name[name] = d.take();
      }
    }
    auto rules = DumpRules(s, t.family, t.table, "", DecodeRuleMessage);
    if (!rules.ok()) return rules.error();
    // Chains and rules come from two dumps: if the ruleset changed between them, read again.
    auto gen2 = s.GetGen();
    if (!gen2.ok()) return gen2.error();
    if (gen2.value() != gen.value() && attempt < kDumpAttempts) continue;

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
      // The kernel's use count of a chain holds its own rules and the jumps to it.
      if (d && !builtin) c.references = d->use >= c.rules.size() ? d->use - static_cast<unsigned>(c.rules.size()) : 0;
      out.push_back(std::move(c));
    };
    // iptables-nft-save's order: the table's built-in chains, then user chains by name.
    for (const auto& b : BuiltinChainsOf(t.table)) {
      auto it = by_name.find(b.name);
      add(b.name, true, it == by_name.end() ? nullptr : &it->second);
      if (it != by_name.end()) by_name.erase(it);
    }
    for (const auto& [name, d] : by_name) add(name, d.base, &d);
    return out;
  }
}

Result<std::optional<unsigned>> CountRulesAndUserChains(const TableTarget& t, unsigned most_rules) {
  auto ns = NetnsGuard::Enter(t.netns_fd);
  if (!ns.ok()) return ns.error();
  // A socket of its own, not the session's: a dump cut short must end with its socket.
  auto sock = Socket::Open();
  if (!sock.ok()) return sock.error();
  Socket& s = *sock.value();
  auto table = s.Request(GetTableRequest(t.family, t.table, s.NextSeq()), false, "nft get table");
  if (!table.ok()) {
    if (table.error().errnum != ENOENT) return table.error();
    return std::optional<unsigned>{};
  }
  // The kernel filters both dumps by table (and family): count what comes back. A chain message
  // is decoded (a table has few); a rule message is only counted, never decoded. The rule dump
  // comes last, since it may be cut short.
  auto chains = s.Dump([&](uint32_t seq) { return GetChainRequest(t.family, t.table, "", seq); }, "nft list chains");
  if (!chains.ok()) return chains.error();
  unsigned n = 0;
  for (const auto& m : chains.value()) {
    auto d = DecodeChainMessage(m.data(), m.size());
    if (!d.ok()) return d.error();
    if (d.value().table == t.table && !d.value().base) n++;
  }
  auto rules = s.Request(GetRulesRequest(t.family, t.table, "", NFT_MSG_GETRULE, s.NextSeq()), true, "nft list rules", nullptr, most_rules);
  if (!rules.ok()) return rules.error();
  return std::optional<unsigned>{n + static_cast<unsigned>(rules.value().size())};
}

Result<int> FindRule(const TableTarget& t, TableSession& session, const std::string& chain, const RuleSpec& rule) {
  std::lock_guard<std::mutex> lock(session.mu);
  auto sock = Connect(t, session);
  if (!sock.ok()) return sock.error();
  Socket& s = *sock.value();
  // The rules the session knows of this chain (each with its spec as it reads back), if nobody
  // committed since: one GETGEN, no dump.
  auto known = session.chains.find(chain);
  if (session.valid && known != session.chains.end() && known->second.exists && known->second.rules &&
      std::all_of(known->second.rules->begin(), known->second.rules->end(), [](const Entry& e) { return e.normalized.has_value(); })) {
    auto gen = s.GetGen();
    if (!gen.ok()) return gen.error();
    if (gen.value() == session.genid) {
      auto norm = Normalize(t.family, t.table, chain, rule);
      if (!norm.ok()) return norm.error();
      const auto& v = *known->second.rules;
      for (size_t i = 0; i < v.size(); i++)
        if (xt::SameRule(t.family, *v[i].normalized, norm.value())) return static_cast<int>(i);
      return -1;
    }
  }
  auto c = s.Request(GetChainRequest(t.family, t.table, chain, s.NextSeq()), false, "nft get chain");
  if (!c.ok()) {
    if (c.error().errnum != ENOENT) return c.error();
    if (FindBuiltin(t.table, chain)) return -1;
    return KernelError{"chain", ENOENT, chain, -1, ErrorKind::kChainNotFound};
  }
  auto rules = DumpRules(s, t.family, t.table, chain, DecodeRuleMessage);
  if (!rules.ok()) return rules.error();
  auto norm = Normalize(t.family, t.table, chain, rule);
  if (!norm.ok()) return norm.error();
  for (size_t i = 0; i < rules.value().size(); i++)
    if (xt::SameRule(t.family, rules.value()[i].rule, norm.value())) return static_cast<int>(i);
  return -1;
}

}  // namespace connlimit::core::nft
