// SPDX-License-Identifier: GPL-2.0-or-later
// Pure, internal to the native nftables form: whether a rule whose anonymous sets (a multiport
// list, weekdays) are unread equals a wanted rule, reading a set (one GETSETELEM round trip, the
// kernel's lookup of the set by name walking every set of the table) only when the rule's other
// parts equal the wanted rule's. The rule is decoded with the wanted rule's own sets standing in
// for its sets: when that differs from the wanted rule, so does the rule whatever its sets hold,
// and nothing is read. When it equals, its sets are read, and the rule equals the wanted one
// when their elements mean what the stand-ins' do (the same port ranges, the same days: all the
// decoder takes of a set), so a rule equals only when its sets' elements do.
//
// Why the stand-in decides: a rule's set gives one part of it (the list of a multiport match,
// the days of a time match) and nothing else of the walk (nftables_decoder.cc), and the encoder
// writes a list of one port, range or day as a comparison, a longer one as a set. So a rule
// equal to the wanted one asks for at least as many sets as the wanted rule has; asking for as
// many, it gets each of its lists from a set whose elements mean what one of the wanted sets'
// elements mean, and trying each assignment of the wanted sets to its own finds that one. A rule
// asking for more (a set of one port, which other writers may send), or a wanted rule holding
// expressions we don't model, is read and compared whole.
//
// Before a set is read it may be probed (LookAhead): a GETSETELEM get of the elements every set
// meaning the wanted ports holds, many sets in one send. A set lacking one differs and is not
// read; the rest are read as above. Among 2k rules that differ only in their lists this spares
// all but the match's dump; what is left is the kernel finding each set by name.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/nft/form.h"
#include "core/nft/native/nftables_codec.h"
#include "core/nft/native/nftables_sets.h"

namespace connlimit::core::nft::nftables {

class DeferredSetMatch : public Form::DeferredMatch {
 public:
  // The rule of message `msg` decoded with its sets read (NativeForm::DecodeRule).
  using ReadRule = std::function<Result<RuleSpec>(const Message& msg, const SetElementReader& read_set)>;

  // For `want` (as Normalize gives it), whose batch (EncodeNftablesRule's bytes, `want_batch`)
  // holds its anonymous sets; `opaque`: there are no such bytes (every rule naming a set is read).
  static Result<std::unique_ptr<Form::DeferredMatch>> Of(Family family, const RuleSpec& want, const Message& want_batch, bool opaque, ReadRule read);

  Result<std::optional<RuleSpec>> Resolve(const Message& msg, const SetElementReader& read_set) const override;
  Result<bool> Equals(const uint8_t* msg, size_t len, const SetElementReader& read_set, std::string* table) const override;
  Result<Unit> LookAhead(const std::vector<const Message*>& msgs, const SetLacks& lacks) const override;

 private:
  // What the stand-in decodes of a rule tell before any set is read.
  struct Look {
    enum class Verdict { kDiffers, kEqual, kReadWhole, kSets };
    // An order of the wanted sets whose stand-in decode equals the wanted rule: the rule equals
    // it when the sets it asked for (in the order it asked) mean what those wanted sets do.
    struct Candidate {
      std::vector<size_t> order;
      std::vector<std::string> asked;
      RuleSpec rule;
    };
    std::string table;
    Verdict verdict = Verdict::kDiffers;
    std::optional<RuleSpec> rule;  // kEqual: the rule, which names no set
    std::vector<Candidate> candidates;  // kSets
  };
  using Required = std::vector<std::pair<std::vector<uint8_t>, bool>>;

  DeferredSetMatch(Family family, const RuleSpec& want, bool opaque, ReadRule read) : family_(family), want_(want), opaque_(opaque), read_(std::move(read)) {}
  // The rule decoded with the wanted sets in order `order` standing in for the sets it asks for;
  // `asked` gets the sets it asked for, in order.
  Result<DecodedNftablesRule> DecodeWith(const uint8_t* msg, size_t len, const std::vector<size_t>& order, std::vector<std::string>* asked) const;
  Result<Look> LookAt(const uint8_t* msg, size_t len) const;
  // The rule `msg` as it reads back when it equals the wanted rule, else nullopt; `table` gets its table.
  Result<std::optional<RuleSpec>> Match(const uint8_t* msg, size_t len, const SetElementReader& read_set, std::string* table) const;

  Family family_;
  RuleSpec want_;
  bool opaque_;
  ReadRule read_;
  std::vector<std::vector<RawElement>> sets_;  // the wanted rule's anonymous sets' elements, in the order its lookups name them
  // For each of sets_, elements every set meaning the same holds (RequiredElements); none: not probed.
  std::vector<Required> required_;
  // A set of a table, with the index in sets_ of the wanted set it is probed for.
  static std::string ProbeKey(const std::string& table, const std::string& set, size_t wanted);

  // LookAhead's work, until Match takes it: each rule's Look by its message's bytes, and the sets
  // (ProbeKey) a probe proved to lack one of that wanted set's required elements.
  mutable std::map<const uint8_t*, Look> ahead_;
  mutable std::unordered_set<std::string> lacking_;
};

}  // namespace connlimit::core::nft::nftables
