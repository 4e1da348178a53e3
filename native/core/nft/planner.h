// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: the one nf_tables planner. From the ops of a commit and what is known of the form's
// tables (a Knowledge, filled further from a PlanReader as the ops need it) to one batch of
// messages. No socket here: the driver (driver.h) reads from the kernel or its cache and sends
// the batch; a test reads from recorded dump bytes and compares the batch.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/nft/form.h"
#include "core/nft/message.h"
#include "core/nft/plan_reader.h"
#include "core/result.h"
#include "core/table_ops.h"

namespace connlimit::core::nft {

// One rule of a chain as the plan sees it: in the kernel, or added by this batch.
struct PlanEntry {
  int table = 0;                          // index of the table holding it
  uint64_t handle = 0;                    // a rule in the kernel
  std::string set_name;                   // its connlimit set, if any
  std::shared_ptr<PlannedRule> pending;   // or a rule of this batch
  // As it reads back; for a rule of ours (pending, or committed and kept in the cache as
  // `given`) computed only when compared, so neither a large batch of appends nor a lone
  // append pays for an encode and decode it may never need.
  std::optional<RuleSpec> normalized;
  std::shared_ptr<const RuleSpec> given;  // a committed rule of ours, as the op gave it, until normalized
  std::shared_ptr<const Message> deferred{};  // read with its anonymous sets unread (KnownRule::deferred)
};

// The entry's rule as it reads back: computed (and kept) from the pending or given rule when
// not known yet; an error when neither is there or the form cannot normalize it.
Result<const RuleSpec*> NormalizedOf(const Form& form, const std::string& chain, PlanEntry& e);

// Compares rules with one wanted rule (as Form::Normalize gives it). A rule read with its
// anonymous sets unread has them read only when its other parts equal the wanted rule's
// (Form::DeferredMatch); one found equal keeps them read. A delete among 2,000 multiport rules
// reads the sets of the rules that differ only in their lists, not every set.
class DeferredComparer {
 public:
  DeferredComparer(const Form& form, const std::string& chain, const RuleSpec& want, SetElementReader read_set, SetLacks lacks = {})
      : form_(form), chain_(chain), want_(want), read_set_(std::move(read_set)), lacks_(std::move(lacks)) {}
  // Same() of v[i] for i = 0, 1, ... in turn: the i-th of that run, so the deferred rules of each
  // Form::kLookAhead are looked at together (their sets probed in one send, Form::DeferredMatch::LookAhead).
  Result<bool> SameAt(std::vector<PlanEntry>& v, size_t i);
  Result<bool> Same(PlanEntry& e);


 private:
  const Form& form_;
  const std::string& chain_;
  const RuleSpec& want_;
  Result<Unit> MakeMatch();

  SetElementReader read_set_;
  SetLacks lacks_;
  std::unique_ptr<Form::DeferredMatch> match_;  // made at the first deferred rule
};

struct PlanChain {
  bool exists = false, base = false;
  bool created = false;  // by this batch
  uint64_t handle = 0;   // 0 for a chain created in this batch
  uint32_t use = 0;      // the kernel's use count (a base chain's: its rule count)
};

struct PlanTable {
  bool existed = false;  // in the kernel when the batch was planned
  bool created = false;  // created by this batch
  bool read = false;     // `chains` holds every chain the kernel has (PlanReader::Chains)
  bool foreign = false;  // it holds a chain that is not one of the form's base chains
  std::map<std::string, int> delta;  // by chain: rules this batch adds to it minus those it deletes
  std::map<std::string, PlanChain> chains;
  bool exists() const { return existed || created; }
  int Delta() const {
    int n = 0;
    for (const auto& [chain, d] : delta) n += d;
    return n;
  }
};

// The rules of one chain across the form's tables, in evaluation order. Before they are read,
// rules planned at the head (-I 1) or the tail wait in early_head / early_tail.
struct PlanRules {
  std::optional<std::vector<PlanEntry>> loaded;
  std::vector<PlanEntry> early_head, early_tail;
};

// What the planner knows of the form's tables; after planning, the view the batch leaves.
struct Knowledge {
  bool listed = false;  // `tables` holds every table of the form that exists
  std::map<int, PlanTable> tables;
  std::map<std::string, PlanRules> rules;  // by chain name
};

struct PlannedMessage {
  int op_index;
  int table;  // the index of the table the message changes; -1 for a DELTABLE
  std::string what;  // for error messages: "rule INPUT", "chain LIMITS"
  std::function<Result<Message>(uint32_t)> build;  // an empty message: nothing to send
  int busy_as = 0;     // the errno to report instead of the kernel's EBUSY, when it means something precise
  bool flush = false;  // deletes every rule of a chain or table: echoed, it would echo each one
};

struct Batch {
  std::vector<PlannedMessage> msgs;
  std::vector<OpResult> results;
  std::vector<std::shared_ptr<PlannedRule>> new_rules;  // in batch order, as their echoes come back
  std::set<int> emptied;  // tables the batch deletes (or, created here, never creates): their other messages go
  std::vector<std::string> zero;  // chains whose counters are reset after the commit ("" every chain)
};

// Plans every op into one batch, reading through `reader` only what `known` lacks; `known`
// becomes the view the batch leaves. On a refused op the error carries its op_index.
Result<Batch> PlanOps(const Form& form, PlanReader& reader, Knowledge& known, const std::vector<Op>& ops);

// Deletes every table of the form (whatever it holds); the batch's results hold one entry,
// whose index is how many.
Result<Batch> PlanDestroy(const Form& form, PlanReader& reader);

// After a commit: whether `known` can be kept for the next one (every rule the batch added has
// its handle, and its set's name, echoed by the kernel), and if so makes it the kernel's view:
// rule counts moved into the chains, and a chain never read whose rules are all of this batch
// (every table known, none held one of its rules before) kept whole, so a later delete of it
// reads nothing.
bool Settle(const Form& form, Knowledge& known);

}  // namespace connlimit::core::nft
