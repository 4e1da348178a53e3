// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: a whole x_tables table written from nothing, as the blob of one IPT_SO_SET_REPLACE /
// IP6T_SO_SET_REPLACE (struct ipt_replace and its entries), laid out as libiptc's
// iptcc_compile_table lays out the same chains: the built-in chains in hook order, each its
// rules then its policy entry; the user chains sorted by name (strcmp), each an ERROR entry
// naming it, its rules, a RETURN; a final ERROR entry. A rule's standard target is mapped as
// libiptc maps it (iptcc_map_target, iptcc_compile_rule): a verdict's number, a jump's offset
// of the chain's first rule, a rule without a target falling through to the entry after it.
// restore without noflush writes its table this way (docs/restore.md): nothing of the old
// table is read but its entry count and, for a built-in chain whose policy it keeps, that
// policy (table_replace.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/legacy/entry_codec.h"
#include "core/result.h"
#include "core/table_ops.h"

namespace connlimit::core::legacy {

// NF_INET_NUMHOOKS: PREROUTING, INPUT, FORWARD, OUTPUT, POSTROUTING.
inline constexpr int kHooks = 5;

// A built-in chain's name by hook number, as libiptc's hooknames[].
const char* HookChainName(int hook);

// The hooks of x_tables table `name` (its valid_hooks: iptable_filter.c's FILTER_VALID_HOOKS,
// and the same in iptable_{mangle,nat,raw,security}.c and their ip6table_ twins, v6.x), or 0
// for a name none has (whose replace the kernel refuses).
unsigned TableHooks(const std::string& name);

class TableImage {
 public:
  // The table's built-in chains are those of `valid_hooks` (IPT_SO_GET_INFO's), empty, with no
  // policy of their own yet (KeepsPolicy).
  TableImage(Family family, unsigned valid_hooks);

  // Room for `bytes` of rule entries: the rules of every chain are written one after another
  // into one buffer (and copied once, into the table, by Build), so a guess that holds them
  // all spares growing it.
  void Reserve(size_t bytes);

  // One op as libiptc would apply it to the emptied table, with its errors (the chain and jump
  // checks of iptc_table.cc's PrepareRule, iptc_create_chain's and iptc_set_policy's errno).
  // Appends, chain creations and policies: what a restore plan sends after emptying the table.
  Result<OpResult> Apply(const Op& op);

  // Whether the built-in chain of `hook` was given no policy: it keeps the old table's verdict
  // (iptc_flush_entries leaves a built-in chain's policy as libiptc read it).
  bool KeepsPolicy(int hook) const;
  void KeepPolicy(int hook, int verdict);

  // Entry count of the table Build() writes, and of the rules in it (for the caller's choice
  // of CPU, apart_from_js_thread.h).
  unsigned Entries() const;
  size_t Rules() const { return rules_; }
  // Where the policy entry of `hook` is among the entries Build() writes (0-based).
  unsigned PolicyIndex(int hook) const;

  // Grows the buffer Build() writes to about the size the table has so far, zeroed: its pages
  // are faulted in and written now (a staged image, in the pool while the ops still come)
  // rather than by Build(), which writes 2.6 MB for a table of 10k connlimit rules.
  void PrepareBuild();
  // struct ipt_replace (or ip6t_replace, the same layout) for table `name` and its entries;
  // num_counters and counters are the caller's to fill. Written into the image's own buffer,
  // whatever it held before (PrepareBuild, an earlier Build): valid until the next call.
  std::vector<uint8_t>& Build(const std::string& name);
  // Frees the entries and the table written, once the image is done with: a staged one's JS
  // handle lives on until a collection, which its megabytes need not wait for.
  void Release();

 private:
  // Where a rule's standard target needs an offset only the layout knows.
  struct Fixup {
    size_t verdict_at;  // from the start of the chain's rules
    int jump_to;        // chain index, or -1: fall through to the entry after, which ends at `end`
    size_t end;
  };
  // Consecutive rules of one chain in the arena.
  struct Run {
    size_t from, size;
  };
  struct Chain {
    std::string name;
    int hook = -1;  // -1: a user chain
    bool has_policy = false;
    int verdict = 0;  // a built-in chain's policy: -NF_ACCEPT - 1 or -NF_DROP - 1
    std::vector<Run> runs;
    size_t bytes = 0;  // of its rules
    unsigned count = 0;
    std::vector<Fixup> fixups;
  };

  Result<OpResult> Append(const Op& op);
  Result<OpResult> CreateChain(const std::string& name);
  Result<OpResult> SetPolicy(const std::string& name, const std::string& policy);
  int Find(const std::string& name) const;
  // The chains in layout order: built-in by hook, user by name.
  std::vector<const Chain*> Ordered() const;

  Family family_;
  size_t entry_size_;
  std::vector<Chain> chains_;
  std::unordered_map<std::string, int> index_;
  EntryEncoder encoder_;
  std::vector<uint8_t> arena_;  // every rule's entry, in the order they came
  std::vector<uint8_t> table_;  // what Build() writes
  size_t rules_ = 0;
};

}  // namespace connlimit::core::legacy
