// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/nftables_table.h"

#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>

#include "core/netns_guard.h"
#include "core/nft/chain_codec.h"
#include "core/nft/nftables_codec.h"
#include "core/nft/nl_socket.h"
#include "core/nft/requests.h"
#include "core/nft/socket_reads.h"
#include "core/xt/same_rule.h"

namespace connlimit::core::nft {
namespace {

// As the iptables-nft backend (core/nft/nft_table.cc): at least this many attempts against
// concurrent writers, then as many as lockTimeoutMs allows.
constexpr int kCommitAttempts = 8;
constexpr int kRetryPauseUs = 2000;

// The base chains of our tables: the filter table's hooks.
const char* const kChains[] = {"INPUT", "FORWARD", "OUTPUT"};

// Appends open a new table once the last one holds this many rules. The kernel charges every
// commit for the table it changes (its sets) and for the chain (rebuilt whole): measured with
// the netlink floor, an append costs 0.23 ms in an empty table and 3.2 ms beside 2000 connlimit
// rules (docs/nft.md); a few hundred rules keep it within about twice the empty cost.
constexpr int kRulesPerTable = 500;

// Table `index` hooks in at priority filter + index, and every one must run before the security
// table (NF_IP_PRI_SECURITY; NF_IP6_PRI_SECURITY is the same 50), and so before srcnat too: at
// most this many tables, connlimit .. connlimit_49. Appends never open one past the last: once
// connlimit_49 holds rules they stay in it, however many (docs/nft.md).
constexpr int kMaxTables = NF_IP_PRI_SECURITY - NF_IP_PRI_FILTER;

// Table `index` of the form: connlimit, connlimit_1, connlimit_2, ...
std::string NftablesTableName(const std::string& base, int index) {
  return index == 0 ? base : base + "_" + std::to_string(index);
}

// The index of one of our tables' names, or -1.
int IndexOf(const std::string& base, const std::string& name) {
  if (name == base) return 0;
  if (name.size() <= base.size() + 1 || name.compare(0, base.size() + 1, base + "_") != 0) return -1;
  std::string digits = name.substr(base.size() + 1);
  if (digits.size() > 6 || digits[0] == '0' || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoi(digits);
}

// The indexes of our tables in this family, ascending (one GETTABLE dump).
Result<std::vector<int>> ListOurTables(Socket& s, Family family, const std::string& base) {
  auto msgs = s.Dump([&](uint32_t seq) { return GetTablesRequest(family, seq); }, "nft list tables");
  if (!msgs.ok()) return msgs.error();
  std::vector<int> out;
  for (const auto& m : msgs.value()) {
    std::unique_ptr<struct nftnl_table, void (*)(const struct nftnl_table*)> t(nftnl_table_alloc(), nftnl_table_free);
    const auto* nlh = reinterpret_cast<const struct nlmsghdr*>(m.data());
    if (nftnl_table_nlmsg_parse(nlh, t.get()) < 0) return KernelError{"decode", EINVAL, "table message", -1, ErrorKind::kMalformed};
    int index = IndexOf(base, nftnl_table_get_str(t.get(), NFTNL_TABLE_NAME));
    if (index >= 0) out.push_back(index);
  }
  std::sort(out.begin(), out.end());
  return out;
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
  std::string table, chain;
  RuleSpec rule;
  RulePlacement where;
  uint32_t set_id = 0;
  bool dropped = false;     // deleted again by a later op: neither message is sent
  bool positioned = false;  // another new rule is placed relative to it (NFTA_RULE_POSITION_ID)
};

struct Entry {
  int table = 0;                   // index of the table holding it (0: connlimit, 1: connlimit_1, ...)
  uint64_t handle = 0;             // a rule in the kernel
  std::string set_name;            // its connlimit set, if any
  std::shared_ptr<NewRule> added;  // or a rule of this batch
  std::optional<RuleSpec> normalized;
};

struct ChainState {
  bool exists = false;
  uint32_t rules = 0;  // as the kernel counted them (a base chain's use count is its rule count)
};

struct TableState {
  bool existed = false;                      // in the kernel when the batch was planned
  bool created = false;                      // created by this batch
  bool read = false;                         // `chains` and `foreign` are what the kernel has
  std::map<std::string, ChainState> chains;  // our base chains
  bool foreign = false;                      // it holds a chain someone else added
  int delta = 0;                             // rules this batch adds to it minus those it deletes
  bool exists() const { return existed || created; }
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
    current_op_ = -1;
    auto removed = RemoveEmptied();
    if (!removed.ok()) return removed.error();
    if (!msgs_.empty()) {
      auto sent = Send(gen.value(), stale);
      if (!sent.ok()) return sent.error();
    }
    return results;
  }

  // Every table of ours in this family, with whatever it holds, in one batch; how many.
  Result<int> Destroy(bool* stale) {
    *stale = false;
    auto gen = s_.GetGen();
    if (!gen.ok()) return gen.error();
    auto tables = Tables();
    if (!tables.ok()) return tables.error();
    int removed = 0;
    for (const auto& [index, ts] : *tables.value()) {
      if (!ts.existed) continue;
      PlanDeleteTable(index);
      removed++;
    }
    if (!msgs_.empty()) {
      auto sent = Send(gen.value(), stale);
      if (!sent.ok()) return sent.error();
    }
    return removed;
  }

 private:
  struct Planned {
    int op_index;
    int table;  // the index of the table the message changes; -1 for a DELTABLE
    std::string what;
    std::function<Result<Message>(uint32_t)> build;  // an empty message: nothing to send
  };

  void Plan(int table, std::string what, std::function<Result<Message>(uint32_t)> build) {
    msgs_.push_back(Planned{current_op_, table, std::move(what), std::move(build)});
  }

  void PlanDeleteTable(int index) {
    Family f = t_.family;
    std::string tn = Name(index);
    Plan(-1, "table " + tn, [f, tn](uint32_t seq) -> Result<Message> { return EncodeDelNftablesTable(f, tn, seq); });
  }

  // Tables this batch leaves with no rule in their base chains and no chain of anyone else's
  // are removed in the same batch: one DELTABLE instead of their other messages (a table this
  // batch created is then not created at all). So emptied tables never stay hooked, and the
  // indexes appends use stay low. Checked: the tables this batch changed, created or read.
  // The first table, `connlimit`, stays when rules are deleted or a chain flushed (the next
  // append reuses it); flush() with no chain removes it too.
  Result<Unit> RemoveEmptied() {
    if (!tables_) return Unit{};
    for (auto& [index, ts] : *tables_) {
      if (!ts.exists() || !(ts.created || ts.read || ts.delta < 0 || flush_all_)) continue;
      auto size = Size(index);
      if (!size.ok()) return size.error();
      if (size.value() > 0 || ts.foreign) continue;
      if (index == 0 && ts.existed && !flush_all_) continue;
      emptied_.insert(index);
      if (ts.existed) PlanDeleteTable(index);
    }
    return Unit{};
  }

  std::string Name(int index) const { return NftablesTableName(t_.table, index); }

  // Our tables as the kernel has them (one GETTABLE dump of the family), read once.
  Result<std::map<int, TableState>*> Tables() {
    if (!tables_) {
      auto found = ListOurTables(s_, t_.family, t_.table);
      if (!found.ok()) return found.error();
      tables_.emplace();
      for (int index : found.value()) (*tables_)[index].existed = true;
    }
    return &*tables_;
  }

  // Table `index` as the kernel has it (one dump of its chains, read once): our base chains
  // with their rule counts, and whether anyone added a chain of their own.
  Result<TableState*> Read(int index) {
    auto tables = Tables();
    if (!tables.ok()) return tables.error();
    TableState& ts = (*tables.value())[index];
    if (ts.read || !ts.existed) {
      ts.read = true;
      return &ts;
    }
    std::string table = Name(index);
    auto msgs = s_.Dump([&](uint32_t seq) { return GetChainRequest(t_.family, table, "", seq); }, "nft list chains");
    if (!msgs.ok() && msgs.error().errnum != ENOENT) return msgs.error();
    if (msgs.ok()) {
      for (const auto& m : msgs.value()) {
        auto d = DecodeChainMessage(m.data(), m.size());
        if (!d.ok()) return d.error();
        if (d.value().table != table) continue;
        // A base chain's use count is its rule count: nothing can jump to a base chain.
        if (FindBuiltin("filter", d.value().name)) ts.chains[d.value().name] = ChainState{true, d.value().use};
        else ts.foreign = true;
      }
    }
    ts.read = true;
    return &ts;
  }

  // The chain a rule is added to: created (with its table) on first use. Table `index` hooks
  // in at priority filter + `index`, so our tables run in order, right after one another.
  Result<Unit> Create(int index, const std::string& name) {
    auto read = Read(index);
    if (!read.ok()) return read.error();
    TableState& ts = *read.value();
    ChainState& st = ts.chains[name];
    if (st.exists) return Unit{};
    Family f = t_.family;
    std::string tn = Name(index);
    if (!ts.exists()) {
      Plan(index, "table " + tn, [f, tn](uint32_t seq) -> Result<Message> { return EncodeNftablesTable(f, tn, seq); });
      ts.created = true;
    }
    BuiltinChain bc = *FindBuiltin("filter", name);
    bc.priority = NF_IP_PRI_FILTER + index;
    Plan(index, "chain " + name, [f, tn, bc](uint32_t seq) -> Result<Message> { return EncodeNftablesBaseChain(f, tn, bc, seq); });
    st.exists = true;
    return Unit{};
  }

  // The rules of `name` across our tables, in evaluation order (loaded on demand: one dump of
  // the chain per table), with this batch's changes on top.
  Result<std::vector<Entry>*> Rules(const std::string& name) {
    auto it = rules_.find(name);
    if (it != rules_.end()) return &it->second;
    auto tables = Tables();
    if (!tables.ok()) return tables.error();
    std::vector<Entry> entries;
    for (auto& [index, ts] : *tables.value()) {
      if (!ts.existed) continue;
      auto dumped = DumpRules(s_, t_.family, Name(index), name, DecodeNftablesRule);
      if (!dumped.ok()) return dumped.error();
      for (auto& d : dumped.value()) entries.push_back(Entry{index, d.handle, d.set_name, nullptr, std::move(d.rule)});
    }
    auto pending = appended_.find(name);
    if (pending != appended_.end()) {
      for (auto& e : pending->second) entries.push_back(std::move(e));
      appended_.erase(pending);
    }
    return &rules_.emplace(name, std::move(entries)).first->second;
  }

  // Plans the rule's set and the rule in table `index`; the kernel names the set
  // (connlimit%d) and the rule finds it by NFTA_DYNSET_SET_ID. `adds`: false for a replacement.
  Entry PlanRule(int index, const std::string& chain, const RuleSpec& rule, RulePlacement where, bool adds = true) {
    auto nr = std::make_shared<NewRule>(NewRule{Name(index), chain, rule, where, ++next_id_, false, false});
    nr->where.id = nr->set_id;  // NFTA_RULE_ID: later ops of the batch may refer to it
    if (adds) (*tables_)[index].delta++;
    Family f = t_.family;
    Plan(index, "set for rule " + chain, [f, nr](uint32_t seq) -> Result<Message> {
      if (nr->dropped || !ConnlimitOf(nr->rule)) return Message{};
      return EncodeConnlimitSet(f, nr->table, kConnlimitSetPattern, nr->set_id, seq);
    });
    Plan(index, "rule " + chain, [f, nr](uint32_t seq) -> Result<Message> {
      if (nr->dropped) return Message{};
      return EncodeNftablesRule(f, nr->table, nr->chain, nr->rule, kConnlimitSetPattern, nr->set_id, nr->where, seq);
    });
    return Entry{index, 0, "", nr, std::nullopt};
  }

  Result<Unit> PlanDelete(const std::string& chain, Entry& e) {
    if (e.added) {
      if (e.added->positioned) return KernelError{"rule", EOPNOTSUPP, chain + ": deleted in the transaction that placed another rule next to it", -1};
      e.added->dropped = true;
      (*tables_)[e.table].delta--;
      return Unit{};
    }
    (*tables_)[e.table].delta--;
    Family f = t_.family;
    std::string table = Name(e.table);
    uint64_t handle = e.handle;
    Plan(e.table, "rule " + chain, [f, table, chain, handle](uint32_t seq) -> Result<Message> { return EncodeDelRule(f, table, chain, handle, 0, seq); });
    PlanDeleteSet(e.table, e.set_name);
    return Unit{};
  }

  // After the rule that used it: the kernel refuses to delete a set a live rule still uses.
  void PlanDeleteSet(int index, const std::string& set) {
    if (set.empty()) return;
    Family f = t_.family;
    std::string table = Name(index);
    Plan(index, "set " + set, [f, table, set](uint32_t seq) -> Result<Message> { return EncodeDelSet(f, table, set, seq); });
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
      if (xt::SameRule(t_.family, *have.value(), want.value())) return static_cast<int>(i);
    }
    return -1;
  }

