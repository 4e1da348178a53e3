// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/planner.h"

#include <linux/netfilter.h>
#include <linux/netlink.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <utility>
#include <variant>

#include "core/xt/same_rule.h"

namespace connlimit::core::nft {
namespace {

KernelError NoChain(const std::string& chain) { return KernelError{"chain", ENOENT, chain, -1, ErrorKind::kChainNotFound}; }
KernelError NoPosition(const std::string& chain) { return KernelError{"rule", E2BIG, chain, -1, ErrorKind::kPositionNotFound}; }
KernelError NoRule(const std::string& chain) { return KernelError{"rule", ENOENT, chain, -1, ErrorKind::kRuleNotFound}; }

// nf_tables sets belong to one table, and client sets live in the form's first (core/nft/native/
// nftables_set_socket.h): a rule in a later table would look up a set it can't see, which the
// kernel refuses with a bare ENOENT. Said before the kernel, naming the set.
Result<Unit> SetsSeenFrom(const Form& form, int index, const std::string& chain, const RuleSpec& rule) {
  if (index == 0) return Unit{};
  for (const auto& m : rule.matches) {
    const auto* x = std::get_if<OpaqueExtension>(&m);
    if (x && !x->sets.empty())
      return KernelError{"rule " + chain + " in table " + form.TableName(index), EOPNOTSUPP, x->sets[0], -1, ErrorKind::kSetOutsideTable};
  }
  return Unit{};
}

class Planner {
 public:
  Planner(const Form& form, PlanReader& reader, Knowledge& known)
      : form_(form), traits_(form.traits()), reader_(reader), k_(known) {}

  Result<Batch> Run(const std::vector<Op>& ops) {
    op_count_ = ops.size();
    batch_.msgs.reserve(ops.size());
    batch_.results.reserve(ops.size());
    for (size_t i = 0; i < ops.size(); i++) {
      current_op_ = static_cast<int>(i);
      auto r = Apply(ops[i]);
      if (!r.ok()) {
        KernelError e = r.error();
        e.op_index = static_cast<int>(i);
        return e;
      }
      batch_.results.push_back(r.value());
    }
    current_op_ = -1;
    if (traits_.max_tables > 1) {
      auto removed = RemoveEmptied();
      if (!removed.ok()) return removed.error();
    }
    return std::move(batch_);
  }

  Result<Batch> Destroy() {
    auto tables = reader_.Tables();
    if (!tables.ok()) return tables.error();
    for (int index : tables.value()) PlanDeleteTable(index);
    batch_.results.push_back(OpResult{!tables.value().empty(), static_cast<int>(tables.value().size())});
    return std::move(batch_);
  }

 private:
  bool Single() const { return traits_.max_tables == 1; }

  void Plan(int table, std::string what, std::function<Result<Message>(uint32_t)> build, int busy_as = 0, bool flush = false) {
    batch_.msgs.push_back(PlannedMessage{current_op_, table, std::move(what), std::move(build), busy_as, flush});
  }

  void PlanDeleteTable(int index) {
    const Form& f = form_;
    // Echoed, it would echo every rule and set of the table: a flush.
    Plan(-1, "table " + form_.TableName(index), [&f, index](uint32_t seq) -> Result<Message> { return f.DeleteTable(index, seq); }, 0,
         true);
  }

  // Table `index` as far as this batch knows it; the form's tables are listed once.
  Result<PlanTable*> Table(int index) {
    if (!k_.listed) {
      auto found = reader_.Tables();
      if (!found.ok()) return found.error();
      for (int i : found.value()) k_.tables[i].existed = true;
      k_.listed = true;
    }
    return &k_.tables[index];
  }

  // Table `index` with every chain it holds (read once): the base chains' rule counts, and
  // whether anyone added a chain of their own.
  Result<PlanTable*> Read(int index) {
    auto t = Table(index);
    if (!t.ok()) return t.error();
    PlanTable& ts = *t.value();
    if (ts.read || !ts.existed) {
      ts.read = true;
      return &ts;
    }
    auto chains = reader_.Chains(index);
    if (!chains.ok()) return chains.error();
    for (const auto& d : chains.value()) {
      if (form_.Builtin(d.name))
        ts.chains[d.name] = PlanChain{true, d.base, false, d.handle, d.use};
      else
        ts.foreign = true;
    }
    ts.read = true;
    return &ts;
  }

