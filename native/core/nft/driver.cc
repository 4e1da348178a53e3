// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/driver.h"

#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <map>
#include <random>
#include <thread>
#include <utility>

#include "core/netns_guard.h"
#include "core/nft/requests.h"
#include "core/nft/socket_reads.h"

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

// Full jitter: uniform in [0, min(cap, 1 ms << attempt)), so writers that collided spread out.
void BackoffBeforeRetry(int attempt) {
  thread_local std::minstd_rand rng(std::random_device{}());
  int ceiling = std::min(kBackoffCapUs, 1000 << std::min(attempt, 10));
  std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, ceiling - 1)(rng)));
}

// The kernel, one request at a time; the chains of a table are read once per attempt.
class KernelReader : public PlanReader {
 public:
  KernelReader(const Form& form, Socket& s) : form_(form), s_(s) {}

  Result<uint32_t> Generation() override { return s_.GetGen(); }

  Result<std::vector<int>> Tables() override {
    auto msgs = s_.Dump([&](uint32_t seq) { return GetTablesRequest(form_.family(), seq); }, "nft list tables");
    if (!msgs.ok()) return msgs.error();
    std::vector<int> out;
    for (const auto& m : msgs.value()) {
      auto name = DecodeTableName(m.data(), m.size());
      if (!name.ok()) return name.error();
      int index = form_.IndexOf(name.value());
      if (index >= 0) out.push_back(index);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  Result<std::optional<DecodedChain>> Chain(int index, const std::string& name) override {
    return GetChain(s_, form_.family(), form_.TableName(index), name);
  }

  Result<std::vector<DecodedChain>> Chains(int index) override {
    std::string table = form_.TableName(index);
    auto msgs = s_.Dump([&](uint32_t seq) { return GetChainRequest(form_.family(), table, "", seq); }, "nft list chains");
    if (!msgs.ok() && msgs.error().errnum != ENOENT) return msgs.error();
    std::vector<DecodedChain> out;
    if (!msgs.ok()) return out;
    for (const auto& m : msgs.value()) {
      auto d = DecodeChainMessage(m.data(), m.size());
      if (!d.ok()) return d.error();
      if (d.value().table == table) out.push_back(d.take());
    }
    return out;
  }

  Result<bool> HoldsOtherSets(int index) override {
    auto names = SetNames(s_, form_.family(), form_.TableName(index));
    if (!names.ok()) return names.error();
    for (const auto& n : names.value())
      if (!form_.RuleSetName(n)) return true;
    return false;
  }

  Result<bool> HasSet(int index, const std::string& set) override { return SetExists(s_, form_.family(), form_.TableName(index), set); }

  Result<std::vector<KnownRule>> Rules(int index, const std::string& chain) override { return Read(index, chain, false); }

  // A multiport list's anonymous set is one GETSETELEM round trip: read only for the rules
  // compared with one whose other parts they equal.
  Result<std::vector<KnownRule>> RulesToCompare(int index, const std::string& chain) override { return Read(index, chain, true); }

  // A multiport list's anonymous set is read once per attempt, whichever rules name it.
  SetElementReader Sets() override {
    return [this](const std::string& table, const std::string& set) -> Result<std::vector<Message>> {
      auto key = table + '\0' + set;
      if (auto it = set_elements_.find(key); it != set_elements_.end()) return it->second;
      auto msgs = SetElementMessages(s_, form_.family(), table, set);
      if (!msgs.ok()) return msgs.error();
      return set_elements_[key] = msgs.take();
    };
  }

  SetLacks Lacks() override {
    return [this](const std::vector<SetProbe>& probes) { return SetsLacking(s_, form_.family(), probes); };
  }

 private:
  Result<std::vector<KnownRule>> Read(int index, const std::string& chain, bool defer_sets) {
    std::string table = form_.TableName(index);
    Family f = form_.family();
    auto msgs = s_.Dump([&](uint32_t seq) { return GetRulesRequest(f, table, chain, NFT_MSG_GETRULE, seq); }, "nft list rules");
    std::vector<KnownRule> out;
    if (!msgs.ok()) {
      if (msgs.error().errnum == ENOENT) return out;
      return msgs.error();
    }
    SetElementReader read_set = defer_sets ? SetElementReader{} : Sets();
    for (const auto& m : msgs.value()) {
      auto r = defer_sets ? form_.DecodeRuleDeferred(m.data(), m.size()) : form_.DecodeRule(m.data(), m.size(), read_set);
      if (!r.ok()) return r.error();
      if (r.value().table == table) out.push_back(r.take());
    }
    return out;
  }

  const Form& form_;
  Socket& s_;
  std::map<std::string, std::vector<Message>> set_elements_;  // by table NUL set
};

// One commit attempt: plan from the cache or a fresh read, send, keep what it learned.
class Attempt {
 public:
  Attempt(const Form& form, Link& link, Cache& cache) : form_(form), link_(link), cache_(cache), reader_(link.NewReader(form)) {}

  // Whether the plan started from the cache without reading the generation id: a stale one
  // then only means another writer committed since our last call, not contention.
  bool from_cache() const { return from_cache_; }
  PlanReader& reader() { return *reader_; }

  Result<std::vector<OpResult>> Run(const std::vector<Op>& ops, bool* stale, bool send_stale_genid) {
    *stale = false;
    uint32_t gen = 0;
    bool read = !cache_.valid || ops.size() > kUncheckedCacheOps;
    if (read) {
      auto now = reader_->Generation();
      if (!now.ok()) return now.error();
      gen = now.value();
    }
    Knowledge known;
    if (cache_.valid && (!read || gen == cache_.genid)) {
      // What we knew at our last commit. Unread, the batch carries that generation id, so the
      // kernel refuses it if anybody committed since, and we retry from a fresh read.
      gen = cache_.genid;
      known = std::move(cache_.known);
      from_cache_ = !read;
    }
    cache_.valid = false;
    cache_.known = Knowledge{};
    auto planned = PlanOps(form_, *reader_, known, ops);
    if (!planned.ok()) {
      // A refusal made from the cache (no such rule, no such position) may only mean the
      // cache is out of date: then it is retried from a fresh read.
      auto checked = CheckCache(gen, stale);
      if (!checked.ok()) return checked.error();
      return planned.error();
    }
    Batch& batch = planned.value();
    // Test hook: any id but the current one is stale (one ahead, since 0 would disable the check).
    uint32_t committed = 0;
    auto sent = Send(batch, send_stale_genid ? gen + 1 : gen, stale, &committed);
    if (!sent.ok()) return OwnerRefusal(sent.error());
    if (!sent.value()) {
      // No batch checked the generation id for us.
      auto checked = CheckCache(gen, stale);
      if (!checked.ok()) return checked.error();
      committed = gen;
    }
    if (committed && Settle(form_, known)) {
      cache_.known = std::move(known);
      cache_.genid = committed;
      cache_.valid = true;
    }
    for (const auto& chain : batch.zero) {
      auto r = link_.ResetCounters(form_.family(), form_.TableName(0), chain);
      if (!r.ok()) return r.error();
    }
    return std::move(batch.results);
  }

  // Sends the batch under `genid`; false when every planned message was undone within it.
  // `committed` gets the generation id the commit produced (0 when none was echoed).
  Result<bool> Send(Batch& batch, uint32_t genid, bool* stale, uint32_t* committed) {
    // NLM_F_ECHO: the kernel sends each committed rule back with its handle (and the name it
    // gave the rule's set), so the next call can delete or insert relative to it without
    // dumping the chain. Not for large batches:
    // their echoes would overflow the receive buffer, and a lost error reply with them (the
    // cache then simply stays cold).
    if (batch.new_rules.size() <= kMaxEchoedRules)
      for (auto& nr : batch.new_rules) nr->where.nlm_flags |= NLM_F_ECHO;
    // Sequence numbers: BATCH_BEGIN, then one per planned message (an empty one, undone within
    // the batch or standing in a table the batch deletes, is not sent), then BATCH_END.
    uint32_t first_seq = link_.NextSeq();
    // Under the generation id the plan was made at; each message written in as it is built.
    BatchWriter writer(first_seq, genid);
    std::vector<uint32_t> seq_of(batch.msgs.size(), 0);  // 0: not sent (a refusal names the message by its seq)
    std::optional<size_t> head;
    bool head_flushes = false;
    for (size_t i = 0; i < batch.msgs.size(); i++) {
      uint32_t seq = link_.NextSeq();
      if (batch.emptied.count(batch.msgs[i].table)) continue;  // its DELTABLE stands for it
      auto m = batch.msgs[i].build(seq);
      if (!m.ok()) {
        KernelError e = m.error();
        e.op_index = batch.msgs[i].op_index;
        return e;
      }
      if (m.value().empty()) continue;
      seq_of[i] = seq;
      size_t at = writer.Add(m.value(), batch.msgs.size() - i);
      if (!head) {
        head = at;
        head_flushes = batch.msgs[i].flush;
      }
    }
    if (!head) return false;
    // NLM_F_ECHO on the first message after BATCH_BEGIN also asks for the NEWGEN of our commit:
    // nf_tables_gen_notify reports to the sender when the message at the head of the batch
    // skb (BATCH_BEGIN already pulled) has it. Its id is the one our cache is valid at, given
    // under the commit mutex, so no later commit can be taken for ours (NOTES §4.2). Not on
    // a flush: it would echo every rule deleted, overflowing the receive buffer; such a
    // batch leaves the cache cold.
    if (!head_flushes) reinterpret_cast<struct nlmsghdr*>(writer.At(*head))->nlmsg_flags |= NLM_F_ECHO;
    Message framed = writer.End(link_.NextSeq());
    std::vector<EchoedRule> echoed;
    auto sent = link_.SendBatch(framed, [&](uint32_t seq, int err, const std::string& text) {
      auto it = std::find(seq_of.begin(), seq_of.end(), seq);
      const PlannedMessage* m = seq != 0 && it != seq_of.end() ? &batch.msgs[it - seq_of.begin()] : nullptr;
      if (seq == first_seq && err == ERESTART) *stale = true;
      std::string detail = m ? m->what : form_.TableName(0);
      if (!text.empty()) detail += ": " + text;
      if (err == EBUSY && m && m->busy_as) err = m->busy_as;
      return KernelError{"nft commit", err, detail, m ? m->op_index : -1};
    }, &echoed, committed);
    if (!sent.ok()) return sent.error();
    // Echoes come in commit order, which is batch order; a short count (a full receive
    // buffer) leaves handles unknown and the cache unused.
    if (echoed.size() == batch.new_rules.size())
      for (size_t i = 0; i < echoed.size(); i++) {
        batch.new_rules[i]->echoed_handle = echoed[i].handle;
        batch.new_rules[i]->echoed_set = std::move(echoed[i].set_name);
      }
    return true;
  }

 private:
  // When the plan used the cache and no batch will check its generation id, asks for the
  // current one: a commit by anybody since makes this attempt stale (an ERESTART, retried).
  Result<Unit> CheckCache(uint32_t gen, bool* stale) {
    if (!from_cache_) return Unit{};
    auto now = reader_->Generation();
    if (!now.ok()) return now.error();
    if (now.value() == gen) return Unit{};
    *stale = true;
    return KernelError{"nft commit", ERESTART, form_.TableName(0), -1, ErrorKind::kNftCommit};
  }

  // EPERM on a message of the batch (a missing capability refuses the whole batch, on
  // BATCH_BEGIN, with op_index -1) means the table has the 'owner' flag (NFT_TABLE_F_OWNER):
  // only the netlink socket that created it may change it (nf_tables_table_lookup), whoever
  // we are. Said as such, since "run as root" would not help.
  KernelError OwnerRefusal(KernelError e) {
    if (e.errnum != EPERM || e.op_index < 0) return e;
    std::string table = form_.TableName(0);
    auto owner = link_.TableOwner(form_.family(), table);
    if (!owner) return e;
    return KernelError{"nft table owner", EPERM, table + ": netlink port " + std::to_string(*owner), e.op_index, ErrorKind::kTableOwned};
  }

  const Form& form_;
  Link& link_;
  Cache& cache_;
  std::unique_ptr<PlanReader> reader_;
  bool from_cache_ = false;
};

// `run` redone while a concurrent writer makes it stale (at least kCommitAttempts times, and
// until the timeout has passed).
template <typename T>
Result<T> Retried(int lock_timeout_ms, int stale_attempts, int* attempts,
                  const std::function<Result<T>(bool* stale, bool* from_cache, bool send_stale)>& run) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(0, lock_timeout_ms));
  for (int attempt = 1;; attempt++) {
    bool stale = false, from_cache = false;
    auto r = run(&stale, &from_cache, attempt <= stale_attempts);
    if (attempts) *attempts = attempt;
    if (r.ok() || !stale) return r;
    if (attempt >= kCommitAttempts && std::chrono::steady_clock::now() >= deadline) return r;
    if (attempt > stale_attempts && !from_cache) BackoffBeforeRetry(attempt);
  }
}

}  // namespace