  // How many rules table `index` holds once this batch is applied, as planned so far (its base
  // chains' use counts and this batch's changes).
  Result<int> Size(int index) {
    auto read = Read(index);
    if (!read.ok()) return read.error();
    int n = read.value()->delta;
    for (const auto& [name, c] : read.value()->chains) n += static_cast<int>(c.rules);
    return n;
  }

  // Appends go to the last table that holds rules (emptied ones after it are removed), or to
  // the next index once that holds kRulesPerTable, up to kMaxTables; with none, to the first.
  Result<OpResult> Append(const std::string& chain, const RuleSpec& rule) {
    auto tables = Tables();
    if (!tables.ok()) return tables.error();
    int index = 0;
    for (auto it = tables.value()->rbegin(); it != tables.value()->rend(); ++it) {
      if (!it->second.exists()) continue;
      auto size = Size(it->first);
      if (!size.ok()) return size.error();
      if (size.value() == 0) continue;
      index = it->first;
      if (size.value() >= kRulesPerTable && index + 1 < kMaxTables) index++;
      break;
    }
    auto created = Create(index, chain);
    if (!created.ok()) return created.error();
    RulePlacement where;
    where.nlm_flags = NLM_F_CREATE | NLM_F_APPEND;
    Entry e = PlanRule(index, chain, rule, where);
    auto loaded = rules_.find(chain);
    if (loaded != rules_.end()) {
      loaded->second.push_back(std::move(e));
      return OpResult{true, static_cast<int>(loaded->second.size()) - 1};
    }
    appended_[chain].push_back(std::move(e));
    return OpResult{true, -1};
  }

