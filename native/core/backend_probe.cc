// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/backend_probe.h"

#include <climits>
#include <fstream>
#include <string>

#include "core/legacy/iptc_table.h"
#include "core/netns_guard.h"
#include "core/nft/nft_table.h"

namespace connlimit::core {
namespace {

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

// Counted, not listed, and nf_tables rules only up to the first: listing both tables made the
// default open of a 10k-rule nf_tables table take 136 ms where an explicit open takes 0.2 ms
// (bench row 9). The whole count is made only for the error that names both counts.
Result<BackendUsage> ProbeBackends(const TableTarget& t) {
  BackendUsage u;
  auto legacy = LegacyTableExists(t);
  if (!legacy.ok()) return legacy.error();
  u.legacy_table = legacy.value();
  if (u.legacy_table) {
    auto n = legacy::CountRulesAndUserChains(t);
    if (!n.ok()) return n.error();
    u.legacy_rules = n.value();
  }
  auto nft = nft::CountRulesAndUserChains(t, 1);
  if (!nft.ok()) return nft.error();
  if (u.legacy_rules > 0 && nft.value().value_or(0) > 0) nft = nft::CountRulesAndUserChains(t, UINT_MAX);
  if (!nft.ok()) return nft.error();
  u.nft_table = nft.value().has_value();
  u.nft_rules = nft.value().value_or(0);
  return u;
}

}  // namespace connlimit::core
