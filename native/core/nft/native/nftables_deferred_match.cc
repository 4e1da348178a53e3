// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/native/nftables_deferred_match.h"

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <numeric>
#include <string>
#include <unordered_set>
#include <utility>

#include "core/nft/native/nftables_anonymous_set.h"
#include "core/nft/native/nftables_codec.h"
#include "core/nft/native/nftables_multiport.h"
#include "core/nft/native/xlate_modules.h"
#include "core/xt/same_rule.h"

namespace connlimit::core::nft::nftables {
namespace {

// Every order of up to this many wanted sets is tried (3! = 6 decodes); a rule with more is read.
constexpr size_t kMaxStandIns = 3;

// The elements of a wanted port set that every set meaning the same ports holds (PortRangesOf):
// a range's start, and the end element after it (none after a range up to 65535); all but the
// end element at 0 nft writes first, which PortRangesOf takes or leaves. A day set is not
// probed (none).
std::vector<std::pair<std::vector<uint8_t>, bool>> RequiredElements(const std::vector<RawElement>& wanted) {
  std::vector<std::pair<std::vector<uint8_t>, bool>> out;
  if (!PortRangesOf(wanted)) return out;
  for (const auto& e : wanted) {
    bool zero = std::all_of(e.key.begin(), e.key.end(), [](uint8_t b) { return b == 0; });
    if (e.interval_end && zero) continue;
    out.emplace_back(e.key, e.interval_end);
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Form::DeferredMatch>> DeferredSetMatch::Of(Family family, const RuleSpec& want, const Message& want_batch, bool opaque,
                                                                  ReadRule read) {
  std::unique_ptr<DeferredSetMatch> m(new DeferredSetMatch(family, want, opaque, std::move(read)));
  // The batch's sets by id: the encoder numbers them in the order the rule's lookups name them.
  std::map<uint32_t, std::vector<RawElement>> by_id;
  for (size_t at = 0; at + sizeof(struct nlmsghdr) <= want_batch.size();) {
    const auto* nlh = reinterpret_cast<const struct nlmsghdr*>(want_batch.data() + at);
    if (nlh->nlmsg_len < sizeof(struct nlmsghdr) || nlh->nlmsg_len > want_batch.size() - at) break;
    if (NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWSETELEM) {
      std::string set;
      uint32_t id = 0;
      std::vector<RawElement> elements;  // not by_id[id] in the call: that would be read before the call sets id
      auto r = ReadElementMessage(want_batch.data() + at, nlh->nlmsg_len, &set, &id, &elements);
      if (!r.ok()) return r.error();
      auto& into = by_id[id];
      into.insert(into.end(), elements.begin(), elements.end());
    }
    at += MNL_ALIGN(nlh->nlmsg_len);
  }
  for (auto& [id, elements] : by_id) m->sets_.push_back(std::move(elements));
  for (const auto& elements : m->sets_) m->required_.push_back(RequiredElements(elements));
  return std::unique_ptr<Form::DeferredMatch>(std::move(m));
}

// What the decoder takes of a set's elements: a port list's ranges (nftables_decoder.cc,
// PortLookup) and a day set's weekdays (xlate_time.cc), nothing else. Equal for two sets, the
// rule decodes the same with either.
bool SameMeaning(const std::vector<RawElement>& a, const std::vector<RawElement>& b) {
  return PortRangesOf(a) == PortRangesOf(b) && xlate::WeekdaysOf(a) == xlate::WeekdaysOf(b);
}

Result<DecodedNftablesRule> DeferredSetMatch::DecodeWith(const uint8_t* msg, size_t len, const std::vector<size_t>& order,
                                                        std::vector<std::string>* asked) const {
  return DecodeNftablesRule(family_, msg, len, [&](const std::string& set, uint32_t) -> const std::vector<RawElement>* {
    auto it = std::find(asked->begin(), asked->end(), set);
    size_t k = static_cast<size_t>(it - asked->begin());
    if (it == asked->end()) asked->push_back(set);
    return k < order.size() ? &sets_[order[k]] : nullptr;
  });
}

Result<std::optional<RuleSpec>> DeferredSetMatch::Resolve(const Message& msg, const SetElementReader& read_set) const {
  std::string table;
  return Match(msg.data(), msg.size(), read_set, &table);
}

Result<bool> DeferredSetMatch::Equals(const uint8_t* msg, size_t len, const SetElementReader& read_set, std::string* table) const {
  auto m = Match(msg, len, read_set, table);
  if (!m.ok()) return m.error();
  return m.value().has_value();
}

std::string DeferredSetMatch::ProbeKey(const std::string& table, const std::string& set, size_t wanted) {
  return table + '\0' + set + '\0' + std::to_string(wanted);
}

Result<DeferredSetMatch::Look> DeferredSetMatch::LookAt(const uint8_t* msg, size_t len) const {
  Look look;
  std::vector<size_t> order(std::min(sets_.size(), kMaxStandIns));
  std::iota(order.begin(), order.end(), 0);
  do {
    std::vector<std::string> asked;
    auto standing = DecodeWith(msg, len, order, &asked);
    if (!standing.ok()) return standing.error();
    look.table = standing.value().table;
    auto decided = [&](Look::Verdict v) {
      look.verdict = v;
      return std::move(look);
    };
    if (asked.empty()) {  // no set: this is the rule
      if (!xt::SameRule(family_, standing.value().rule, want_)) return decided(Look::Verdict::kDiffers);
      look.rule = std::move(standing.value().rule);
      return decided(Look::Verdict::kEqual);
    }
    if (opaque_ || sets_.size() > kMaxStandIns) return decided(Look::Verdict::kReadWhole);
    // Fewer sets than the wanted rule has: one of its lists of two or more has no set to come
    // from (a comparison reads as one port, range or day).
    if (asked.size() < sets_.size()) return decided(Look::Verdict::kDiffers);
    // More: a set of one element may stand where the wanted rule compares; read them all.
    if (asked.size() > sets_.size()) return decided(Look::Verdict::kReadWhole);
    // Its other parts equal: it does when its sets' elements mean what the wanted ones do.
    if (xt::SameRule(family_, standing.value().rule, want_)) look.candidates.push_back({order, std::move(asked), std::move(standing.value().rule)});
  } while (std::next_permutation(order.begin(), order.end()));
  look.verdict = look.candidates.empty() ? Look::Verdict::kDiffers : Look::Verdict::kSets;
  return look;
}

Result<Unit> DeferredSetMatch::LookAhead(const std::vector<const Message*>& msgs, const SetLacks& lacks) const {
  ahead_.clear();  // whatever an earlier window left (its caller found its rule before) is not asked for
  // Nothing to probe (no port set wanted): each rule is looked at when compared, as before.
  if (!lacks || std::all_of(required_.begin(), required_.end(), [](const Required& r) { return r.empty(); })) return Unit{};
  std::vector<SetProbe> probes;
  std::vector<std::string> probed;
  std::unordered_set<std::string> queued;
  for (const Message* m : msgs) {
    auto look = LookAt(m->data(), m->size());
    if (!look.ok()) return look.error();
    for (const auto& c : look.value().candidates)
      for (size_t k = 0; k < c.asked.size(); k++) {
        auto key = ProbeKey(look.value().table, c.asked[k], c.order[k]);
        if (required_[c.order[k]].empty() || lacking_.count(key) || !queued.insert(key).second) continue;
        probes.push_back(SetProbe{look.value().table, c.asked[k], required_[c.order[k]]});
        probed.push_back(std::move(key));
      }
    ahead_[m->data()] = look.take();
  }
  if (probes.empty()) return Unit{};
  auto lack = lacks(probes);
  if (!lack.ok()) return lack.error();
  for (size_t i = 0; i < probed.size(); i++)
    if (lack.value()[i]) lacking_.insert(probed[i]);
  return Unit{};
}

Result<std::optional<RuleSpec>> DeferredSetMatch::Match(const uint8_t* msg, size_t len, const SetElementReader& read_set, std::string* table) const {
  Look look;
  if (auto it = ahead_.find(msg); it != ahead_.end()) {
    look = std::move(it->second);
    ahead_.erase(it);
  } else {
    auto looked = LookAt(msg, len);
    if (!looked.ok()) return looked.error();
    look = looked.take();
  }
  *table = look.table;
  auto read = [&]() -> Result<std::optional<RuleSpec>> {
    auto r = read_(Message(msg, msg + len), read_set);
    if (!r.ok()) return r.error();
    if (!xt::SameRule(family_, r.value(), want_)) return std::optional<RuleSpec>{};
    return std::optional<RuleSpec>{r.take()};
  };
  switch (look.verdict) {
    case Look::Verdict::kDiffers: return std::optional<RuleSpec>{};
    case Look::Verdict::kEqual: return std::move(look.rule);
    case Look::Verdict::kReadWhole: return read();
    case Look::Verdict::kSets: break;
  }
  for (auto& c : look.candidates) {
    bool same = true;
    for (size_t k = 0; k < c.asked.size() && same; k++) {
      // A probe proved the set lacks an element every set meaning the wanted one's holds.
      if (lacking_.count(ProbeKey(look.table, c.asked[k], c.order[k]))) {
        same = false;
        break;
      }
      auto msgs = read_set(look.table, c.asked[k]);
      if (!msgs.ok()) {
        if (msgs.error().errnum == ENOENT) return std::optional<RuleSpec>{};  // gone meanwhile: the caller's generation check tells
        return msgs.error();
      }
      std::vector<RawElement> elements;
      for (const auto& e : msgs.value()) {
        std::string name;
        uint32_t id = 0;
        if (!ReadElementMessage(e.data(), e.size(), &name, &id, &elements).ok()) return read();
      }
      same = SameMeaning(elements, sets_[c.order[k]]);
    }
    if (same) return std::optional<RuleSpec>{std::move(c.rule)};
  }
  return std::optional<RuleSpec>{};
}

}  // namespace connlimit::core::nft::nftables
