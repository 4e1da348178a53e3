// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: the native nftables form for the planner (core/nft/form.h): tables of our own,
// `connlimit`, `connlimit_1`, ... up to `connlimit_49` (appends open the next once the last
// holds 500 rules), each with base chains INPUT, FORWARD and OUTPUT hooked in at priority
// filter + the table's index, and a dynamic set per connlimit rule (nftables_codec.h).
#pragma once

#include <string>
#include <vector>

#include "core/nft/form.h"

namespace connlimit::core::nft {

// Table `index` of the form: connlimit, connlimit_1, connlimit_2, ...
std::string NftablesTableName(const std::string& base, int index);

class NativeForm : public Form {
 public:
  NativeForm(Family family, std::string base) : family_(family), base_(std::move(base)) {}
  const Traits& traits() const override;
  Family family() const override { return family_; }
  std::string TableName(int index) const override { return NftablesTableName(base_, index); }
  int IndexOf(const std::string& table) const override;
  const BuiltinChain* Builtin(const std::string& chain) const override { return FindBuiltin("filter", chain); }
  std::vector<BuiltinChain> Builtins() const override { return BuiltinChainsOf("filter"); }
  Message NewTable(int index, uint32_t seq) const override;
  Message DeleteTable(int index, uint32_t seq) const override;
  Message NewBaseChain(int index, const BuiltinChain& chain, uint32_t policy, uint32_t seq) const override;
  Message NewSet(const PlannedRule& rule, uint32_t seq) const override;
  Message DeleteSet(int index, const std::string& set, uint32_t seq) const override;
  bool RuleSetName(const std::string& name) const override;
  std::vector<std::string> UniqueSetNames(const RuleSpec& rule) const override;
  Result<Message> NewRule(const PlannedRule& rule, uint32_t seq) const override;
  Result<KnownRule> DecodeRule(const uint8_t* msg, size_t len, const SetElementReader& read_set = {}) const override;
  Result<KnownRule> DecodeRuleDeferred(const uint8_t* msg, size_t len) const override;
  Result<std::unique_ptr<DeferredMatch>> MatchDeferred(const std::string& chain, const RuleSpec& want) const override;
  Result<RuleSpec> Normalize(const std::string& chain, const RuleSpec& rule) const override;

 private:
  Family family_;
  std::string base_;
};

}  // namespace connlimit::core::nft