Result<std::vector<OpResult>> CommitOps(const Form& form, Link& link, Cache& cache, const std::vector<Op>& ops, int lock_timeout_ms,
                                        int stale_attempts, int* attempts) {
  return Retried<std::vector<OpResult>>(lock_timeout_ms, stale_attempts, attempts, [&](bool* stale, bool* from_cache, bool send_stale) {
    Attempt a(form, link, cache);
    auto r = a.Run(ops, stale, send_stale);
    *from_cache = a.from_cache();
    return r;
  });
}

Result<std::optional<int>> FindCached(Socket& s, const Form& form, Cache& cache, const std::string& chain, const RuleSpec& normalized) {
  auto known = cache.known.rules.find(chain);
  if (!cache.valid || known == cache.known.rules.end() || !known->second.loaded) return std::optional<int>{};
  auto& v = *known->second.loaded;
  if (!std::all_of(v.begin(), v.end(), [](const PlanEntry& e) { return e.normalized || e.given; })) return std::optional<int>{};
  auto gen = s.GetGen();
  if (!gen.ok()) return gen.error();
  if (gen.value() != cache.genid) return std::optional<int>{};
  // A cached rule whose anonymous sets were never read has them read here, if compared at all.
  DeferredComparer same(
      form, chain, normalized,
      [&s, &form](const std::string& table, const std::string& set) { return SetElementMessages(s, form.family(), table, set); },
      [&s, &form](const std::vector<SetProbe>& probes) { return SetsLacking(s, form.family(), probes); });
  for (size_t i = 0; i < v.size(); i++) {
    auto equal = same.SameAt(v, i);
    if (!equal.ok()) return std::optional<int>{};  // not comparable from here: read the kernel
    if (equal.value()) return std::optional<int>{static_cast<int>(i)};
  }
  return std::optional<int>{-1};
}

