// SPDX-License-Identifier: GPL-2.0-or-later
// What a commit asks of a table and what a listing returns, shared by both backends
// (legacy/iptc_table and nft/nft_table), so js/convert builds and reads them once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/rule_spec.h"

namespace connlimit::core {

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
    // Legacy only, for restore, which then plans without reading the table first (the commit's
    // own read is the only one): every user chain deleted (after a flush of every chain in the
    // same commit); a chain created when the table lacks it, else flushed (--noflush).
    kDeleteUserChains, kDeclareChain,
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

// What a listing reads: the chains with every rule decoded, or the chains alone (names, policies,
// counters; no rules, and on nf_tables no references). Restore plans from the chains alone, and decoding the
// 10,000 rules it replaces would cost it ~150 ms (legacy) to ~400 ms (nft).
enum class Listing { kRules, kChainsOnly };

struct ListedChain {
  std::string name;
  bool builtin = false;
  std::string policy;  // empty for user chains
  uint64_t packets = 0, bytes = 0;
  unsigned references = 0;
  std::vector<ListedRule> rules;
};

}  // namespace connlimit::core