  Result<OpResult> Apply(const Op& op) {
    using K = Op::Kind;
    const std::string& chain = op.chain;
    if (!op.chain.empty() && !FindBuiltin("filter", chain)) return KernelError{"chain", ENOENT, chain, -1, ErrorKind::kChainNotFound};
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
        if (op.index > v.size()) return KernelError{"rule", E2BIG, chain, -1, ErrorKind::kPositionNotFound};
        if (op.index == v.size()) return Append(chain, op.rule);
        // Into the table of the rule now at that position, before it (that table may then
        // hold more than kRulesPerTable: only appends open new tables).
        RulePlacement where;
        where.nlm_flags = NLM_F_CREATE;  // before the rule at `position` (or `position_id`)
        Entry& at = v[op.index];
        if (at.added) {
          at.added->positioned = true;
          where.position_id = at.added->where.id;
        } else {
          where.position = at.handle;
        }
        int index = at.table;
        v.insert(v.begin() + op.index, PlanRule(index, chain, op.rule, where));
        return OpResult{true, static_cast<int>(op.index)};
      }
      case K::kReplace: {
        auto rules = Rules(chain);
        if (!rules.ok()) return rules.error();
        auto& v = *rules.value();
        if (op.index >= v.size()) return KernelError{"rule", E2BIG, chain, -1, ErrorKind::kPositionNotFound};
        Entry& at = v[op.index];
        if (at.added) {  // not sent yet: send the new rule in its place
          at.added->rule = op.rule;
          at.normalized.reset();
          return OpResult{true, static_cast<int>(op.index)};
        }
        RulePlacement where;
        where.nlm_flags = NLM_F_REPLACE;
        where.handle = at.handle;
        int index = at.table;
        std::string old_set = at.set_name;
        at = PlanRule(index, chain, op.rule, where, false);
        PlanDeleteSet(index, old_set);
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
        auto planned = PlanDelete(chain, v[index]);
        if (!planned.ok()) return planned.error();
        v.erase(v.begin() + index);
        return OpResult{true, index};
      }
      case K::kFlush: {
        std::vector<std::string> names;
        flush_all_ = flush_all_ || chain.empty();
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
    // Sequence numbers: BATCH_BEGIN, then one per planned message (an empty one, undone within
    // the batch, is not sent), then BATCH_END.
    uint32_t first_seq = s_.NextSeq();
    std::vector<Message> built;
    built.reserve(msgs_.size());
    std::map<uint32_t, size_t> by_seq;
    for (size_t i = 0; i < msgs_.size(); i++) {
      uint32_t seq = s_.NextSeq();
      if (emptied_.count(msgs_[i].table)) {  // its DELTABLE stands for it
        built.emplace_back();
        continue;
      }
      auto m = msgs_[i].build(seq);
      if (!m.ok()) {
        KernelError e = m.error();
        e.op_index = msgs_[i].op_index;
        return e;
      }
      if (!m.value().empty()) by_seq[seq] = i;
      built.push_back(m.take());
    }
    if (by_seq.empty()) return Unit{};  // every planned change was undone within the batch
    // Under the generation id we read first.
    Message batch = FrameBatch(first_seq, genid, built, s_.NextSeq());
    built = {};
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
  std::optional<std::map<int, TableState>> tables_;
  std::map<std::string, std::vector<Entry>> rules_;     // chains whose rules are loaded
  std::map<std::string, std::vector<Entry>> appended_;  // appends to chains not loaded (yet)
  std::set<int> emptied_;  // tables RemoveEmptied() removes (or, created here, never creates)
  bool flush_all_ = false;  // a flush with no chain: the first table goes too when emptied
  uint32_t next_id_ = 0;
  int current_op_ = -1;
};

// One batch planned by `run` on a fresh Planner, redone while a concurrent writer makes it
// stale (at least kCommitAttempts times, and until lockTimeoutMs has passed).
template <typename T>
Result<T> Committed(const TableTarget& t, const std::function<Result<T>(Planner&, bool*)>& run) {
  auto ns = NetnsGuard::Enter(t.netns_fd);
  if (!ns.ok()) return ns.error();
  auto s = Socket::Open();
  if (!s.ok()) return s.error();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(0, t.lock_timeout_ms));
  for (int attempt = 1;; attempt++) {
    bool stale = false;
    Planner p(t, *s.value());
    auto r = run(p, &stale);
    if (r.ok() || !stale) return r;
    if (attempt >= kCommitAttempts && std::chrono::steady_clock::now() >= deadline) return r;
    std::this_thread::sleep_for(std::chrono::microseconds(kRetryPauseUs));
  }
}

}  // namespace

