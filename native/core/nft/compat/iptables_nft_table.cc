// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/compat/iptables_nft_table.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <cerrno>
#include <map>
#include <mutex>

#include "core/netns_guard.h"
#include "core/nft/chain_codec.h"
#include "core/nft/compat/compat_form.h"
#include "core/nft/compat/rule_codec.h"
#include "core/nft/nl_socket.h"
#include "core/nft/requests.h"
#include "core/nft/socket_reads.h"
#include "core/xt/same_rule.h"

namespace connlimit::core::nft {

Result<std::vector<OpResult>> CommitOps(const TableTarget& t, const std::vector<Op>& ops, TableSession& session, int stale_attempts,
                                        int* attempts) {
  std::lock_guard<std::mutex> lock(session.mu);
  auto s = Connect(t.netns_fd, session);
  if (!s.ok()) return s.error();
  CompatForm form(t.family, t.table);
  SocketLink link(*s.value());
  session.committed = 0;
  auto r = nft::CommitOps(form, link, session.cache, ops, t.lock_timeout_ms, stale_attempts, attempts);
  if (r.ok() && session.cache.valid) session.committed = session.cache.genid;
  return r;
}

Result<std::vector<ListedChain>> ListTable(const TableTarget& t, TableSession& session, Listing listing) {
  std::lock_guard<std::mutex> lock(session.mu);
  auto sock = Connect(t.netns_fd, session);
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
    std::vector<DecodedRule> rules;  // none for the chains alone
    if (listing == Listing::kRules) {
      auto dumped = DumpRules(s, t.family, t.table, "", DecodeRuleMessage);
      if (!dumped.ok()) return dumped.error();
      rules = dumped.take();
      // Chains and rules come from two dumps: if the ruleset changed between them, read again.
      auto gen2 = s.GetGen();
      if (!gen2.ok()) return gen2.error();
      if (gen2.value() != gen.value() && attempt < kDumpAttempts) continue;
    }

    auto add = [&](const std::string& name, bool builtin, const DecodedChain* d) {
      ListedChain c;
      c.name = name;
      c.builtin = builtin;
      if (builtin) c.policy = !d || d->policy == NF_ACCEPT ? "ACCEPT" : "DROP";
      if (d) {
        c.packets = d->packets;
        c.bytes = d->bytes;
      }
      for (auto& r : rules)
        if (r.chain == name) c.rules.push_back(ListedRule{r.rule, r.packets, r.bytes});
      // The kernel's use count of a chain holds its own rules and the jumps to it.
      if (d && !builtin && listing == Listing::kRules) c.references = d->use >= c.rules.size() ? d->use - static_cast<unsigned>(c.rules.size()) : 0;
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
  auto sock = Connect(t.netns_fd, session);
  if (!sock.ok()) return sock.error();
  Socket& s = *sock.value();
  CompatForm form(t.family, t.table);
  auto norm = form.Normalize(chain, rule);
  if (!norm.ok()) return norm.error();
  // The rules the session knows of this chain (each with its spec as it reads back), if nobody
  // committed since: one GETGEN, no dump.
  Cache& cache = session.cache;
  auto table = cache.known.tables.find(0);
  if (table != cache.known.tables.end() && table->second.chains.count(chain) && table->second.chains.at(chain).exists) {
    auto cached = FindCached(s, form, cache, chain, norm.value());
    if (!cached.ok()) return cached.error();
    if (cached.value()) return *cached.value();
  }
  auto c = s.Request(GetChainRequest(t.family, t.table, chain, s.NextSeq()), false, "nft get chain");
  if (!c.ok()) {
    if (c.error().errnum != ENOENT) return c.error();
    if (FindBuiltin(t.table, chain)) return -1;
    return KernelError{"chain", ENOENT, chain, -1, ErrorKind::kChainNotFound};
  }
  auto rules = DumpRules(s, t.family, t.table, chain, DecodeRuleMessage);
  if (!rules.ok()) return rules.error();
  for (size_t i = 0; i < rules.value().size(); i++)
    if (xt::SameRule(t.family, rules.value()[i].rule, norm.value())) return static_cast<int>(i);
  return -1;
}

}  // namespace connlimit::core::nft
