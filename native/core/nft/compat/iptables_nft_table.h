// SPDX-License-Identifier: GPL-2.0-or-later
// I/O: one iptables-nft table (ip/ip6 family, "filter" etc.) over netfilter netlink (libmnl).
// Each handle has a session: one NETLINK_NETFILTER socket, opened in the table's namespace by
// the first call (the only one that enters it: the socket stays bound there) and closed with
// the session. A commit is one nfnetlink batch guarded by a generation id (a concurrent
// writer makes the kernel refuse it with ERESTART; we re-read and redo, bounded, as
// iptables-nft does). Only what the ops need is read: an append reads at most the generation
// id and its chain, never the chain's rules, so its cost does not grow with the table
// (NETFILTER-NOTES.md §4.2). Commits are planned by core/nft/planner with compat_form and sent
// by core/nft/driver, which owns the session (driver.h).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/nft/driver.h"
#include "core/result.h"
#include "core/rule_spec.h"
#include "core/table_ops.h"

namespace connlimit::core::nft {

// Apply every op in one batch. All or nothing: on a failing op nothing is applied and the
// error carries its op_index and the kernel's extended ack text. Base chains (and the table)
// missing on first use are created as iptables-nft creates them.
// `stale_attempts` (tests only): send a wrong generation id in that many first attempts,
// as if another writer had committed after our read; `attempts` tells how many were made.
Result<std::vector<OpResult>> CommitOps(const TableTarget& target, const std::vector<Op>& ops, TableSession& session,
                                        int stale_attempts = 0, int* attempts = nullptr);

// Every chain and rule of the table, decoded, in iptables-nft-save's order (built-in chains in
// table order, then user chains by name). A table not yet created lists its empty base chains.
Result<std::vector<ListedChain>> ListTable(const TableTarget& target, TableSession& session, Listing listing);

// How many user chains and rules the table holds, for `backend: 'auto'`, without decoding a rule
// and creating nothing; nullopt when the table does not exist (iptables-nft creates it on first
// write). Rules are counted up to `most_rules`: the kernel resumes each batch of a rule dump by
// walking the chain from its start, so a whole dump of 10k rules takes about 350 ms, where
// telling none from some takes one batch.
Result<std::optional<unsigned>> CountRulesAndUserChains(const TableTarget& target, unsigned most_rules);

// 0-based index of the first rule in `chain` equal in meaning to `rule`, or -1. From the
// session's cache when the generation id shows nobody committed since (no dump).
Result<int> FindRule(const TableTarget& target, TableSession& session, const std::string& chain, const RuleSpec& rule);

}  // namespace connlimit::core::nft
