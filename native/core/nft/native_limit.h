// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: `-m limit` (struct xt_rateinfo, revision 0) as iptables-nft 1.8.9 writes it: one native
// `limit` expression, `[ limit rate R/unit burst B type packets flags 0x0 ]` (nft.c
// add_nft_limit), read back as nft-shared.c nft_parse_limit does. A row of compat/native_xt.cc, and
// of native/xlate.cc: nft sends the same expression for the text iptables-translate 1.8.9 renders
// (`limit rate R/unit burst B packets`), so both forms share it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/nft/expr_reader.h"
#include "core/result.h"
#include "core/rule_spec.h"

struct nftnl_rule;

namespace connlimit::core::nft {

// The limit expression for an xt_rateinfo blob; EncodeError for a blob too short or a zero rate.
Result<Unit> EncodeNativeLimit(struct nftnl_rule* r, const std::vector<uint8_t>& blob);

// 1 when ex[i] is a packet limit without flags, its xt_rateinfo blob in `*blob`; else 0 (other
// limits, e.g. `limit rate over` or bytes, are no -m limit and stay opaque expressions).
size_t ReadNativeLimit(const std::vector<Expr>& ex, size_t i, OpaqueExtension* blob);

}  // namespace connlimit::core::nft