Result<int> DestroyTables(const Form& form, Link& link, int lock_timeout_ms) {
  return Retried<int>(lock_timeout_ms, 0, nullptr, [&](bool* stale, bool*, bool) -> Result<int> {
    Cache none;
    Attempt a(form, link, none);
    auto gen = a.reader().Generation();
    if (!gen.ok()) return gen.error();
    auto planned = PlanDestroy(form, a.reader());
    if (!planned.ok()) return planned.error();
    uint32_t committed = 0;
    auto sent = a.Send(planned.value(), gen.value(), stale, &committed);
    if (!sent.ok()) return sent.error();
    return planned.value().results[0].index;
  });
}

std::unique_ptr<PlanReader> SocketLink::NewReader(const Form& form) { return std::make_unique<KernelReader>(form, s_); }

Result<Unit> SocketLink::ResetCounters(Family family, const std::string& table, const std::string& chain) {
  auto r = s_.Dump([&](uint32_t seq) { return GetRulesRequest(family, table, chain, NFT_MSG_GETRULE_RESET, seq); }, "nft reset counters");
  if (!r.ok() && r.error().errnum != ENOENT) return r.error();
  return Unit{};
}

std::optional<uint32_t> SocketLink::TableOwner(Family family, const std::string& table) {
  auto r = s_.Request(GetTableRequest(family, table, s_.NextSeq()), false, "nft get table");
  if (!r.ok() || r.value().empty()) return std::nullopt;
  return DecodeTableOwner(r.value()[0].data(), r.value()[0].size());
}

