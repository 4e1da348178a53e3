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

#include "core/nft/native/nftables_anonymous_set.h"
#include "core/nft/native/nftables_codec.h"
#include "core/nft/native/nftables_multiport.h"
#include "core/nft/native/xlate_modules.h"
#include "core/xt/same_rule.h"

namespace connlimit::core::nft::nftables {
namespace {

// Every order of up to this many wanted sets is tried (3! = 6 decodes); a rule with more is read.
constexpr size_t kMaxStandIns = 3;

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
      auto r = ReadElementMessage(want_batch.data() + at, nlh->nlmsg_len, &set, &id, &by_id[id]);
      if (!r.ok()) return r.error();
    }
    at += MNL_ALIGN(nlh->nlmsg_len);
  }
  for (auto& [id, elements] : by_id) m->sets_.push_back(std::move(elements));
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

Result<std::optional<RuleSpec>> DeferredSetMatch::Match(const uint8_t* msg, size_t len, const SetElementReader& read_set, std::string* table) const {
  auto read = [&]() -> Result<std::optional<RuleSpec>> {
    auto r = read_(Message(msg, msg + len), read_set);
    if (!r.ok()) return r.error();
    if (!xt::SameRule(family_, r.value(), want_)) return std::optional<RuleSpec>{};
    return std::optional<RuleSpec>{r.take()};
  };
  std::vector<size_t> order(std::min(sets_.size(), kMaxStandIns));
  std::iota(order.begin(), order.end(), 0);
  do {
    std::vector<std::string> asked;
    auto standing = DecodeWith(msg, len, order, &asked);
    if (!standing.ok()) return standing.error();
    *table = standing.value().table;
    if (asked.empty()) {  // no set: this is the rule
      if (!xt::SameRule(family_, standing.value().rule, want_)) return std::optional<RuleSpec>{};
      return std::optional<RuleSpec>{std::move(standing.value().rule)};
    }
    if (opaque_ || sets_.size() > kMaxStandIns) return read();
    // Fewer sets than the wanted rule has: one of its lists of two or more has no set to come
    // from (a comparison reads as one port, range or day).
    if (asked.size() < sets_.size()) return std::optional<RuleSpec>{};
    // More: a set of one element may stand where the wanted rule compares; read them all.
    if (asked.size() > sets_.size()) return read();
    if (!xt::SameRule(family_, standing.value().rule, want_)) continue;
    // Its other parts equal: it does when its sets' elements mean what the wanted ones do.
    bool same = true;
    for (size_t k = 0; k < asked.size() && same; k++) {
      auto msgs = read_set(*table, asked[k]);
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
      same = SameMeaning(elements, sets_[order[k]]);
    }
    if (same) return std::optional<RuleSpec>{std::move(standing.value().rule)};
  } while (std::next_permutation(order.begin(), order.end()));
  return std::optional<RuleSpec>{};
}

}  // namespace connlimit::core::nft::nftables