  // One chain: from what is known, or one GETCHAIN.
  Result<PlanChain*> Lookup(int index, const std::string& name) {
    PlanTable& ts = k_.tables[index];
    auto it = ts.chains.find(name);
    if (it != ts.chains.end()) return &it->second;
    if (ts.read) return &ts.chains[name];
    auto d = reader_.Chain(index, name);
    if (!d.ok()) return d.error();
    PlanChain st;
    if (const auto& c = d.value()) st = PlanChain{true, c->base, false, c->handle, c->use};
    return &ts.chains.emplace(name, st).first->second;
  }

  Result<Unit> EnsureTable(int index) {
    auto t = Table(index);
    if (!t.ok()) return t.error();
    if (t.value()->exists()) return Unit{};
    const Form& f = form_;
    Plan(index, "table " + form_.TableName(index), [&f, index](uint32_t seq) -> Result<Message> { return f.NewTable(index, seq); });
    t.value()->created = true;
    return Unit{};
  }

  // The chain a rule goes to: a base chain missing on first use is created (with its table).
  Result<PlanChain*> EnsureChain(int index, const std::string& name) {
    if (!Single()) {
      auto read = Read(index);
      if (!read.ok()) return read.error();
    }
    auto st = Lookup(index, name);
    if (!st.ok()) return st.error();
    PlanChain* c = st.value();
    if (c->exists) return c;
    const BuiltinChain* b = form_.Builtin(name);
    if (!b) return NoChain(name);
    auto table = EnsureTable(index);
    if (!table.ok()) return table.error();
    const Form& f = form_;
    BuiltinChain bc = *b;
    Plan(index, "chain " + name, [&f, index, bc](uint32_t seq) -> Result<Message> { return f.NewBaseChain(index, bc, NF_ACCEPT, seq); });
    c->exists = c->base = c->created = true;
    if (Single()) k_.rules[name].loaded.emplace();  // a chain created now holds no rules
    return c;
  }

  // The rules of `name` across the form's tables, in evaluation order (read on demand: one
  // dump of the chain per table), with this batch's changes on top.
  Result<std::vector<PlanEntry>*> Rules(const std::string& name) {
    if (Single()) {
      auto st = EnsureChain(0, name);
      if (!st.ok()) return st.error();
    }
    PlanRules& list = k_.rules[name];
    if (!list.loaded) {
      std::vector<PlanEntry> entries;
      std::vector<int> indexes;
      if (Single()) {
        indexes.push_back(0);
      } else {
        auto t = Table(0);
        if (!t.ok()) return t.error();
        for (const auto& [index, ts] : k_.tables)
          if (ts.existed) indexes.push_back(index);
      }
      for (int index : flushed_all_ ? std::vector<int>{} : indexes) {
        auto dumped = reader_.RulesToCompare(index, name);
        if (!dumped.ok()) return dumped.error();
        for (auto& d : dumped.value())
          entries.push_back(PlanEntry{index, d.handle, d.set_name, nullptr, std::move(d.rule), nullptr, std::move(d.deferred)});
      }
      list.loaded = std::move(entries);
    }
    auto& v = *list.loaded;
    for (auto& e : list.early_head) v.insert(v.begin(), std::move(e));
    for (auto& e : list.early_tail) v.push_back(std::move(e));
    list.early_head.clear();
    list.early_tail.clear();
    return &v;
  }

  Result<Unit> CheckJump(const Target& t) {
    if (t.kind != Target::Kind::kJump && t.kind != Target::Kind::kGoto) return Unit{};
    auto st = Lookup(0, t.name);
    if (!st.ok()) return st.error();
    if (!st.value()->exists || st.value()->base) return NoChain(t.name);
    return Unit{};
  }

  uint32_t IdOf(const std::shared_ptr<PlannedRule>& nr) {
    if (!nr->where.id) nr->where.id = ++next_id_;
    return nr->where.id;
  }

