// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: `-m mark` (struct xt_mark_mtinfo1, revision 1) as iptables-nft 1.8.9 writes it: the
// sequence `[ meta load mark => reg 1 ]`, `[ bitwise reg 1 = (reg=1 & MASK) ^ 0x0 ]` only when
// the mask is not 0xffffffff, `[ cmp eq/neq reg 1 MARK ]` (nft.c add_nft_mark), read back as
// nft-shared.c parse_meta_mark rebuilds the struct (the expressions: core/nft/mark_exprs.h, shared
// with the native form). A row of native_xt.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/nft/expr_reader.h"
#include "core/result.h"
#include "core/rule_spec.h"

struct nftnl_rule;

namespace connlimit::core::nft {

// The mark expressions for an xt_mark_mtinfo1 blob; EncodeError for a blob of another size or
// an invert other than 0 or 1.
Result<Unit> EncodeNativeMark(struct nftnl_rule* r, const std::vector<uint8_t>& blob);

// 2 or 3 when ex[i] starts a mark comparison (load, optional mask, eq/neq), its blob in `*blob`;
// else 0 (other uses of the mark, e.g. a masked value with a non-zero xor, stay opaque expressions).
size_t ReadNativeMark(const std::vector<Expr>& ex, size_t i, OpaqueExtension* blob);

}  // namespace connlimit::core::nft
