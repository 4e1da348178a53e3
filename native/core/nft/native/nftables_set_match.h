// SPDX-License-Identifier: GPL-2.0-or-later
// Pure, internal to nftables_encoder.cc and nftables_decoder.cc: `-m set --match-set NAME
// src|dst` (with `!`) on the native nftables form, as `ip saddr @NAME` / `ip daddr != @NAME`
// (ip6 for IPv6): a payload load of the address and a `lookup` of the named set in the rule's
// own table (client sets live in the first table, `connlimit`: core/nft/native/nftables_set_socket.h).
// The rule language carries `-m set` as libxt_set's revision-4 blob (src/rule/modules/set.ts)
// with the set's name beside it; the blob's index is unused here. Only one dimension and no
// counter or option flags: the rest stays refused (src/rule/nftables-form.ts says why first).
#pragma once

#include <libnftnl/rule.h>

#include <optional>
#include <string>

#include "core/nft/expr_reader.h"
#include "core/rule_spec.h"

namespace connlimit::core::nft::nftables {

struct SetLookup {
  std::string set;
  bool src = true;
  bool invert = false;
};

// What an opaque `set` match says, nullopt when the native form cannot say it.
std::optional<SetLookup> SetLookupOf(const OpaqueExtension& x);
// `ip saddr @NAME`: payload load of the address into register 1, lookup (NFT_LOOKUP_F_INV for `!=`).
void AddSetLookup(struct nftnl_rule* r, Family family, const SetLookup& l);
// A payload load of the source or destination address followed by `lookup` at ex[i]: the
// `set` match it reads back as (the blob as libxt_set writes it, the set's name beside it),
// nullopt when the lookup is something else.
std::optional<OpaqueExtension> ReadSetLookup(Family family, uint32_t offset, uint32_t len, const Expr& lookup);

}  // namespace connlimit::core::nft::nftables