  // nf_tables keeps one set of a name per table, and a native-form hashlimit meter is a set
  // named as its --hashlimit-name (xlate_hashlimit.cc), where xt_hashlimit lets rules of one
  // name share a bucket table: the kernel refuses a second one with a bare EOPNOTSUPP, so it is
  // said here, naming it. Taken: by a rule of this batch in the table (but `except`, the one a
  // replace of a rule not yet sent puts this one in place of), or by a set of the table in the
  // kernel (one GETSET a name: a meter, or a client set) unless this batch deletes the rule
  // whose meter it is. A replace of a sent rule still finds the old rule's: the kernel makes
  // the new meter while that one is there (delete and insert in one transaction instead).
  Result<Unit> MeterNamesFree(int index, const std::string& chain, const RuleSpec& rule, const PlannedRule* except = nullptr) {
    auto names = form_.UniqueSetNames(rule);
    if (names.empty()) return Unit{};
    auto taken = [&](const std::string& name) {
      return KernelError{"rule " + chain + " in table " + form_.TableName(index), EEXIST, name, -1, ErrorKind::kMeterNameTaken};
    };
    for (size_t i = 0; i < names.size(); i++)
      if (std::find(names.begin(), names.begin() + i, names[i]) != names.begin() + i) return taken(names[i]);
    for (const auto& nr : batch_.new_rules) {
      if (nr->dropped || nr.get() == except || nr->table != index) continue;
      for (const auto& name : form_.UniqueSetNames(*nr->rule))
        if (std::find(names.begin(), names.end(), name) != names.end()) return taken(name);
    }
    for (const auto& name : names) {
      if (freed_sets_.count({index, name})) continue;
      auto held = reader_.HasSet(index, name);
      if (!held.ok()) return held.error();
      if (held.value()) return taken(name);
    }
    return Unit{};
  }

  // Plans the rule (and its set) in table `index`; encoded when the batch is built, so a later
  // op may still change or drop it. `adds`: false for a replacement.
  Result<PlanEntry> NewEntry(int index, const std::string& chain, const RuleSpec& rule, RulePlacement where, bool adds = true) {
    if (traits_.user_chains) {
      auto jump = CheckJump(rule.target);
      if (!jump.ok()) return jump.error();
    }
    auto seen = SetsSeenFrom(form_, index, chain, rule);
    if (!seen.ok()) return seen.error();
    auto meters = MeterNamesFree(index, chain, rule);
    if (!meters.ok()) return meters.error();
    auto nr = std::make_shared<PlannedRule>(PlannedRule{index, chain, &rule, where});
    if (traits_.rule_sets) {
      // The kernel names the set (connlimit%d); the rule finds it by NFTA_DYNSET_SET_ID, and
      // later ops of the batch find the rule by the same number as NFTA_RULE_ID.
      nr->set_id = ++next_id_;
      nr->where.id = nr->set_id;
    }
    if (adds) k_.tables[index].delta[chain]++;
    batch_.new_rules.push_back(nr);
    const Form& f = form_;
    if (traits_.rule_sets)
      Plan(index, "set for rule " + chain, [&f, nr](uint32_t seq) -> Result<Message> {
        if (nr->dropped) return Message{};
        Message m = f.NewSet(*nr, seq);
        nr->with_set = !m.empty();
        return m;
      });
    Plan(index, "rule " + chain, [&f, nr](uint32_t seq) -> Result<Message> {
      if (nr->dropped) return Message{};
      return f.NewRule(*nr, seq);
    });
    return PlanEntry{index, 0, "", nr, std::nullopt, nullptr};
  }

  // After the rule that used it: the kernel refuses to delete a set a live rule still uses.
  void PlanDeleteSet(int index, const std::string& set) {
    if (set.empty()) return;
    const Form& f = form_;
    Plan(index, "set " + set, [&f, index, set](uint32_t seq) -> Result<Message> { return f.DeleteSet(index, set, seq); });
  }

