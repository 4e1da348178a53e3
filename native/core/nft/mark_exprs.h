// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: `-m mark` (struct xt_mark_mtinfo1) as nf_tables expressions, the one shape both forms
// write: `[ meta load mark => reg 1 ]`, `[ bitwise reg 1 = (reg=1 & MASK) ^ 0x0 ]` only when the
// mask is not 0xffffffff, `[ cmp eq/neq reg 1 MARK ]`. iptables-nft 1.8.9 (nft.c add_nft_mark)
// and nft's `meta mark and M == V` differ only in whether the bitwise carries its operation.
#pragma once

#include <linux/netfilter/xt_mark.h>

#include <cstddef>
#include <vector>

#include "core/nft/expr_reader.h"

struct nftnl_rule;

namespace connlimit::core::nft {

// Writes the comparison; `bitwise_op`: the bitwise carries NFTA_BITWISE_OP (nft does, iptables-nft
// 1.8.9 does not).
void AddMarkExprs(struct nftnl_rule* r, const struct xt_mark_mtinfo1& info, bool bitwise_op);

// 2 or 3 when ex[i] starts a mark comparison (load, optional mask with a zero xor, eq/neq), the
// struct it stands for in `*info`; else 0 (other uses of the mark stay unmodelled).
size_t ReadMarkExprs(const std::vector<Expr>& ex, size_t i, struct xt_mark_mtinfo1* info);

}  // namespace connlimit::core::nft
