// SPDX-License-Identifier: GPL-2.0-or-later
// I/O: the native nftables form (backend 'nftables'): tables of our own, `connlimit` then
// `connlimit_1`, `connlimit_2`, ... up to `connlimit_49` (family ip or ip6; appends open the
// next once the last holds 500 rules), each with base chains INPUT, FORWARD and OUTPUT (hooks
// input/forward/output, type filter, policy accept, priority filter + the table's index so they
// run in order, all before the security table at 50), written as nft writes them
// (core/nft/native/nftables_codec). A connlimit rule comes with its own dynamic set, created in the
// batch that adds the rule and deleted in the batch that deletes it; a table left without rules
// is deleted in the batch that empties it (but `connlimit` itself only by a flush of every
// chain). Every commit is one nfnetlink batch guarded by the generation id (ERESTART from a
// concurrent writer: read again and redo, bounded by lockTimeoutMs). An append reads the
// generation id, the table list and the last table's chains, never rules or sets (the kernel
// numbers the set), and commits into a table of at most 500 rules, so its cost does not grow
// with our rule count; other programs' tables are never read or written. Commits are planned by
// core/nft/planner with native_form and sent by core/nft/driver.
#pragma once

#include <vector>

#include "core/result.h"
#include "core/rule_spec.h"
#include "core/table_ops.h"

namespace connlimit::core::nft {

// Apply every op in one batch, all or nothing (the failing op's index in the error). Tables
// and base chains are created on first use. target.table is the first table's name.
Result<std::vector<OpResult>> CommitNftablesOps(const TableTarget& target, const std::vector<Op>& ops);

// Deletes every table of ours in the family (whatever they hold) in one batch; how many.
Result<int> DestroyNftablesTables(const TableTarget& target);

// The kernel's generation id, on a socket of its own (fw.apply() skips reading unchanged tables).
Result<uint32_t> NftablesGeneration(const TableTarget& target);

// Our base chains (INPUT, FORWARD, OUTPUT, listed even before they exist), each the
// concatenation of that chain across our tables, then any other chain someone added to them,
// with their rules decoded; unmodelled expressions opaque.
Result<std::vector<ListedChain>> ListNftablesTable(const TableTarget& target);

// 0-based index (across our tables) of the first rule in `chain` equal in meaning to `rule`, or -1.
Result<int> FindNftablesRule(const TableTarget& target, const std::string& chain, const RuleSpec& rule);

}  // namespace connlimit::core::nft