Result<std::vector<OpResult>> CommitNftablesOps(const TableTarget& t, const std::vector<Op>& ops) {
  return Committed<std::vector<OpResult>>(t, [&ops](Planner& p, bool* stale) { return p.Run(ops, stale); });
}

Result<int> DestroyNftablesTables(const TableTarget& t) {
  return Committed<int>(t, [](Planner& p, bool* stale) { return p.Destroy(stale); });
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
    auto tables = ListOurTables(s, t.family, t.table);
    if (!tables.ok()) return tables.error();
    // Our base chains, each the concatenation of that chain in every table (evaluation order);
    // then chains someone else added to our tables, by name.
    std::vector<ListedChain> out;
    for (const char* name : kChains) {
      ListedChain c;
      c.name = name;
      c.builtin = true;
      c.policy = "ACCEPT";
      out.push_back(std::move(c));
    }
    std::map<std::string, ListedChain> others;
    for (int index : tables.value()) {
      std::string table = NftablesTableName(t.table, index);
      auto chains = s.Dump([&](uint32_t seq) { return GetChainRequest(t.family, table, "", seq); }, "nft list chains");
      if (!chains.ok() && chains.error().errnum != ENOENT) return chains.error();
      auto rules = DumpRules(s, t.family, table, "", DecodeNftablesRule);
      if (!rules.ok()) return rules.error();
      if (!chains.ok()) continue;
      for (const auto& m : chains.value()) {
        auto d = DecodeChainMessage(m.data(), m.size());
        if (!d.ok()) return d.error();
        if (d.value().table != table) continue;
        auto builtin = std::find_if(out.begin(), out.end(), [&](const ListedChain& c) { return c.name == d.value().name; });
        ListedChain* c = builtin != out.end() ? &*builtin : &others[d.value().name];
        if (builtin == out.end()) c->name = d.value().name;
        c->packets += d.value().packets;
        c->bytes += d.value().bytes;
        if (builtin != out.end() && d.value().policy != NF_ACCEPT) c->policy = "DROP";
        for (auto& r : rules.value())
          if (r.chain == c->name) c->rules.push_back(ListedRule{r.rule, r.packets, r.bytes});
      }
    }
    // The tables and their rules come from several dumps: if the ruleset changed meanwhile, read again.
    auto gen2 = s.GetGen();
    if (!gen2.ok()) return gen2.error();
    if (gen2.value() != gen.value() && attempt < kDumpAttempts) continue;
    for (auto& [name, c] : others) out.push_back(std::move(c));
    return out;
  }
}

Result<int> FindNftablesRule(const TableTarget& t, const std::string& chain, const RuleSpec& rule) {
  auto ns = NetnsGuard::Enter(t.netns_fd);
  if (!ns.ok()) return ns.error();
  auto sock = Socket::Open();
  if (!sock.ok()) return sock.error();
  if (!FindBuiltin("filter", chain)) return KernelError{"chain", ENOENT, chain, -1, ErrorKind::kChainNotFound};
  auto want = Normalize(t.family, t.table, chain, rule);
  if (!want.ok()) return want.error();
  auto tables = ListOurTables(*sock.value(), t.family, t.table);
  if (!tables.ok()) return tables.error();
  int position = 0;
  for (int index : tables.value()) {
    auto rules = DumpRules(*sock.value(), t.family, NftablesTableName(t.table, index), chain, DecodeNftablesRule);
    if (!rules.ok()) return rules.error();
    for (const auto& r : rules.value()) {
      if (xt::SameRule(t.family, r.rule, want.value())) return position;
      position++;
    }
  }
  return -1;
}

}  // namespace connlimit::core::nft
