// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: one way of writing nf_tables rules, as the planner (planner.h) sees it: what the form
// allows (its traits), how its tables are named, and the messages only it writes. Two forms:
// iptables-nft's (compat/compat_form.h) and the native one (native/native_form.h). Messages
// both write the same way (DELRULE, DELCHAIN, user chains) are the planner's own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/nft/chain_codec.h"
#include "core/nft/message.h"
#include "core/nft/plan_reader.h"
#include "core/nft/rule_placement.h"
#include "core/result.h"
#include "core/rule_spec.h"

namespace connlimit::core::nft {

// A rule the batch adds, as the form encodes it once the batch is built.
struct PlannedRule {
  int table = 0;  // index of its table
  std::string chain;
  const RuleSpec* rule = nullptr;  // the op's own (the ops outlive the batch)
  RulePlacement where;
  uint32_t set_id = 0;          // NFTA_SET_ID of its connlimit set (native form), 0: none
  bool dropped = false;         // deleted again by a later op of the batch: not sent
  bool positioned = false;      // another rule of the batch is placed next to it
  bool with_set = false;        // its NEWSET was sent (the form gave one): the echo must name it
  uint64_t echoed_handle = 0;   // from the kernel's NLM_F_ECHO of this rule, once committed
  std::string echoed_set{};     // the name the kernel gave its set (connlimit%d), from the same echo
};

class Form {
 public:
  struct Traits {
    int max_tables;       // 1: one table, index 0
    int rules_per_table;  // appends open the next table once the last holds this many
    bool user_chains;     // user chains, jumps, policies, zero; otherwise only the base chains' rules
    bool rule_sets;       // each connlimit rule has a set of its own, created and deleted with it
  };
  virtual ~Form() = default;
  virtual const Traits& traits() const = 0;
  virtual Family family() const = 0;
  virtual std::string TableName(int index) const = 0;
  // The index of one of the form's tables, or -1.
  virtual int IndexOf(const std::string& table) const = 0;
  // nullptr when `chain` is not one of the form's base chains.
  virtual const BuiltinChain* Builtin(const std::string& chain) const = 0;
  virtual std::vector<BuiltinChain> Builtins() const = 0;

  virtual Message NewTable(int index, uint32_t seq) const = 0;
  virtual Message DeleteTable(int index, uint32_t seq) const = 0;
  virtual Message NewBaseChain(int index, const BuiltinChain& chain, uint32_t policy, uint32_t seq) const = 0;
  // The rule's set, or an empty message when it needs none.
  virtual Message NewSet(const PlannedRule& rule, uint32_t seq) const = 0;
  virtual Message DeleteSet(int index, const std::string& set, uint32_t seq) const = 0;
  virtual Result<Message> NewRule(const PlannedRule& rule, uint32_t seq) const = 0;

  // Whether a set of that name is one the form made for a rule (kept and deleted with it).
  virtual bool RuleSetName(const std::string& /*name*/) const { return false; }
  // The names of sets the rule makes that must be unique in its table (the native form's
  // hashlimit meters: nf_tables keeps one set of a name per table); none on other forms.
  virtual std::vector<std::string> UniqueSetNames(const RuleSpec& /*rule*/) const { return {}; }

  // One NEWRULE message as a dump returns it. `read_set` gives the GETSETELEM dump of a set of
  // the rule's table (`table`, `set`), for a form whose rules look up anonymous sets (the native
  // form's multiport lists); without it such a lookup stays opaque.
  using SetElementReader = nft::SetElementReader;
  virtual Result<KnownRule> DecodeRule(const uint8_t* msg, size_t len, const SetElementReader& read_set = {}) const = 0;
  // The same, with the rule's anonymous sets left unread: when it looks one up, its message is
  // kept (KnownRule::deferred) for DeferredMatch. A form without such sets decodes it whole.
  virtual Result<KnownRule> DecodeRuleDeferred(const uint8_t* msg, size_t len) const { return DecodeRule(msg, len); }

  // How many rules a comparer hands DeferredMatch::LookAhead at once: a window's probes are one
  // send, and a match early in it costs the decodes and probes of the rules after it.
  static constexpr size_t kLookAhead = 64;

  // Rules read with their sets unread, compared with one wanted rule.
  class DeferredMatch {
   public:
    virtual ~DeferredMatch() = default;
    // The deferred rule `msg` as it reads back when it equals the wanted rule, else nullopt.
    // Its sets are read by `read_set` only when its other parts equal the wanted rule's.
    virtual Result<std::optional<RuleSpec>> Resolve(const Message& msg, const SetElementReader& read_set) const = 0;
    // Whether the rule of message `msg` (as a dump returns it, not decoded yet) equals the wanted
    // rule, decoding it once and reading its sets as Resolve does; `table` gets the table it names.
    virtual Result<bool> Equals(const uint8_t* msg, size_t len, const SetElementReader& read_set, std::string* table) const = 0;
    // Rules about to be compared, in order (each message stays alive and in place until it is):
    // decoded now, and the sets of those whose other parts equal the wanted rule's probed by
    // `lacks` in one go, so Resolve or Equals reads only the sets a probe could not rule out.
    virtual Result<Unit> LookAhead(const std::vector<const Message*>& /*msgs*/, const SetLacks& /*lacks*/) const { return Unit{}; }
  };
  // For `want` as Normalize gives it; nullptr from a form that never defers.
  virtual Result<std::unique_ptr<DeferredMatch>> MatchDeferred(const std::string& /*chain*/, const RuleSpec& /*want*/) const {
    return std::unique_ptr<DeferredMatch>{};
  }
  // What `rule` reads back as once written: delete and check compare against this.
  virtual Result<RuleSpec> Normalize(const std::string& chain, const RuleSpec& rule) const = 0;
};

}  // namespace connlimit::core::nft
