// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: what the nf_tables planner (planner.h) needs to know of the kernel's tables, and
// nothing of how it is learned. The driver (driver.h) answers from the kernel, a test from
// recorded dump bytes (recorded_reader.h). Tables are named by their index in the form
// (Form::TableName): the iptables-nft form has one, the native form `connlimit`, `connlimit_1`...
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/nft/chain_codec.h"
#include "core/nft/message.h"
#include "core/result.h"
#include "core/rule_spec.h"

namespace connlimit::core::nft {

// One rule as the kernel has it.
struct KnownRule {
  std::string table, chain;
  uint64_t handle = 0;
  uint64_t packets = 0, bytes = 0;
  std::string set_name;  // its connlimit set (native form), empty without one
  RuleSpec rule;         // as it reads back; with `deferred`, its anonymous sets' lookups opaque
  // The rule's message, when it was read with its anonymous sets (the native form's multiport
  // lists, weekdays) left unread: they are read only if the rule is compared with one whose
  // other parts it equals (DeferredComparer in planner.h, Form::DeferredMatch).
  std::shared_ptr<const Message> deferred{};
};

// The GETSETELEM dump of set `set` of table `table` (its elements, as NEWSETELEM messages).
using SetElementReader = std::function<Result<std::vector<Message>>(const std::string& table, const std::string& set)>;

// Elements some set of `table` must hold: a key, and whether it ends an interval.
struct SetProbe {
  std::string table, set;
  std::vector<std::pair<std::vector<uint8_t>, bool>> elements;
};
// For each probe, whether its set certainly lacks one of its elements (or is gone): one
// GETSETELEM get per set, many sent at once; false when all are there or the kernel can't tell.
using SetLacks = std::function<Result<std::vector<bool>>(const std::vector<SetProbe>& probes)>;

class PlanReader {
 public:
  virtual ~PlanReader() = default;
  // The generation id the answers describe (asked afresh on every call).
  virtual Result<uint32_t> Generation() = 0;
  // The indexes of the form's tables that exist, ascending.
  virtual Result<std::vector<int>> Tables() = 0;
  // One chain of table `index`; nullopt when it or the table is missing.
  virtual Result<std::optional<DecodedChain>> Chain(int index, const std::string& name) = 0;
  // Every chain of table `index`; none when the table is missing.
  virtual Result<std::vector<DecodedChain>> Chains(int index) = 0;
  // The rules of `chain` in table `index`, in chain order; none when either is missing.
  virtual Result<std::vector<KnownRule>> Rules(int index, const std::string& chain) = 0;
  // The same for rules that are compared rather than listed: a rule's anonymous sets may be left
  // unread (KnownRule::deferred), to be read through Sets() if it is compared at all.
  virtual Result<std::vector<KnownRule>> RulesToCompare(int index, const std::string& chain) { return Rules(index, chain); }
  // Reads the sets of deferred rules; empty where Rules reads every set itself.
  virtual SetElementReader Sets() { return {}; }
  // Tells deferred rules whose sets certainly differ without reading them; empty as Sets() is.
  virtual SetLacks Lacks() { return {}; }
  // Whether table `index` holds sets the form did not make for its rules (the native form's
  // client sets, core/nft/native/nftables_set_socket.h): asked only before a flush would delete
  // the table. Recordings (test 27) hold none.
  virtual Result<bool> HoldsOtherSets(int /*index*/) { return false; }
  // Whether table `index` holds a set of that name (one GETSET): asked before a rule that makes
  // a set of a name of its own (Form::UniqueSetNames) is planned. Recordings hold none.
  virtual Result<bool> HasSet(int /*index*/, const std::string& /*set*/) { return false; }
};

}  // namespace connlimit::core::nft
