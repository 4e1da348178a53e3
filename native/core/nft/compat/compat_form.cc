// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/compat/compat_form.h"

#include "core/nft/compat/rule_codec.h"
#include "core/nft/requests.h"

namespace connlimit::core::nft {

const Form::Traits& CompatForm::traits() const {
  static const Traits kTraits{1, 0, true, false};
  return kTraits;
}

Message CompatForm::NewTable(int, uint32_t seq) const { return EncodeNewTable(family_, table_, seq); }

// The planner deletes tables only for a form of several tables: the iptables table is shared.
Message CompatForm::DeleteTable(int, uint32_t) const { return Message{}; }

Message CompatForm::NewBaseChain(int, const BuiltinChain& chain, uint32_t policy, uint32_t seq) const {
  return EncodeNewBaseChain(family_, table_, chain, policy, seq);
}

// iptables-nft keeps connlimit's state in the xt match itself: no sets.
Message CompatForm::NewSet(const PlannedRule&, uint32_t) const { return Message{}; }
Message CompatForm::DeleteSet(int, const std::string&, uint32_t) const { return Message{}; }

Result<Message> CompatForm::NewRule(const PlannedRule& r, uint32_t seq) const {
  return EncodeRuleMessage(family_, table_, r.chain, *r.rule, r.where, seq);
}

Result<KnownRule> CompatForm::DecodeRule(const uint8_t* msg, size_t len, const SetElementReader&) const {
  auto d = DecodeRuleMessage(family_, msg, len);
  if (!d.ok()) return d.error();
  DecodedRule& r = d.value();
  return KnownRule{std::move(r.table), std::move(r.chain), r.handle, r.packets, r.bytes, "", std::move(r.rule)};
}

// Some spellings come back in another (equivalent) form (`! --dport 0:10` reads as 11:65535).
// A rule holding native expressions came from a listing, already in that form.
Result<RuleSpec> CompatForm::Normalize(const std::string& chain, const RuleSpec& rule) const {
  if (HasNativeExpr(rule)) return rule;
  auto bytes = EncodeRuleMessage(family_, table_, chain, rule, RulePlacement{}, 0);
  if (!bytes.ok()) return bytes.error();
  auto back = DecodeRuleMessage(family_, bytes.value().data(), bytes.value().size());
  if (!back.ok()) return back.error();
  return back.value().rule;
}

}  // namespace connlimit::core::nft
