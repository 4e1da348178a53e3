// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/backend_probe.h"

#include <fstream>
#include <string>

#include "core/legacy/iptc_table.h"
#include "core/netns_guard.h"
#include "core/nft/nft_table.h"

namespace connlimit::core {
namespace {

unsigned RulesAndUserChains(const std::vector<ListedChain>& chains) {
  unsigned n = 0;
  for (const auto& c : chains) n += static_cast<unsigned>(c.rules.size()) + (c.builtin ? 0 : 1);
  return n;
}

// /proc/thread-self/net follows this thread's network namespace, so it is read while inside.
Result<bool> LegacyTableExists(const TableTarget& t) {
  auto ns = NetnsGuard::Enter(t.netns_fd);
  if (!ns.ok()) return ns.error();
  std::ifstream names(t.family == Family::kIpv4 ? "/proc/thread-self/net/ip_tables_names" : "/proc/thread-self/net/ip6_tables_names");
  std::string line;
  while (std::getline(names, line))
    if (line == t.table) return true;
  return false;  // no file: no x_tables support loaded at all, so no legacy table
}

}  // namespace

Result<BackendUsage> ProbeBackends(const TableTarget& t, nft::TableSession& session) {
  BackendUsage u;
  auto legacy = LegacyTableExists(t);
  if (!legacy.ok()) return legacy.error();
  u.legacy_table = legacy.value();
  if (u.legacy_table) {
    auto chains = legacy::ListTable(t);
    if (!chains.ok()) return chains.error();
    u.legacy_rules = RulesAndUserChains(chains.value());
  }
  auto nft = nft::ListTable(t, session);
  if (!nft.ok()) return nft.error();
  // ListTable shows a missing table's base chains as empty virtual ones: a table exists when
  // the kernel listed at least one chain with counters or rules, which we ask for directly.
  auto exists = nft::TableExists(t, session);
  if (!exists.ok()) return exists.error();
  u.nft_table = exists.value();
  u.nft_rules = RulesAndUserChains(nft.value());
  return u;
}

}  // namespace connlimit::core