std::shared_ptr<TableSession> NewTableSession() { return std::make_shared<TableSession>(); }

Result<Socket*> Connect(int netns_fd, TableSession& session) {
  if (session.sock && session.sock->broken()) session.sock.reset();
  if (!session.sock) {
    auto ns = NetnsGuard::Enter(netns_fd);
    if (!ns.ok()) return ns.error();
    auto s = Socket::Open();
    if (!s.ok()) return s.error();
    session.sock = s.take();
    session.port = session.sock->port();
  }
  return session.sock.get();
}

SocketCounts CountsOf(TableSession& session) {
  std::lock_guard<std::mutex> lock(session.mu);
  return session.sock ? session.sock->counts() : SocketCounts{};
}

Result<uint32_t> SessionGeneration(int netns_fd, TableSession& session) {
  std::lock_guard<std::mutex> lock(session.mu);
  auto s = Connect(netns_fd, session);
  if (!s.ok()) return s.error();
  return s.value()->GetGen();
}

Result<Unit> ProbeTable(const TableTarget& t, TableSession& session) {
  std::lock_guard<std::mutex> lock(session.mu);
  auto s = Connect(t.netns_fd, session);
  if (!s.ok()) return s.error();
  auto gen = s.value()->GetGen();
  if (!gen.ok()) return gen.error();
  return Unit{};
}

}  // namespace connlimit::core::nft
