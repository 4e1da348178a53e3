// SPDX-License-Identifier: GPL-2.0-or-later
// I/O: one legacy (x_tables) table through libiptc. Every call is one scope of
// [lock] -> enter netns -> iptc_init -> work -> [iptc_commit] -> iptc_free -> leave -> [unlock]:
// a libiptc handle is a private snapshot that goes stale at commit, and is not thread-safe,
// so none outlives its call (NETFILTER-NOTES.md §2.3, §2.6).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/rule_spec.h"

namespace connlimit::core::legacy {

struct TableTarget {
  Family family = Family::kIpv4;
  std::string table;
  int netns_fd = -1;  // -1: the calling thread's own namespace
  std::string lock_path;
  int lock_timeout_ms = 5000;
};

struct Op {
  enum class Kind {
    kAppend, kInsert, kReplace, kDelete, kDeleteAt, kEnsure,
    kFlush, kZero, kCreateChain, kDeleteChain, kRenameChain, kSetPolicy,
  };
  Kind kind = Kind::kAppend;
  std::string chain;  // empty for kFlush/kZero: every chain
  std::string to;     // kRenameChain: the new name; kSetPolicy: "ACCEPT" or "DROP"
  unsigned index = 0; // 0-based (libiptc's numbering)
  RuleSpec rule;
};

struct OpResult {
  bool changed = true;
  int index = -1;  // where an ensure found its rule, or a delete removed one
};

struct ListedRule {
  RuleSpec rule;
  uint64_t packets = 0, bytes = 0;
};

struct ListedChain {
  std::string name;
  bool builtin = false;
  std::string policy;  // empty for user chains
  uint64_t packets = 0, bytes = 0;
  unsigned references = 0;
  std::vector<ListedRule> rules;
};

// iptc_init only: fails early on permissions or a missing table.
Result<Unit> ProbeTable(const TableTarget& target);

// Apply every op to one snapshot and commit once, under the xtables lock. All or nothing: on
// the first failing op nothing is committed and the error carries its op_index. A commit
// refused with EAGAIN (someone wrote without the lock) is redone from a fresh read.
Result<std::vector<OpResult>> CommitOps(const TableTarget& target, const std::vector<Op>& ops);

// Every chain and rule of the table, decoded.
Result<std::vector<ListedChain>> ListTable(const TableTarget& target);

// 0-based index of the first rule in `chain` equal in meaning to `rule`, or -1.
Result<int> FindRule(const TableTarget& target, const std::string& chain, const RuleSpec& rule);

}  // namespace connlimit::core::legacy