  Result<Unit> PlanDelete(const std::string& chain, PlanEntry& e) {
    if (e.pending && traits_.rule_sets) {
      // Its set goes unsent with it (a DELRULE by id would leave the set behind).
      if (e.pending->positioned)
        return KernelError{"rule", EOPNOTSUPP, chain + ": deleted in the transaction that placed another rule next to it", -1};
      e.pending->dropped = true;
      k_.tables[e.table].delta[chain]--;
      return Unit{};
    }
    k_.tables[e.table].delta[chain]--;
    if (e.normalized)
      for (auto& name : form_.UniqueSetNames(*e.normalized)) freed_sets_.insert({e.table, std::move(name)});
    Family fam = form_.family();
    std::string table = form_.TableName(e.table);
    uint64_t handle = e.handle;
    uint32_t id = e.pending ? IdOf(e.pending) : 0;
    Plan(e.table, "rule " + chain,
         [fam, table, chain, handle, id](uint32_t seq) -> Result<Message> { return EncodeDelRule(fam, table, chain, handle, id, seq); });
    PlanDeleteSet(e.table, e.set_name);
    return Unit{};
  }

  Result<const RuleSpec*> NormalizedOf(const std::string& chain, PlanEntry& e) { return nft::NormalizedOf(form_, chain, e); }

  Result<int> Find(const std::string& chain, const RuleSpec& rule) {
    auto rules = Rules(chain);
    if (!rules.ok()) return rules.error();
    auto want = form_.Normalize(chain, rule);
    if (!want.ok()) return want.error();
    auto& v = *rules.value();
    DeferredComparer same(form_, chain, want.value(), reader_.Sets(), reader_.Lacks());
    for (size_t i = 0; i < v.size(); i++) {
      auto equal = same.SameAt(v, i);
      if (!equal.ok()) return equal.error();
      if (equal.value()) return static_cast<int>(i);
    }
    return -1;
  }

  // How many rules table `index` holds once this batch is applied, as planned so far.
  Result<int> Size(int index) {
    auto read = Read(index);
    if (!read.ok()) return read.error();
    int n = read.value()->Delta();
    for (const auto& [name, c] : read.value()->chains) n += static_cast<int>(c.use);
    return n;
  }

  // Appends go to the last table that holds rules, or to the next index once that holds
  // rules_per_table, up to max_tables; with none, to the first.
  Result<int> AppendTable() {
    if (Single()) return 0;
    auto t = Table(0);
    if (!t.ok()) return t.error();
    for (auto it = k_.tables.rbegin(); it != k_.tables.rend(); ++it) {
      if (!it->second.exists()) continue;
      auto size = Size(it->first);
      if (!size.ok()) return size.error();
      if (size.value() == 0) continue;
      int index = it->first;
      if (size.value() >= traits_.rules_per_table && index + 1 < traits_.max_tables) index++;
      return index;
    }
    return 0;
  }

  Result<OpResult> Append(const std::string& chain, const RuleSpec& rule) {
    auto index = AppendTable();
    if (!index.ok()) return index.error();
    auto st = EnsureChain(index.value(), chain);
    if (!st.ok()) return st.error();
    RulePlacement where;
    where.nlm_flags = NLM_F_CREATE | NLM_F_APPEND;
    auto e = NewEntry(index.value(), chain, rule, where);
    if (!e.ok()) return e.error();
    PlanRules& list = k_.rules[chain];
    auto& to = list.loaded ? *list.loaded : list.early_tail;
    // Room for every op left at once: a bulk append grows the list once, not by doubling.
    if (to.size() == to.capacity()) to.reserve(to.size() + op_count_ - current_op_);
    to.push_back(e.take());
    return OpResult{true, -1};
  }

