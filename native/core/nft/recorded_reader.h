// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: the planner and the commit driver on recorded bytes, no kernel. A RecordedReader
// answers the planner's questions (plan_reader.h) from the replies a reference tool got when it
// read a ruleset (NEWGEN, NEWTABLE, NEWCHAIN and NEWRULE messages, scripts/capture-plan-state.sh);
// a RecordedLink plays the kernel for the driver (driver.h): it holds a list of such states, the
// kernel at the newest, and refuses a batch whose generation id is not the newest's (ERESTART),
// as the kernel does, while each attempt's reader sees the next state. Used by test/27-planner
// through the addon's _planNft.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/nft/driver.h"
#include "core/nft/form.h"
#include "core/nft/message.h"
#include "core/nft/plan_reader.h"
#include "core/result.h"

namespace connlimit::core::nft {

// One recorded ruleset, decoded by a form (duplicates, as a tool reads some twice, kept once).
struct RecordedState {
  uint32_t genid = 0;
  std::vector<std::string> tables;
  std::map<std::string, std::vector<DecodedChain>> chains;  // by table
  std::vector<KnownRule> rules;                             // in dump order
};
Result<RecordedState> DecodeRecording(const Form& form, const uint8_t* bytes, size_t len);

class RecordedReader : public PlanReader {
 public:
  RecordedReader(const Form& form, const RecordedState& state) : form_(form), state_(state) {}
  Result<uint32_t> Generation() override { return state_.genid; }
  Result<std::vector<int>> Tables() override;
  Result<std::optional<DecodedChain>> Chain(int index, const std::string& name) override;
  Result<std::vector<DecodedChain>> Chains(int index) override;
  Result<std::vector<KnownRule>> Rules(int index, const std::string& chain) override;

 private:
  const Form& form_;
  const RecordedState& state_;
};

class RecordedLink : public Link {
 public:
  explicit RecordedLink(std::vector<RecordedState> states) : states_(std::move(states)) {}
  uint32_t NextSeq() override { return ++seq_; }
  std::unique_ptr<PlanReader> NewReader(const Form& form) override;
  Result<Unit> SendBatch(const Message& batch, const std::function<KernelError(uint32_t, int, const std::string&)>& error_for,
                         std::vector<EchoedRule>* echoed, uint32_t* new_gen) override;
  Result<Unit> ResetCounters(Family, const std::string&, const std::string&) override { return Unit{}; }
  std::optional<uint32_t> TableOwner(Family, const std::string&) override { return std::nullopt; }
  // Every batch sent, in order, refused ones included.
  const std::vector<Message>& batches() const { return batches_; }

 private:
  std::vector<RecordedState> states_;
  size_t readers_ = 0;
  uint32_t seq_ = 0;
  std::vector<Message> batches_;
};

}  // namespace connlimit::core::nft
