// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/legacy/iptc_table.h"

#include <libiptc/libiptc.h>
// libip6tc.h, unlike libiptc.h, has no extern "C" block of its own (iptables 1.8.9).
extern "C" {
#include <libiptc/libip6tc.h>
}

#include <sys/socket.h>
#include <unistd.h>

#include <bitset>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

#include "core/apart_from_js_thread.h"
#include "core/legacy/entry_codec.h"
#include "core/legacy/iptc_error_text.h"
#include "core/legacy/table_replace.h"
#include "core/netns_guard.h"
#include "core/packed_ops.h"
#include "core/xt/same_rule.h"
#include "core/xtables_lock.h"

namespace connlimit::core::legacy {
namespace {

// libip4tc and libip6tc have the same API over different entry types; one traits struct each
// lets the table code below be written once.
#define CONNLIMIT_TC_API(NAME, P, ENTRY, FAMILY)                 \
  struct NAME {                                                  \
    using Entry = ENTRY;                                         \
    static constexpr Family kFamily = FAMILY;                    \
    static constexpr auto init = P##_init;                       \
    static constexpr auto free = P##_free;                       \
    static constexpr auto is_chain = P##_is_chain;               \
    static constexpr auto first_chain = P##_first_chain;         \
    static constexpr auto next_chain = P##_next_chain;           \
    static constexpr auto first_rule = P##_first_rule;           \
    static constexpr auto next_rule = P##_next_rule;             \
    static constexpr auto get_target = P##_get_target;           \
    static constexpr auto builtin = P##_builtin;                 \
    static constexpr auto get_policy = P##_get_policy;           \
    static constexpr auto get_references = P##_get_references;   \
    static constexpr auto insert_entry = P##_insert_entry;       \
    static constexpr auto replace_entry = P##_replace_entry;     \
    static constexpr auto append_entry = P##_append_entry;       \
    static constexpr auto delete_num_entry = P##_delete_num_entry; \
    static constexpr auto flush_entries = P##_flush_entries;     \
    static constexpr auto zero_entries = P##_zero_entries;       \
    static constexpr auto create_chain = P##_create_chain;       \
    static constexpr auto delete_chain = P##_delete_chain;       \
    static constexpr auto rename_chain = P##_rename_chain;       \
    static constexpr auto set_policy = P##_set_policy;           \
    static constexpr auto commit = P##_commit;                   \
  };
CONNLIMIT_TC_API(Ip4tc, iptc, struct ipt_entry, Family::kIpv4)
CONNLIMIT_TC_API(Ip6tc, ip6tc, struct ip6t_entry, Family::kIpv6)
#undef CONNLIMIT_TC_API

constexpr int kCommitAttempts = 5;

// A commit's ops as src/op-pack.ts wrote them, read afresh by each attempt.
struct PackedBatch {
  const uint8_t* bytes;
  size_t size;
};
// About what an append of a common-shape rule packs to (40-60 bytes): the results of a rule
// batch then rarely grow while they are collected.
constexpr size_t kPackedRuleOpBytes = 40;

template <typename Api>
using Handle = std::unique_ptr<struct xtc_handle, void (*)(struct xtc_handle*)>;

// libiptc reports through errno; the text is built from the op and errno here, never asked of
// libiptc's strerror, whose answer depends on the last libiptc call in any thread.
KernelError LibError(const char* op, const std::string& what = "", ErrorKind kind = ErrorKind::kNone) {
  int err = errno;
  std::string text = IptcErrorText(op, err);
  return KernelError{op, err, what.empty() ? text : what + ": " + text, -1, kind};
}

// In a fresh namespace the kernel creates a table on its first read (xt_find_table_lock runs
// the template's table_init); two threads doing that at once make one fail with EEXIST while
// the other's table is in place (seen with eight handles opening at once, test 80). Asking
// again finds the table.
constexpr int kFirstReadAttempts = 3;

template <typename Api>
Result<Handle<Api>> Open(const TableTarget& t) {
  for (int attempt = 1;; attempt++) {
    struct xtc_handle* h = Api::init(t.table.c_str());
    if (h) return Handle<Api>(h, Api::free);
    if (errno != EEXIST || attempt == kFirstReadAttempts) return LibError("iptc_init", t.table, ErrorKind::kTableInit);
  }
}

template <typename Api>
Result<RuleSpec> DecodeRule(const typename Api::Entry* e, struct xtc_handle* h) {
  const char* label = Api::get_target(e, h);
  return DecodeEntry(Api::kFamily, reinterpret_cast<const uint8_t*>(e), e->next_offset, std::string(label ? label : ""),
                     [h](const std::string& name) { return Api::is_chain(name.c_str(), h) != 0; });
}

template <typename Api>
Result<int> Find(struct xtc_handle* h, const std::string& chain, const RuleSpec& rule) {
  int index = 0;
  for (auto* e = Api::first_rule(chain.c_str(), h); e; e = Api::next_rule(e, h), index++) {
    auto decoded = DecodeRule<Api>(e, h);
    if (!decoded.ok()) return decoded.error();
    if (xt::SameRule(Api::kFamily, decoded.value(), rule)) return index;
  }
  return -1;
}

template <typename Api>
Result<Unit> RequireChain(struct xtc_handle* h, const std::string& chain) {
  if (!Api::is_chain(chain.c_str(), h)) return KernelError{"chain", ENOENT, chain, -1, ErrorKind::kChainNotFound};
  return Unit{};
}

// A rule's entry, checked against the snapshot: its chain and its jump target must exist
// (libiptc would take an unknown name for an extension target and the kernel would then
// refuse the whole commit with a misleading ENOENT). Valid until the encoder's next rule.
template <typename Api>
Result<const typename Api::Entry*> PrepareRule(struct xtc_handle* h, const Op& op, EntryEncoder& encoder) {
  auto chain = RequireChain<Api>(h, op.chain);
  if (!chain.ok()) return chain.error();
  const Target& t = op.rule.target;
  if (t.kind == Target::Kind::kJump || t.kind == Target::Kind::kGoto) {
    auto jump = RequireChain<Api>(h, t.name);
    if (!jump.ok()) return jump.error();
  }
  auto bytes = encoder.Encode(op.rule);
  if (!bytes.ok()) return bytes.error();
  return reinterpret_cast<const typename Api::Entry*>(bytes.value()->data());
}

// A rule-number failure: libiptc says E2BIG when the position is past the chain's end.
KernelError PositionError(const char* op, const std::string& chain) {
  if (errno == E2BIG || errno == ENOENT) return KernelError{"rule", E2BIG, chain, -1, ErrorKind::kPositionNotFound};
  return LibError(op, chain);
}

template <typename Api>
Result<OpResult> Apply(struct xtc_handle* h, const Op& op, EntryEncoder& encoder) {
  using K = Op::Kind;
  const char* chain = op.chain.c_str();
  switch (op.kind) {
    case K::kAppend:
    case K::kInsert:
    case K::kReplace:
    case K::kEnsure: {
      auto entry = PrepareRule<Api>(h, op, encoder);
      if (!entry.ok()) return entry.error();
      if (op.kind == K::kEnsure) {
        auto found = Find<Api>(h, op.chain, op.rule);
        if (!found.ok()) return found.error();
        if (found.value() >= 0) return OpResult{false, found.value()};
      }
      if (op.kind == K::kInsert) {
        if (!Api::insert_entry(chain, entry.value(), op.index, h)) return PositionError("iptc_insert_entry", op.chain);
      } else if (op.kind == K::kReplace) {
        if (!Api::replace_entry(chain, entry.value(), op.index, h)) return PositionError("iptc_replace_entry", op.chain);
      } else if (!Api::append_entry(chain, entry.value(), h)) {
        return LibError("iptc_append_entry", op.chain);
      }
      return OpResult{true, op.kind == K::kAppend || op.kind == K::kEnsure ? -1 : static_cast<int>(op.index)};
    }
    case K::kDelete: {
      auto ok = RequireChain<Api>(h, op.chain);
      if (!ok.ok()) return ok.error();
      auto found = Find<Api>(h, op.chain, op.rule);
      if (!found.ok()) return found.error();
      if (found.value() < 0) return KernelError{"rule", ENOENT, op.chain, -1, ErrorKind::kRuleNotFound};
      if (!Api::delete_num_entry(chain, found.value(), h)) return LibError("iptc_delete_num_entry", op.chain);
      return OpResult{true, found.value()};
    }
    case K::kDeleteAt: {
      auto ok = RequireChain<Api>(h, op.chain);
      if (!ok.ok()) return ok.error();
      if (!Api::delete_num_entry(chain, op.index, h)) return PositionError("iptc_delete_num_entry", op.chain);
      return OpResult{true, static_cast<int>(op.index)};
    }
    case K::kFlush:
    case K::kZero: {
      auto each = [&](const char* c) {
        return op.kind == K::kFlush ? Api::flush_entries(c, h) : Api::zero_entries(c, h);
      };
      const char* what = op.kind == K::kFlush ? "iptc_flush_entries" : "iptc_zero_entries";
      if (!op.chain.empty()) {
        auto ok = RequireChain<Api>(h, op.chain);
        if (!ok.ok()) return ok.error();
        if (!each(chain)) return LibError(what, op.chain);
        return OpResult{};
      }
      std::vector<std::string> chains;
      for (const char* c = Api::first_chain(h); c; c = Api::next_chain(h)) chains.emplace_back(c);
      for (const auto& c : chains)
        if (!each(c.c_str())) return LibError(what, c);
      return OpResult{};
    }
    case K::kCreateChain:
      if (!Api::create_chain(chain, h)) return LibError("iptc_create_chain", op.chain);
      return OpResult{};
    case K::kDeleteChain: {
      auto ok = RequireChain<Api>(h, op.chain);
      if (!ok.ok()) return ok.error();
      if (!Api::delete_chain(chain, h)) return LibError("iptc_delete_chain", op.chain);
      return OpResult{};
    }
    case K::kRenameChain: {
      auto ok = RequireChain<Api>(h, op.chain);
      if (!ok.ok()) return ok.error();
      if (!Api::rename_chain(chain, op.to.c_str(), h)) return LibError("iptc_rename_chain", op.chain);
      return OpResult{};
    }
    case K::kSetPolicy: {
      auto ok = RequireChain<Api>(h, op.chain);
      if (!ok.ok()) return ok.error();
      if (!Api::set_policy(chain, op.to.c_str(), nullptr, h)) return LibError("iptc_set_policy", op.chain);
      return OpResult{};
    }
    case K::kDeleteUserChains:
      // Only ever second, after a flush of every chain: such a batch is written whole by
      // table_replace.cc, not through libiptc.
      return KernelError{"packed ops", EINVAL, "deleteUserChains after anything but a flush of every chain", -1,
                         ErrorKind::kMalformed};
    case K::kDeclareChain:
      if (Api::is_chain(chain, h)) {
        if (!Api::flush_entries(chain, h)) return LibError("iptc_flush_entries", op.chain);
      } else if (!Api::create_chain(chain, h)) {
        return LibError("iptc_create_chain", op.chain);
      }
      return OpResult{};
  }
  return KernelError{"op", EINVAL, "unknown op kind"};
}

// The chains a batch changed, so a failed commit can be checked against the table after it.
struct Touched {
  std::vector<std::string> chains;
  bool every_chain = false;  // a flush of the whole table
  bool counters = false;     // a zero: counters only, which the check below cannot see
  void Add(const Op& op) {
    using K = Op::Kind;
    if (op.kind == K::kZero) counters = true;
    if (op.chain.empty()) every_chain = true;
    chains.push_back(op.chain);
    if (op.kind == K::kRenameChain) chains.push_back(op.to);
  }
};

// Whether `chain` reads the same in both handles: present in both or neither, the same policy,
// and the same rules in order (compared as rules, as a delete by spec compares them).
template <typename Api>
bool SameChain(struct xtc_handle* a, struct xtc_handle* b, const char* chain) {
  bool in_a = Api::is_chain(chain, a) != 0;
  if (in_a != (Api::is_chain(chain, b) != 0)) return false;
  if (!in_a) return true;
  if (Api::builtin(chain, a)) {
    struct xt_counters ca {}, cb {};
    const char* pa = Api::get_policy(chain, &ca, a);
    const char* pb = Api::get_policy(chain, &cb, b);
    if (!pa || !pb || std::strcmp(pa, pb) != 0) return false;
  }
  auto* ea = Api::first_rule(chain, a);
  auto* eb = Api::first_rule(chain, b);
  for (; ea && eb; ea = Api::next_rule(ea, a), eb = Api::next_rule(eb, b)) {
    auto ra = DecodeRule<Api>(ea, a);
    auto rb = DecodeRule<Api>(eb, b);
    if (!ra.ok() || !rb.ok() || !xt::SameRule(Api::kFamily, ra.value(), rb.value())) return false;
  }
  return !ea && !eb;
}

// iptc_commit is two calls: the table replace, then adding the old rules' counters back to the
// new table. The second fails (EINVAL) when a writer that ignores the xtables lock replaced the
// table in between: our table went in, yet the commit says it failed. Telling that apart from
// a replace the kernel refused matters: a group then commits its calls again one by one, and a
// table that already holds them would get every rule twice (seen in test 73). So after a
// failure other than a stale snapshot, the table is read again: if every chain the batch
// changed now reads as the batch left it in `h`, the ops are in the kernel and the commit
// counts as done (only the rules' counters were not carried over). A batch that zeroes
// counters cannot be told apart by its rules and stays failed.
template <typename Api>
bool Landed(const TableTarget& t, struct xtc_handle* h, const Touched& touched) {
  if (touched.counters) return false;
  auto now = Open<Api>(t);
  if (!now.ok()) return false;
  struct xtc_handle* k = now.value().get();
  std::vector<std::string> chains = touched.chains;
  if (touched.every_chain) {
    for (const char* c = Api::first_chain(h); c; c = Api::next_chain(h)) chains.emplace_back(c);
    for (const char* c = Api::first_chain(k); c; c = Api::next_chain(k)) chains.emplace_back(c);
  }
  for (const auto& c : chains)
    if (!c.empty() && !SameChain<Api>(h, k, c.c_str())) return false;
  return true;
}

// The table replace holds its CPU without preemption for as long as the kernel checks the whole
// new table: ~1.3 µs a connlimit rule on this VM when quiet (~13 ms for 10,000; ~3.4 µs at load
// 6-10, strace -T of the setsockopt at real-time priority), so ~2 ms, the event loop's p99
// target, at this many. From there on it runs apart from the JavaScript thread
// (apart_from_js_thread.h). Below, the stall it would spare is under that target and the move
// costs every commit its /proc read and two affinity calls (~8 and ~15 µs, fastest of 2000)
// and, on a busy machine, the replace's wait for the other CPU: appends onto 1,000 rules took
// 1.27x as long moved (paired, load 5); with the move from 1,000 the legacy row 1 at 1k read
// 1.51x the libiptc floor, from 1,500 1.00x (medians of 10 alternating processes, load 7.5; at
// real-time priority 1.14x both).
constexpr int kLongReplaceRules = 1500;

// Whether the table in `h` holds at least `n` rules; walks at most `n` of them (~2 µs for 1,000).
template <typename Api>
bool HoldsRules(struct xtc_handle* h, int n) {
  int seen = 0;
  for (const char* c = Api::first_chain(h); c; c = Api::next_chain(h))
    for (auto* e = Api::first_rule(c, h); e; e = Api::next_rule(e, h))
      if (++seen >= n) return true;
  return false;
}

template <typename Api>
bool CommitApart(struct xtc_handle* h) {
  std::optional<ApartFromJsThread> apart;
  if (HoldsRules<Api>(h, kLongReplaceRules)) apart.emplace();
  return Api::commit(h);
}

// The ops are read from the packed batch one at a time as they are applied (packed_ops.h): a
// bulk batch is never held decoded, and each rule is encoded into one reused buffer.
template <typename Api>
Result<std::vector<OpResult>> CommitAttempt(const TableTarget& t, const PackedBatch& batch, bool* stale) {
  *stale = false;
  auto handle = Open<Api>(t);
  if (!handle.ok()) return handle.error();
  struct xtc_handle* h = handle.value().get();
  std::vector<OpResult> results;
  results.reserve(batch.size / kPackedRuleOpBytes);
  bool changed = false;
  PackedOpReader in(batch.bytes, batch.size, Api::kFamily);
  EntryEncoder encoder(Api::kFamily);
  Touched touched;
  Op op;
  for (int i = 0; in.Next(op); i++) {
    auto r = Apply<Api>(h, op, encoder);
    if (!r.ok()) {
      KernelError e = r.error();
      e.op_index = i;
      return e;
    }
    changed = changed || r.value().changed;
    if (r.value().changed) touched.Add(op);
    results.push_back(r.value());
  }
  if (in.error()) return *in.error();
  // Nothing changed (an ensure that found its rule): no commit, so no connlimit count in the
  // table is reset (NETFILTER-NOTES.md §2.7).
  if (changed && !CommitApart<Api>(h)) {
    *stale = errno == EAGAIN;
    KernelError failed = LibError("iptc_commit", t.table, ErrorKind::kLegacyCommit);
    if (!*stale && Landed<Api>(t, h, touched)) return results;
    return failed;
  }
  return results;
}

// `attempt(&stale)` under the xtables lock, in the table's namespace, again while it fails
// stale: the kernel refuses a commit from a stale snapshot with EAGAIN only when the entry count
// changed (NOTES §2.5); under the lock that means a writer that ignores it. Re-read, redo.
template <typename T, typename Attempt>
Result<T> LockedAttempts(const TableTarget& t, Attempt attempt) {
  auto lock = XtablesLock::Acquire(t.lock_path, t.lock_timeout_ms);
  if (!lock.ok()) return lock.error();
  auto ns = NetnsGuard::Enter(t.netns_fd);
  if (!ns.ok()) return ns.error();
  for (int tries = 1;; tries++) {
    bool stale = false;
    auto r = attempt(&stale);
    if (r.ok() || !stale || tries == kCommitAttempts) return r;
  }
}

template <typename Api>
Result<std::vector<OpResult>> Commit(const TableTarget& t, const PackedBatch& batch) {
  // A batch that empties the table first needs nothing of the old one but its entry count:
  // it is written whole, without libiptc's read and compile of the table (table_replace.h).
  if (EmptiesTable(batch.bytes, batch.size, Api::kFamily)) {
    // About a rule per 64 packed bytes (a connlimit rule's op is 63): room for the entries of
    // all of them, ~8 bytes of entry a packed byte.
    StagedImage staged(t.family, t.table, batch.size / 64);
    staged.Apply(batch.bytes, batch.size);
    return CommitStaged(t, staged);
  }
  return LockedAttempts<std::vector<OpResult>>(t, [&](bool* stale) { return CommitAttempt<Api>(t, batch, stale); });
}

template <typename Api>
Result<std::vector<ListedChain>> List(const TableTarget& t, Listing listing) {
  auto ns = NetnsGuard::Enter(t.netns_fd);
  if (!ns.ok()) return ns.error();
  auto handle = Open<Api>(t);
  if (!handle.ok()) return handle.error();
  struct xtc_handle* h = handle.value().get();
  std::vector<ListedChain> chains;
  for (const char* c = Api::first_chain(h); c; c = Api::next_chain(h)) {
    ListedChain chain;
    chain.name = c;
    chain.builtin = Api::builtin(c, h) != 0;
    if (chain.builtin) {
      struct xt_counters counters {};
      const char* policy = Api::get_policy(c, &counters, h);
      if (policy) chain.policy = policy;
      chain.packets = counters.pcnt;
      chain.bytes = counters.bcnt;
    } else {
      Api::get_references(&chain.references, c, h);
    }
    if (listing == Listing::kRules) {
      for (auto* e = Api::first_rule(c, h); e; e = Api::next_rule(e, h)) {
        auto rule = DecodeRule<Api>(e, h);
        if (!rule.ok()) return rule.error();
        chain.rules.push_back(ListedRule{rule.take(), e->counters.pcnt, e->counters.bcnt});
      }
    }
    chains.push_back(std::move(chain));
  }
  return chains;
}

template <typename Api>
Result<int> FindIn(const TableTarget& t, const std::string& chain, const RuleSpec& rule) {
  auto ns = NetnsGuard::Enter(t.netns_fd);
  if (!ns.ok()) return ns.error();
  auto handle = Open<Api>(t);
  if (!handle.ok()) return handle.error();
  auto ok = RequireChain<Api>(handle.value().get(), chain);
  if (!ok.ok()) return ok.error();
  return Find<Api>(handle.value().get(), chain, rule);
}

// An empty table has one entry per built-in chain (its policy) and a final one; a rule adds one
// entry, a user chain two (its head and its return). IPT_SO_GET_INFO gives the count without
// the entries (the first half of what iptc_init asks for).
template <typename Info>
Result<bool> AnyBeyondBuiltins(const TableTarget& t, int domain, int level, int option) {
  auto ns = NetnsGuard::Enter(t.netns_fd);
  if (!ns.ok()) return ns.error();
  int fd = socket(domain, SOCK_RAW, IPPROTO_RAW);
  if (fd < 0) return KernelError{"iptc_init", errno, t.table, -1, ErrorKind::kTableInit};
  Info info{};
  std::strncpy(info.name, t.table.c_str(), sizeof info.name - 1);
  socklen_t len = sizeof info;
  int r = -1, err = 0;
  for (int attempt = 1; attempt <= kFirstReadAttempts; attempt++) {  // EEXIST: see Open()
    r = getsockopt(fd, level, option, &info, &len);
    err = errno;
    if (r == 0 || err != EEXIST) break;
  }
  close(fd);
  if (r < 0) return KernelError{"iptc_init", err, t.table, -1, ErrorKind::kTableInit};
  return info.num_entries > std::bitset<32>(info.valid_hooks).count() + 1;
}

template <typename Api>
Result<unsigned> Count(const TableTarget& t) {
  auto ns = NetnsGuard::Enter(t.netns_fd);
  if (!ns.ok()) return ns.error();
  auto handle = Open<Api>(t);
  if (!handle.ok()) return handle.error();
  struct xtc_handle* h = handle.value().get();
  unsigned n = 0;
  for (const char* c = Api::first_chain(h); c; c = Api::next_chain(h)) {
    if (!Api::builtin(c, h)) n++;
    for (auto* e = Api::first_rule(c, h); e; e = Api::next_rule(e, h)) n++;
  }
  return n;
}

template <typename Api>
Result<Unit> Probe(const TableTarget& t) {
  auto ns = NetnsGuard::Enter(t.netns_fd);
  if (!ns.ok()) return ns.error();
  auto handle = Open<Api>(t);
  if (!handle.ok()) return handle.error();
  return Unit{};
}

}  // namespace

Result<Unit> ProbeTable(const TableTarget& t) {
  return t.family == Family::kIpv4 ? Probe<Ip4tc>(t) : Probe<Ip6tc>(t);
}

Result<std::vector<OpResult>> CommitStaged(const TableTarget& t, StagedImage& staged) {
  auto results = staged.Finish();
  if (results.ok()) {
    // A stale attempt is redone with the same image: only the entry count (and kept policies) are read again.
    auto written = LockedAttempts<Unit>(t, [&](bool* stale) { return WriteImage(t, staged.image(), kLongReplaceRules, stale); });
    if (!written.ok()) results = written.error();
  }
  staged.image().Release();
  return results;
}

Result<std::vector<OpResult>> CommitPackedOps(const TableTarget& t, const uint8_t* bytes, size_t size) {
  const PackedBatch batch{bytes, size};
  return t.family == Family::kIpv4 ? Commit<Ip4tc>(t, batch) : Commit<Ip6tc>(t, batch);
}

Result<std::vector<ListedChain>> ListTable(const TableTarget& t, Listing listing) {
  return t.family == Family::kIpv4 ? List<Ip4tc>(t, listing) : List<Ip6tc>(t, listing);
}

Result<bool> HasRulesOrUserChains(const TableTarget& t) {
  return t.family == Family::kIpv4 ? AnyBeyondBuiltins<struct ipt_getinfo>(t, AF_INET, IPPROTO_IP, IPT_SO_GET_INFO)
                                   : AnyBeyondBuiltins<struct ip6t_getinfo>(t, AF_INET6, IPPROTO_IPV6, IP6T_SO_GET_INFO);
}

Result<unsigned> CountRulesAndUserChains(const TableTarget& t) {
  return t.family == Family::kIpv4 ? Count<Ip4tc>(t) : Count<Ip6tc>(t);
}

Result<int> FindRule(const TableTarget& t, const std::string& chain, const RuleSpec& rule) {
  return t.family == Family::kIpv4 ? FindIn<Ip4tc>(t, chain, rule) : FindIn<Ip6tc>(t, chain, rule);
}

}  // namespace connlimit::core::legacy