  Result<OpResult> Insert(const std::string& chain, unsigned position, const RuleSpec& rule) {
    RulePlacement where;
    where.nlm_flags = NLM_F_CREATE;  // before the rule at `position` (or `position_id`)
    if (position == 0 && Single()) {
      // `iptables-nft -I CHAIN 1`: no position, the kernel puts it at the head; nothing read.
      auto st = EnsureChain(0, chain);
      if (!st.ok()) return st.error();
      auto e = NewEntry(0, chain, rule, where);
      if (!e.ok()) return e.error();
      PlanRules& list = k_.rules[chain];
      if (list.loaded)
        list.loaded->insert(list.loaded->begin(), e.take());
      else
        list.early_head.push_back(e.take());
      return OpResult{true, 0};
    }
    auto rules = Rules(chain);
    if (!rules.ok()) return rules.error();
    auto& v = *rules.value();
    if (position > v.size()) return NoPosition(chain);
    if (position == v.size()) {
      auto r = Append(chain, rule);
      if (!r.ok()) return r.error();
      return OpResult{true, static_cast<int>(position)};
    }
    // Into the table of the rule now at that position, before it (that table may then hold
    // more than rules_per_table: only appends open new tables).
    PlanEntry& at = v[position];
    if (at.pending) {
      at.pending->positioned = true;
      where.position_id = IdOf(at.pending);
    } else {
      where.position = at.handle;
    }
    auto e = NewEntry(at.table, chain, rule, where);
    if (!e.ok()) return e.error();
    v.insert(v.begin() + position, e.take());
    return OpResult{true, static_cast<int>(position)};
  }

  Result<OpResult> Replace(const std::string& chain, unsigned position, const RuleSpec& rule) {
    auto rules = Rules(chain);
    if (!rules.ok()) return rules.error();
    auto& v = *rules.value();
    if (position >= v.size()) return NoPosition(chain);
    PlanEntry& at = v[position];
    if (at.pending) {  // not sent yet: send the new rule in its place
      if (traits_.user_chains) {
        auto jump = CheckJump(rule.target);
        if (!jump.ok()) return jump.error();
      }
      auto seen = SetsSeenFrom(form_, at.table, chain, rule);
      if (!seen.ok()) return seen.error();
      auto meters = MeterNamesFree(at.table, chain, rule, at.pending.get());
      if (!meters.ok()) return meters.error();
      at.pending->rule = &rule;
      at.normalized.reset();
      return OpResult{true, static_cast<int>(position)};
    }
    RulePlacement where;
    where.nlm_flags = NLM_F_REPLACE;
    where.handle = at.handle;
    int index = at.table;
    std::string old_set = at.set_name;
    auto e = NewEntry(index, chain, rule, where, false);
    if (!e.ok()) return e.error();
    at = e.take();  // the replacement gets a new handle: later ops refer to it by id
    PlanDeleteSet(index, old_set);
    return OpResult{true, static_cast<int>(position)};
  }

  Result<OpResult> Delete(const Op& op) {
    auto rules = Rules(op.chain);
    if (!rules.ok()) return rules.error();
    auto& v = *rules.value();
    int index = static_cast<int>(op.index);
    if (op.kind == Op::Kind::kDelete) {
      auto found = Find(op.chain, op.rule);
      if (!found.ok()) return found.error();
      if (found.value() < 0) return NoRule(op.chain);
      index = found.value();
    } else if (op.index >= v.size()) {
      return NoPosition(op.chain);
    }
    auto planned = PlanDelete(op.chain, v[index]);
    if (!planned.ok()) return planned.error();
    v.erase(v.begin() + index);
    return OpResult{true, index};
  }

