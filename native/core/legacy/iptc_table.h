// SPDX-License-Identifier: GPL-2.0-or-later
// I/O: one legacy (x_tables) table through libiptc. Every call is one scope of
// [lock] -> enter netns -> iptc_init -> work -> [iptc_commit] -> iptc_free -> leave -> [unlock]:
// a libiptc handle is a private snapshot that goes stale at commit, and is not thread-safe,
// so none outlives its call (NETFILTER-NOTES.md §2.3, §2.6).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/legacy/staged_image.h"
#include "core/result.h"
#include "core/rule_spec.h"
#include "core/table_ops.h"

namespace connlimit::core::legacy {

// The op and listing types are shared with the nf_tables backend (core/table_ops.h).
using core::ListedChain;
using core::ListedRule;
using core::Op;
using core::OpResult;
using core::TableTarget;

// iptc_init only: fails early on permissions or a missing table.
Result<Unit> ProbeTable(const TableTarget& target);

// Apply every op of a packed batch (core/packed_ops.h, `size` bytes) to one snapshot and
// commit once, under the xtables lock. All or nothing: on the first failing op nothing is
// committed and the error carries its op_index. A commit refused with EAGAIN (someone wrote
// without the lock) is redone from a fresh read.
Result<std::vector<OpResult>> CommitPackedOps(const TableTarget& target, const uint8_t* bytes, size_t size);

// A batch that empties the table first, its ops applied to `staged` (staged_image.h: as the
// caller handed them over, or all at once by CommitPackedOps), written as one table replace
// under the xtables lock (table_replace.h). The first failing op's error carries its op_index.
Result<std::vector<OpResult>> CommitStaged(const TableTarget& target, StagedImage& staged);

// Every chain and rule of the table, decoded.
Result<std::vector<ListedChain>> ListTable(const TableTarget& target, Listing listing);

// What `backend: 'auto'` needs of a table that exists (asking about a missing one instantiates
// it): whether it holds any rule or user chain, from the kernel's entry count alone (no copy of
// the table); and how many, counted through libiptc without decoding a rule.
Result<bool> HasRulesOrUserChains(const TableTarget& target);
Result<unsigned> CountRulesAndUserChains(const TableTarget& target);

// 0-based index of the first rule in `chain` equal in meaning to `rule`, or -1.
Result<int> FindRule(const TableTarget& target, const std::string& chain, const RuleSpec& rule);

}  // namespace connlimit::core::legacy
