// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/backend_probe.h"

#include <climits>
#include <fstream>
#include <string>

#include "core/legacy/iptc_table.h"
#include "core/netns_guard.h"
#include "core/nft/compat/iptables_nft_table.h"

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

// Counted up to the first rule, not listed: listing both tables made the default open of a
// 10k-rule table take 136 ms (nf_tables) or twice an explicit open (x_tables), where an explicit
// nf_tables open takes 0.2 ms (bench row 9). Whole counts only for the error that names both.
Result<BackendUsage> ProbeBackends(const TableTarget& t) {
  BackendUsage u;
  auto legacy = LegacyTableExists(t);
  if (!legacy.ok()) return legacy.error();
  u.legacy_table = legacy.value();
  if (u.legacy_table) {
    auto any = legacy::HasRulesOrUserChains(t);
    if (!any.ok()) return any.error();
    u.legacy_rules = any.value() ? 1 : 0;
  }
  auto nft = nft::CountRulesAndUserChains(t, 1);
  if (!nft.ok()) return nft.error();
  u.nft_table = nft.value().has_value();
  u.nft_rules = nft.value().value_or(0);
  if (u.legacy_rules > 0 && u.nft_rules > 0) {
    auto legacy_count = legacy::CountRulesAndUserChains(t);
    if (!legacy_count.ok()) return legacy_count.error();
    u.legacy_rules = legacy_count.value();
    auto nft_count = nft::CountRulesAndUserChains(t, UINT_MAX);
    if (!nft_count.ok()) return nft_count.error();
    u.nft_rules = nft_count.value().value_or(0);
  }
  return u;
}

}  // namespace connlimit::core
