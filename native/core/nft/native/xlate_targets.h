// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: the targets that act on a packet and let it go on (LOG, NFLOG, MARK, CONNMARK, TCPMSS), written
// on the native form as nft 1.0.6 sends the statement iptables-translate 1.8.9 renders in place
// of a verdict (`counter log ...`, `counter meta mark set ...`), and read back into the same xt
// blob. In a table of our own they mean what they mean in the iptables table: the statement runs
// on the hook and the packet goes on to the next rule (docs/nft.md). One row per target in
// xlate_targets.cc; src/rule/modules/*.ts `nftables` says first which forms have no translation.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "core/nft/expr_reader.h"
#include "core/result.h"
#include "core/rule_spec.h"

struct nftnl_rule;

namespace connlimit::core::nft {

// The statement for an opaque (xt) target, when a row translates it; nullopt when none does
// (the caller refuses the rule). EncodeError for a blob the translation cannot say.
std::optional<Result<Unit>> AddXlateTarget(struct nftnl_rule* r, const Target& t);

// How many expressions from ex[i] are a translated target (0: none), its blob in `*t`.
size_t ReadXlateTarget(const std::vector<Expr>& ex, size_t i, Target* t);

}  // namespace connlimit::core::nft
