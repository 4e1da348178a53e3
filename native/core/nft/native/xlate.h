// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: the compat modules (src/rule/modules/, travelling as their xt blob: an OpaqueExtension
// with the kernel's name and revision) that `iptables-translate` 1.8.9 translates, written on
// the native form as nft 1.0.6 sends the translated text, and read back into the same blob, so
// listings, equality and rendering above see one rule on every backend. One row per module in
// xlate.cc; the expressions of each in xlate_*.cc. A module without a row is refused (first by
// src/rule/nftables-form.ts, with the reason).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "core/nft/expr_reader.h"
#include "core/nft/native/nftables_anonymous_set.h"
#include "core/result.h"
#include "core/rule_spec.h"

struct nftnl_rule;

namespace connlimit::core::nft {

// What a translation needs of the rule it is written into.
struct XlateRule {
  struct nftnl_rule* r;
  Family family;
  // nft's implicit `meta l4proto P` before the first transport header load, unless the rule
  // has already said its protocol (`ip protocol P`, `meta l4proto P` or an earlier load).
  std::function<void()> transport_dependency;
  // A `lookup` of a new anonymous set (`meta day { 6, 0 }`) appended to the rule, the set built
  // into the rule's batch before it; EncodeError past the sets a rule may have.
  std::function<Result<Unit>(nftables::AnonymousSetBuilder build, bool invert)> lookup;
  // A set of the rule's own that its expressions name (a hashlimit meter), built into the rule's
  // batch before it: its set id; EncodeError past the sets a rule may have.
  std::function<Result<uint32_t>(nftables::AnonymousSetBuilder build)> batch_set;
};

// The expressions for `o` appended to the rule, when a row translates its module; nullopt when
// none does (the caller refuses the match). EncodeError for a blob the translation cannot say.
std::optional<Result<Unit>> AddXlateMatch(const XlateRule& w, const OpaqueExtension& o);

// Whether iptables-translate leaves the rule's `ip protocol P` out for this match, because the
// match's own expression makes nft add the protocol test (`-p icmp -m icmp` is `icmp type ...`).
bool XlateNamesProtocol(const Match& m);

// How many expressions from ex[i] are a translated module (0: none), its blob appended to
// `rule`'s matches. `rule` so far tells the protocol (icmp type needs `-p icmp`); `sets` gives
// the elements of the anonymous sets its lookups name.
size_t ReadXlateMatch(const std::vector<Expr>& ex, size_t i, Family family, RuleSpec* rule, const AnonymousSetElements& sets);

}  // namespace connlimit::core::nft
