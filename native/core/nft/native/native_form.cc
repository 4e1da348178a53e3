// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/native/native_form.h"

#include <linux/netfilter_ipv4.h>

#include <cerrno>
#include <map>
#include <optional>

#include "core/nft/expr_reader.h"
#include "core/nft/native/nftables_codec.h"
#include "core/nft/native/nftables_anonymous_set.h"
#include "core/nft/native/nftables_deferred_match.h"
#include "core/nft/native/xlate_modules.h"
#include "core/nft/requests.h"

namespace connlimit::core::nft {
namespace {

// Appends open a new table once the last one holds this many rules. The kernel charges every
// commit for the table it changes (its sets) and for the chain (rebuilt whole): measured with
// the netlink floor, an append costs 0.23 ms in an empty table and 3.2 ms beside 2000 connlimit
// rules (docs/nft.md); a few hundred rules keep it within about twice the empty cost.
constexpr int kRulesPerTable = 500;

// Table `index` hooks in at priority filter + index, and every one must run before the security
// table (NF_IP_PRI_SECURITY; NF_IP6_PRI_SECURITY is the same 50), and so before srcnat too: at
// most this many tables, connlimit .. connlimit_49. Appends never open one past the last: once
// connlimit_49 holds rules they stay in it, however many (docs/nft.md).
constexpr int kMaxTables = NF_IP_PRI_SECURITY - NF_IP_PRI_FILTER;

// The set ids of a rule's anonymous sets (multiport lists, weekdays) within a batch: the high bit
// keeps them apart from the planner's ids of connlimit sets (1, 2, ...), then
// kAnonymousSetsPerRule for each rule id.
uint32_t AnonymousSetId(uint32_t rule_id) { return 0x80000000u | (rule_id * static_cast<uint32_t>(nftables::kAnonymousSetsPerRule)); }

}  // namespace

std::string NftablesTableName(const std::string& base, int index) {
  return index == 0 ? base : base + "_" + std::to_string(index);
}

const Form::Traits& NativeForm::traits() const {
  static const Traits kTraits{kMaxTables, kRulesPerTable, false, true};
  return kTraits;
}

int NativeForm::IndexOf(const std::string& name) const {
  if (name == base_) return 0;
  if (name.size() <= base_.size() + 1 || name.compare(0, base_.size() + 1, base_ + "_") != 0) return -1;
  std::string digits = name.substr(base_.size() + 1);
  if (digits.size() > 6 || digits[0] == '0' || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoi(digits);
}

Message NativeForm::NewTable(int index, uint32_t seq) const { return EncodeNftablesTable(family_, TableName(index), seq); }

Message NativeForm::DeleteTable(int index, uint32_t seq) const { return EncodeDelNftablesTable(family_, TableName(index), seq); }

// Always policy accept: a DROP here would drop what the iptables table accepts.
Message NativeForm::NewBaseChain(int index, const BuiltinChain& chain, uint32_t, uint32_t seq) const {
  BuiltinChain bc = chain;
  bc.priority = NF_IP_PRI_FILTER + index;  // our tables run in order, right after one another
  return EncodeNftablesBaseChain(family_, TableName(index), bc, seq);
}

Message NativeForm::NewSet(const PlannedRule& r, uint32_t seq) const {
  if (!ConnlimitOf(*r.rule)) return Message{};
  return EncodeConnlimitSet(family_, TableName(r.table), kConnlimitSetPattern, r.set_id, seq);
}

Message NativeForm::DeleteSet(int index, const std::string& set, uint32_t seq) const {
  return EncodeDelSet(family_, TableName(index), set, seq);
}

Result<Message> NativeForm::NewRule(const PlannedRule& r, uint32_t seq) const {
  return EncodeNftablesRule(family_, TableName(r.table), r.chain, *r.rule, kConnlimitSetPattern, r.set_id, AnonymousSetId(r.set_id), r.where,
                            seq);
}

Result<KnownRule> NativeForm::DecodeRule(const uint8_t* msg, size_t len, const SetElementReader& read_set) const {
  // An anonymous set (a multiport list, weekdays), read when a lookup names it (its elements by set name).
  std::map<std::string, std::vector<RawElement>> read;
  std::optional<KernelError> failed;
  AnonymousSetElements sets;
  if (read_set)
    sets = [&](const std::string& set, uint32_t) -> const std::vector<RawElement>* {
      if (auto it = read.find(set); it != read.end()) return &it->second;
      auto m = ReadRuleMessage(msg, len);
      if (!m.ok()) return nullptr;
      auto msgs = read_set(m.value().table, set);
      if (!msgs.ok()) {
        // Gone meanwhile (the listing sees the generation move and reads again): left opaque.
        if (msgs.error().errnum != ENOENT) failed = msgs.error();
        return nullptr;
      }
      auto& elements = read[set];
      for (const auto& e : msgs.value()) {
        std::string name;
        uint32_t id = 0;
        if (!nftables::ReadElementMessage(e.data(), e.size(), &name, &id, &elements).ok()) return nullptr;
      }
      return &elements;
    };
  auto d = DecodeNftablesRule(family_, msg, len, sets);
  if (failed) return *failed;
  if (!d.ok()) return d.error();
  DecodedNftablesRule& r = d.value();
  return KnownRule{std::move(r.table), std::move(r.chain), r.handle, r.packets, r.bytes, std::move(r.set_name), std::move(r.rule)};
}

Result<KnownRule> NativeForm::DecodeRuleDeferred(const uint8_t* msg, size_t len) const {
  bool asked = false;
  auto d = DecodeNftablesRule(family_, msg, len, [&asked](const std::string&, uint32_t) -> const std::vector<RawElement>* {
    asked = true;
    return nullptr;
  });
  if (!d.ok()) return d.error();
  DecodedNftablesRule& r = d.value();
  KnownRule out{std::move(r.table), std::move(r.chain), r.handle, r.packets, r.bytes, std::move(r.set_name), std::move(r.rule)};
  if (asked) out.deferred = std::make_shared<const Message>(msg, msg + len);
  return out;
}

Result<std::unique_ptr<Form::DeferredMatch>> NativeForm::MatchDeferred(const std::string& chain, const RuleSpec& want) const {
  // Without the wanted rule's own sets (it holds expressions we don't model, or does not encode
  // again), every rule that names a set is read and compared whole.
  bool opaque = HasNativeExpr(want);
  Message batch;
  if (!opaque) {
    auto bytes = EncodeNftablesRule(family_, base_, chain, want, "connlimit0", 1, AnonymousSetId(1), RulePlacement{}, 0);
    if (bytes.ok()) batch = bytes.take();
    opaque = !bytes.ok();
  }
  return nftables::DeferredSetMatch::Of(family_, want, batch, opaque, [this](const Message& msg, const SetElementReader& read_set) -> Result<RuleSpec> {
    auto r = DecodeRule(msg.data(), msg.size(), read_set);
    if (!r.ok()) return r.error();
    return std::move(r.value().rule);
  });
}

// What a rule reads back as once written. A rule holding expressions we don't model came from
// a listing, already in that form.
Result<RuleSpec> NativeForm::Normalize(const std::string& chain, const RuleSpec& rule) const {
  if (HasNativeExpr(rule)) return rule;
  auto bytes = EncodeNftablesRule(family_, base_, chain, rule, "connlimit0", 1, AnonymousSetId(1), RulePlacement{}, 0);
  if (!bytes.ok()) return bytes.error();
  auto back = DecodeNftablesRuleBatch(family_, bytes.value().data(), bytes.value().size());
  if (!back.ok()) return back.error();
  return back.value().rule;
}

// `connlimit` + the kernel's number (kConnlimitSetPattern); client sets may not be named so (src/sets/nftables.ts).
bool NativeForm::RuleSetName(const std::string& name) const {
  const std::string prefix = "connlimit";
  return name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0 &&
         name.find_first_not_of("0123456789", prefix.size()) == std::string::npos;
}

std::vector<std::string> NativeForm::UniqueSetNames(const RuleSpec& rule) const {
  std::vector<std::string> names;
  for (const auto& m : rule.matches)
    if (const auto* x = std::get_if<OpaqueExtension>(&m))
      if (auto name = xlate::HashlimitMeterName(*x); !name.empty()) names.push_back(std::move(name));
  return names;
}

}  // namespace connlimit::core::nft
