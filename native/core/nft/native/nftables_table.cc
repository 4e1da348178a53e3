// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/native/nftables_table.h"

#include <linux/netfilter.h>

#include <algorithm>
#include <map>
#include <memory>

#include "core/netns_guard.h"
#include "core/nft/chain_codec.h"
#include "core/nft/driver.h"
#include "core/nft/native/native_form.h"
#include "core/nft/native/nftables_codec.h"
#include "core/nft/nl_socket.h"
#include "core/nft/requests.h"
#include "core/nft/socket_reads.h"
#include "core/xt/same_rule.h"

namespace connlimit::core::nft {
namespace {

// The base chains of our tables: the filter table's hooks.
const char* const kChains[] = {"INPUT", "FORWARD", "OUTPUT"};

// A socket of its own for one call, in the target's namespace (the native form keeps no session).
Result<std::unique_ptr<Socket>> OpenIn(const TableTarget& t) {
  auto ns = NetnsGuard::Enter(t.netns_fd);
  if (!ns.ok()) return ns.error();
  return Socket::Open();
}

}  // namespace

Result<std::vector<OpResult>> CommitNftablesOps(const TableTarget& t, const std::vector<Op>& ops) {
  auto s = OpenIn(t);
  if (!s.ok()) return s.error();
  NativeForm form(t.family, t.table);
  SocketLink link(*s.value());
  Cache none;  // read afresh on every call
  return CommitOps(form, link, none, ops, t.lock_timeout_ms);
}

Result<int> DestroyNftablesTables(const TableTarget& t) {
  auto s = OpenIn(t);
  if (!s.ok()) return s.error();
  NativeForm form(t.family, t.table);
  SocketLink link(*s.value());
  return DestroyTables(form, link, t.lock_timeout_ms);
}

Result<uint32_t> NftablesGeneration(const TableTarget& t) {
  auto s = OpenIn(t);
  if (!s.ok()) return s.error();
  return s.value()->GetGen();
}

Result<std::vector<ListedChain>> ListNftablesTable(const TableTarget& t) {
  auto sock = OpenIn(t);
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

Result<int> FindNftablesRule(const TableTarget& t, const std::string& chain, const RuleSpec& rule) {
  auto sock = OpenIn(t);
  if (!sock.ok()) return sock.error();
  NativeForm form(t.family, t.table);
  if (!form.Builtin(chain)) return KernelError{"chain", ENOENT, chain, -1, ErrorKind::kChainNotFound};
  auto want = form.Normalize(chain, rule);
  if (!want.ok()) return want.error();
  SocketLink link(*sock.value());
  auto reader = link.NewReader(form);
  auto tables = reader->Tables();
  if (!tables.ok()) return tables.error();
  int position = 0;
  for (int index : tables.value()) {
    auto rules = reader->Rules(index, chain);
    if (!rules.ok()) return rules.error();
    for (const auto& r : rules.value()) {
      if (xt::SameRule(t.family, r.rule, want.value())) return position;
      position++;
    }
  }
  return -1;
}

}  // namespace connlimit::core::nft
