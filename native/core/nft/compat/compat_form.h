// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: iptables-nft's form for the planner (core/nft/form.h): one table (`filter`, `nat`...)
// that other programs share, its base chains as iptables-nft creates them, user chains, rules
// as iptables-nft 1.8.9 encodes them (rule_codec.h). The session caches what a commit learned.
#pragma once

#include <string>
#include <vector>

#include "core/nft/form.h"

namespace connlimit::core::nft {

class CompatForm : public Form {
 public:
  CompatForm(Family family, std::string table) : family_(family), table_(std::move(table)) {}
  const Traits& traits() const override;
  Family family() const override { return family_; }
  std::string TableName(int) const override { return table_; }
  int IndexOf(const std::string& table) const override { return table == table_ ? 0 : -1; }
  const BuiltinChain* Builtin(const std::string& chain) const override { return FindBuiltin(table_, chain); }
  std::vector<BuiltinChain> Builtins() const override { return BuiltinChainsOf(table_); }
  Message NewTable(int index, uint32_t seq) const override;
  Message DeleteTable(int index, uint32_t seq) const override;
  Message NewBaseChain(int index, const BuiltinChain& chain, uint32_t policy, uint32_t seq) const override;
  Message NewSet(const PlannedRule& rule, uint32_t seq) const override;
  Message DeleteSet(int index, const std::string& set, uint32_t seq) const override;
  Result<Message> NewRule(const PlannedRule& rule, uint32_t seq) const override;
  Result<KnownRule> DecodeRule(const uint8_t* msg, size_t len, const SetElementReader& read_set = {}) const override;
  Result<RuleSpec> Normalize(const std::string& chain, const RuleSpec& rule) const override;

 private:
  Family family_;
  std::string table_;
};

}  // namespace connlimit::core::nft
