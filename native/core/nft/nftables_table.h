// SPDX-License-Identifier: GPL-2.0-or-later
// I/O: the native nftables form (backend 'nftables'): our own table `connlimit` (family ip or
// ip6) with base chains INPUT, FORWARD and OUTPUT (hooks input/forward/output, type filter,
// priority filter, policy accept), written as nft writes them (core/nft/nftables_codec). A
// connlimit rule comes with its own dynamic set, created in the batch that adds the rule and
// deleted in the batch that deletes it. Every commit is one nfnetlink batch guarded by the
// generation id (ERESTART from a concurrent writer: read again and redo, bounded by
// lockTimeoutMs). An append reads only the generation id and its chain, never the rules or the
// sets (the kernel numbers the set), so its cost does not grow with our table; other programs'
// tables are never read or written.
#pragma once

#include <vector>

#include "core/result.h"
#include "core/rule_spec.h"
#include "core/table_ops.h"

namespace connlimit::core::nft {

// Apply every op in one batch, all or nothing (the failing op's index in the error). The
// table and base chains are created on first use. target.table is our table's name.
Result<std::vector<OpResult>> CommitNftablesOps(const TableTarget& target, const std::vector<Op>& ops);

// Our table's base chains (INPUT, FORWARD, OUTPUT, listed even before they exist), then any
// other chain someone added to it, with their rules decoded; unmodelled expressions opaque.
Result<std::vector<ListedChain>> ListNftablesTable(const TableTarget& target);

// 0-based index of the first rule in `chain` equal in meaning to `rule`, or -1.
Result<int> FindNftablesRule(const TableTarget& target, const std::string& chain, const RuleSpec& rule);

}  // namespace connlimit::core::nft
