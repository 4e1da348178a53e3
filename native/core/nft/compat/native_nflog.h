// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: `-j NFLOG` (struct xt_nflog_info, revision 0) as iptables-nft 1.8.9 writes it: one native
// `log` expression, `[ log prefix P group G snaplen S qthreshold Q ]` (nft.c add_log: the prefix
// when not empty, the group always, the snaplen only with --nflog-size, the threshold when not
// 0), read back as nft-shared.c nft_parse_log does. A target row of native_xt.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/nft/expr_reader.h"
#include "core/result.h"
#include "core/rule_spec.h"

struct nftnl_rule;

namespace connlimit::core::nft {

// The log expression for an xt_nflog_info blob; EncodeError for a blob of another size, a prefix
// without its NUL, or an --nflog-range (a length without XT_NFLOG_F_COPY_LEN), which
// iptables-nft would drop.
Result<Unit> EncodeNativeNflog(struct nftnl_rule* r, const std::vector<uint8_t>& blob);

// 1 when ex[i] is a log expression with a group (what iptables-nft reads as NFLOG) and no level
// or flags, its blob in `*blob`; else 0 (a prefix longer than the struct's stays opaque).
size_t ReadNativeNflog(const std::vector<Expr>& ex, size_t i, OpaqueExtension* blob);

}  // namespace connlimit::core::nft
