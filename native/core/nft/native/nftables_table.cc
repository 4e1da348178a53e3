// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/native/nftables_table.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "core/nft/chain_codec.h"
#include "core/nft/driver.h"
#include "core/nft/native/native_form.h"
#include "core/nft/native/nftables_codec.h"
#include "core/nft/nl_socket.h"
#include "core/nft/requests.h"
#include "core/nft/socket_reads.h"

namespace connlimit::core::nft {
namespace {

// The base chains of our tables: the filter table's hooks.
const char* const kChains[] = {"INPUT", "FORWARD", "OUTPUT"};

}  // namespace

Result<std::vector<OpResult>> CommitNftablesOps(const TableTarget& t, const std::vector<Op>& ops, TableSession& session) {
  std::lock_guard<std::mutex> lock(session.mu);
  auto s = Connect(t.netns_fd, session);
  if (!s.ok()) return s.error();
  NativeForm form(t.family, t.table);
  SocketLink link(*s.value());
  return CommitOps(form, link, session.cache, ops, t.lock_timeout_ms);
}

Result<int> DestroyNftablesTables(const TableTarget& t, TableSession& session) {
  std::lock_guard<std::mutex> lock(session.mu);
  auto s = Connect(t.netns_fd, session);
  if (!s.ok()) return s.error();
  session.cache = Cache{};  // every table goes: nothing known holds
  NativeForm form(t.family, t.table);
  SocketLink link(*s.value());
  return DestroyTables(form, link, t.lock_timeout_ms);
}

Result<std::vector<ListedChain>> ListNftablesTable(const TableTarget& t, TableSession& session) {
  std::lock_guard<std::mutex> lock(session.mu);
  auto sock = Connect(t.netns_fd, session);
  if (!sock.ok()) return sock.error();
  NativeForm form(t.family, t.table);
  SocketLink link(*sock.value());
  for (int attempt = 1;; attempt++) {
    auto reader = link.NewReader(form);
    auto gen = reader->Generation();
    if (!gen.ok()) return gen.error();
    auto tables = reader->Tables();
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
      auto chains = reader->Chains(index);
      if (!chains.ok()) return chains.error();
      auto rules = reader->Rules(index, "");
      if (!rules.ok()) return rules.error();
      for (const auto& d : chains.value()) {
        auto builtin = std::find_if(out.begin(), out.end(), [&](const ListedChain& c) { return c.name == d.name; });
        ListedChain* c = builtin != out.end() ? &*builtin : &others[d.name];
        if (builtin == out.end()) c->name = d.name;
        c->packets += d.packets;
        c->bytes += d.bytes;
        if (builtin != out.end() && d.policy != NF_ACCEPT) c->policy = "DROP";
        for (auto& r : rules.value())
          if (r.chain == c->name) c->rules.push_back(ListedRule{r.rule, r.packets, r.bytes});
      }
    }
    // The tables and their rules come from several dumps: if the ruleset changed meanwhile, read again.
    auto gen2 = reader->Generation();
    if (!gen2.ok()) return gen2.error();
    if (gen2.value() != gen.value() && attempt < kDumpAttempts) continue;
    for (auto& [name, c] : others) out.push_back(std::move(c));
    return out;
  }
}

Result<int> FindNftablesRule(const TableTarget& t, TableSession& session, const std::string& chain, const RuleSpec& rule) {
  std::lock_guard<std::mutex> lock(session.mu);
  auto sock = Connect(t.netns_fd, session);
  if (!sock.ok()) return sock.error();
  NativeForm form(t.family, t.table);
  if (!form.Builtin(chain)) return KernelError{"chain", ENOENT, chain, -1, ErrorKind::kChainNotFound};
  auto want = form.Normalize(chain, rule);
  if (!want.ok()) return want.error();
  auto cached = FindCached(*sock.value(), form, session.cache, chain, want.value());
  if (!cached.ok()) return cached.error();
  if (cached.value()) return *cached.value();
  SocketLink link(*sock.value());
  auto reader = link.NewReader(form);
  auto tables = reader->Tables();
  if (!tables.ok()) return tables.error();
  // Each rule is decoded once, a multiport list's set read (once) only for a rule whose other
  // parts equal the one looked for and whose set a probe could not rule out (LookAhead: the
  // probes of Form::kLookAhead rules go in one send).
  auto match = form.MatchDeferred(chain, want.value());
  if (!match.ok()) return match.error();
  auto read_set = reader->Sets();
  auto lacks = reader->Lacks();
  int position = 0;
  for (int index : tables.value()) {
    std::string table = form.TableName(index);
    auto msgs = sock.value()->Dump([&](uint32_t seq) { return GetRulesRequest(t.family, table, chain, NFT_MSG_GETRULE, seq); }, "nft list rules");
    if (!msgs.ok()) {
      if (msgs.error().errnum == ENOENT) continue;
      return msgs.error();
    }
    for (size_t i = 0; i < msgs.value().size(); i++) {
      const auto& m = msgs.value()[i];
      if (i % Form::kLookAhead == 0) {
        std::vector<const Message*> next;
        for (size_t j = i; j < std::min(i + Form::kLookAhead, msgs.value().size()); j++) next.push_back(&msgs.value()[j]);
        auto looked = match.value()->LookAhead(next, lacks);
        if (!looked.ok()) return looked.error();
      }
      std::string in;
      auto equal = match.value()->Equals(m.data(), m.size(), read_set, &in);
      if (!equal.ok()) return equal.error();
      if (in != table) continue;
      if (equal.value()) return position;
      position++;
    }
  }
  return -1;
}

}  // namespace connlimit::core::nft
