// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: the xt extensions iptables-nft 1.8.9 writes as native nf_tables expressions rather than
// as a compat `match` (iptables/nft.c add_match: limit, mark; add_action: NFLOG). Such a module
// still travels from TypeScript as the xt blob legacy writes (an OpaqueExtension with the
// kernel's name and revision), so the transport stays generic: here the blob becomes the
// expressions the CLI writes, and those expressions read back become the same blob, so every
// layer above sees one rule on both backends. One row per module in native_xt.cc.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "core/nft/expr_reader.h"
#include "core/result.h"
#include "core/rule_spec.h"

struct nftnl_rule;

namespace connlimit::core::nft {

// The native expressions for `m` appended to the rule, when `m` is the blob of a module that
// has a native form; nullopt otherwise (the caller writes the compat match).
std::optional<Result<Unit>> AddNativeXtMatch(struct nftnl_rule* r, Family family, const Match& m);

// How many expressions from ex[i] are a module's native form (0: none), its blob appended to
// `rule`'s matches as iptables-nft's parser (nft-shared.c) rebuilds it.
size_t ReadNativeXtMatch(const std::vector<Expr>& ex, size_t i, Family family, RuleSpec* rule);

// The same for a target (NFLOG): its native expression appended when `t` is such a blob.
std::optional<Result<Unit>> AddNativeXtTarget(struct nftnl_rule* r, Family family, const Target& t);

// How many expressions from ex[i] are a target's native form (0: none), set as `rule`'s target.
size_t ReadNativeXtTarget(const std::vector<Expr>& ex, size_t i, Family family, RuleSpec* rule);

}  // namespace connlimit::core::nft