  // With sets: each rule and its set by handle (the form's chain, or every base chain).
  Result<OpResult> FlushByRule(const std::string& chain) {
    std::vector<std::string> names;
    flush_all_ = flush_all_ || chain.empty();
    if (chain.empty()) {
      for (const auto& b : form_.Builtins()) names.push_back(b.name);
    } else {
      names.push_back(chain);
    }
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

  // Without sets: one DELRULE for the chain (or the table), as iptables-nft -F sends it.
  Result<OpResult> Flush(const std::string& chain) {
    if (traits_.rule_sets) return FlushByRule(chain);
    Family fam = form_.family();
    std::string table = form_.TableName(0);
    if (!chain.empty()) {
      auto st = Lookup(0, chain);
      if (!st.ok()) return st.error();
      if (!st.value()->exists) {
        if (!form_.Builtin(chain)) return NoChain(chain);
        return OpResult{};  // a built-in chain not created yet has no rules
      }
      Plan(0, "chain " + chain, [fam, table, chain](uint32_t seq) -> Result<Message> { return EncodeDelRule(fam, table, chain, 0, 0, seq); },
           0, true);
      k_.rules[chain] = PlanRules{std::vector<PlanEntry>{}, {}, {}};
      return OpResult{};
    }
    auto t = Table(0);
    if (!t.ok()) return t.error();
    if (!t.value()->exists()) return OpResult{};
    Plan(0, "table " + table, [fam, table](uint32_t seq) -> Result<Message> { return EncodeDelRule(fam, table, "", 0, 0, seq); }, 0, true);
    for (auto& [name, list] : k_.rules) list = PlanRules{std::vector<PlanEntry>{}, {}, {}};
    flushed_all_ = true;
    return OpResult{};
  }

  Result<OpResult> ChainOp(const Op& op) {
    using K = Op::Kind;
    const std::string& chain = op.chain;
    Family fam = form_.family();
    std::string tn = form_.TableName(0);
    switch (op.kind) {
      case K::kZero: {
        if (!chain.empty()) {
          auto st = Lookup(0, chain);
          if (!st.ok()) return st.error();
          if (!st.value()->exists && !form_.Builtin(chain)) return NoChain(chain);
        }
        batch_.zero.push_back(chain);
        return OpResult{};
      }
      case K::kCreateChain: {
        auto st = Lookup(0, chain);
        if (!st.ok()) return st.error();
        if (st.value()->exists) return KernelError{"chain", EEXIST, chain, -1};
        auto table = EnsureTable(0);
        if (!table.ok()) return table.error();
        Plan(0, "chain " + chain, [fam, tn, chain](uint32_t seq) -> Result<Message> { return EncodeNewUserChain(fam, tn, chain, seq); });
        *st.value() = PlanChain{true, false, true, 0, 0};
        k_.rules[chain] = PlanRules{std::vector<PlanEntry>{}, {}, {}};
        return OpResult{};
      }
      case K::kDeleteChain: {
        auto rules = Rules(chain);
        if (!rules.ok()) return rules.error();
        if (!rules.value()->empty()) return KernelError{"chain", ENOTEMPTY, chain, -1};
        // Empty by then, so the kernel's EBUSY can only mean a rule still jumps to it (its
        // use count holds both the chain's rules and the references to it).
        Plan(0, "chain " + chain, [fam, tn, chain](uint32_t seq) -> Result<Message> { return EncodeDelChain(fam, tn, chain, seq); },
             EMLINK);
        k_.tables[0].chains[chain].exists = false;
        k_.rules.erase(chain);
        return OpResult{};
      }
      case K::kRenameChain: {
        auto st = Lookup(0, chain);
        if (!st.ok()) return st.error();
        if (!st.value()->exists) return NoChain(chain);
        if (!st.value()->handle) return KernelError{"chain", EOPNOTSUPP, chain + ": renamed in the transaction that created it", -1};
        auto to = Lookup(0, op.to);
        if (!to.ok()) return to.error();
        if (to.value()->exists) return KernelError{"chain", EEXIST, op.to, -1};
        uint64_t handle = st.value()->handle;
        std::string new_name = op.to;
        Plan(0, "chain " + chain,
             [fam, tn, handle, new_name](uint32_t seq) -> Result<Message> { return EncodeRenameChain(fam, tn, handle, new_name, seq); });
        *to.value() = *st.value();
        *st.value() = PlanChain{};
        auto moved = k_.rules.find(chain);
        if (moved != k_.rules.end()) {
          k_.rules[op.to] = std::move(moved->second);
          k_.rules.erase(chain);
        }
        return OpResult{};
      }
      case K::kSetPolicy: {
        const BuiltinChain* b = form_.Builtin(chain);
        if (!b) return NoChain(chain);
        auto st = Lookup(0, chain);
        if (!st.ok()) return st.error();
        if (!st.value()->exists) {
          auto table = EnsureTable(0);
          if (!table.ok()) return table.error();
          st.value()->exists = st.value()->base = st.value()->created = true;
        }
        const Form& f = form_;
        BuiltinChain bc = *b;
        uint32_t policy = op.to == "DROP" ? NF_DROP : NF_ACCEPT;
        Plan(0, "chain " + chain, [&f, bc, policy](uint32_t seq) -> Result<Message> { return f.NewBaseChain(0, bc, policy, seq); });
        return OpResult{};
      }
      default:
        return KernelError{"op", EINVAL, "unknown op kind", -1};
    }
  }

  Result<OpResult> Apply(const Op& op) {
    using K = Op::Kind;
    const std::string& chain = op.chain;
    if (!traits_.user_chains && !chain.empty() && !form_.Builtin(chain)) return NoChain(chain);
    switch (op.kind) {
      case K::kAppend:
        return Append(chain, op.rule);
      case K::kEnsure: {
        auto found = Find(chain, op.rule);
        if (!found.ok()) return found.error();
        if (found.value() >= 0) return OpResult{false, found.value()};
        return Append(chain, op.rule);
      }
      case K::kInsert:
        return Insert(chain, op.index, op.rule);
      case K::kReplace:
        return Replace(chain, op.index, op.rule);
      case K::kDelete:
      case K::kDeleteAt:
        return Delete(op);
      case K::kFlush:
        return Flush(chain);
      default:
        if (!traits_.user_chains) return KernelError{"op", EOPNOTSUPP, "not available in the native nftables form", -1};
        return ChainOp(op);
    }
  }

  // Tables this batch leaves with no rule in their base chains and no chain of anyone else's
  // are removed in the same batch: one DELTABLE instead of their other messages (a table this
  // batch created is then not created at all). So emptied tables never stay hooked, and the
  // indexes appends use stay low. Checked: the tables this batch changed, created or read.
  // The first table stays when rules are deleted or a chain flushed (the next append reuses
  // it); a flush of every chain removes it too.
  Result<Unit> RemoveEmptied() {
    if (!k_.listed) return Unit{};
    for (auto& [index, ts] : k_.tables) {
      if (!ts.exists() || !(ts.created || ts.read || ts.Delta() < 0 || flush_all_)) continue;
      auto size = Size(index);
      if (!size.ok()) return size.error();
      if (size.value() > 0 || ts.foreign) continue;
      if (index == 0 && ts.existed && !flush_all_) continue;
      // A flush of every chain keeps the first table when it holds client sets (Sets on this
      // form): they are the user's, not the rules'; destroy() still removes them.
      if (index == 0 && ts.existed && traits_.rule_sets) {
        auto others = reader_.HoldsOtherSets(index);
        if (!others.ok()) return others.error();
        if (others.value()) continue;
      }
      batch_.emptied.insert(index);
      if (ts.existed) PlanDeleteTable(index);
      // The view the batch leaves: no such table, so nothing of it to read.
      ts = PlanTable{};
      ts.read = true;
    }
    return Unit{};
  }

  const Form& form_;
  const Form::Traits& traits_;
  PlanReader& reader_;
  Knowledge& k_;
  Batch batch_;
  std::set<std::pair<int, std::string>> freed_sets_;  // (table, name): meters of rules this batch deletes
  bool flushed_all_ = false;  // the table's rules were flushed in one message: none is read
  bool flush_all_ = false;    // a flush with no chain: the first table goes too when emptied
  uint32_t next_id_ = 0;
  int current_op_ = -1;
  size_t op_count_ = 0;
};

// Whether the kernel held none of `chain`'s rules when the batch was planned: every table of
// the form is known (listed, each existing one read whole) and none's chain counted a rule.
bool KnownEmptyBefore(const Knowledge& known, const std::string& chain) {
  if (!known.listed) return false;
  for (const auto& [index, ts] : known.tables) {
    if (!ts.existed) continue;
    if (!ts.read) return false;
    auto c = ts.chains.find(chain);
    if (c != ts.chains.end() && c->second.use > 0) return false;
  }
  return true;
}

}  // namespace

Result<Batch> PlanOps(const Form& form, PlanReader& reader, Knowledge& known, const std::vector<Op>& ops) {
  return Planner(form, reader, known).Run(ops);
}

Result<Batch> PlanDestroy(const Form& form, PlanReader& reader) {
  Knowledge none;
  return Planner(form, reader, none).Destroy();
}

Result<const RuleSpec*> NormalizedOf(const Form& form, const std::string& chain, PlanEntry& e) {
  if (!e.normalized) {
    const RuleSpec* rule = e.pending ? e.pending->rule : e.given.get();
    if (!rule) return KernelError{"nft cache", EINVAL, chain + ": a rule with nothing to compare", -1};
    auto n = form.Normalize(chain, *rule);
    if (!n.ok()) return n.error();
    e.normalized = n.take();
    e.given.reset();
  }
  return &*e.normalized;
}

Result<Unit> DeferredComparer::MakeMatch() {
  if (match_) return Unit{};
  auto m = form_.MatchDeferred(chain_, want_);
  if (!m.ok()) return m.error();
  match_ = m.take();
  if (!match_) return KernelError{"nft compare", EINVAL, chain_ + ": a rule read with its sets unread by a form that never defers", -1};
  return Unit{};
}

Result<bool> DeferredComparer::SameAt(std::vector<PlanEntry>& v, size_t i) {
  if (i % Form::kLookAhead == 0 && lacks_) {
    std::vector<const Message*> next;
    for (size_t j = i; j < std::min(i + Form::kLookAhead, v.size()); j++)
      if (v[j].deferred) next.push_back(v[j].deferred.get());
    if (!next.empty()) {
      auto made = MakeMatch();
      if (!made.ok()) return made.error();
      auto looked = match_->LookAhead(next, lacks_);
      if (!looked.ok()) return looked.error();
    }
  }
  return Same(v[i]);
}

Result<bool> DeferredComparer::Same(PlanEntry& e) {
  if (!e.deferred) {
    auto have = NormalizedOf(form_, chain_, e);
    if (!have.ok()) return have.error();
    return xt::SameRule(form_.family(), *have.value(), want_);
  }
  auto made = MakeMatch();
  if (!made.ok()) return made.error();
  if (!read_set_) return KernelError{"nft compare", EINVAL, chain_ + ": a rule read with its sets unread, and nothing to read them", -1};
  auto equal = match_->Resolve(*e.deferred, read_set_);
  if (!equal.ok()) return equal.error();
  if (!equal.value()) return false;
  e.normalized = std::move(*equal.value());
  e.deferred.reset();
  return true;
}

bool Settle(const Form& form, Knowledge& known) {
  bool several = form.traits().max_tables > 1;
  for (auto& [name, list] : known.rules) {
    bool partial = !list.early_head.empty() || !list.early_tail.empty();
    if (partial && !list.loaded && several && KnownEmptyBefore(known, name)) {
      list.loaded.emplace();
      for (auto& e : list.early_head) list.loaded->push_back(std::move(e));
      for (auto& e : list.early_tail) list.loaded->push_back(std::move(e));
    } else if (partial) {
      list.loaded.reset();  // never read: forget the partial view
    }
    list.early_head.clear();
    list.early_tail.clear();
    if (!list.loaded) continue;
    for (auto& e : *list.loaded) {
      if (!e.pending) continue;
      if (!e.pending->echoed_handle) return false;
      if (e.pending->with_set && e.pending->echoed_set.empty()) return false;  // a delete would leave the set behind
      // The op's rule goes with the pending state: kept as given, normalized when first compared.
      if (!e.normalized) e.given = std::make_shared<const RuleSpec>(*e.pending->rule);
      e.handle = e.pending->echoed_handle;
      e.set_name = e.pending->echoed_set;
      e.pending.reset();
    }
  }
  for (auto& [index, ts] : known.tables) {
    for (auto it = ts.chains.begin(); it != ts.chains.end();) {
      // Chains created by this commit: their handle is unknown, so a form that renames chains
      // looks them up again next time. A base chain is never renamed: kept, handle unknown.
      if (it->second.created && form.traits().user_chains) {
        it = ts.chains.erase(it);
        continue;
      }
      it->second.created = false;
      auto d = ts.delta.find(it->first);
      if (d != ts.delta.end()) it->second.use += d->second;  // a base chain's use count is its rule count
      ++it;
    }
    ts.existed = ts.exists();
    ts.created = false;
    ts.delta.clear();
  }
  return true;
}

}  // namespace connlimit::core::nft
