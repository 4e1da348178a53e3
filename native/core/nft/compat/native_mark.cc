// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/compat/native_mark.h"

#include <libnftnl/expr.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_mark.h>

#include <cstring>
#include <string>

#include "core/nft/expr_writer.h"
#include "core/nft/mark_exprs.h"

namespace connlimit::core::nft {
namespace {

// mark, mask (host order, as the meta register holds the mark), invert, 3 bytes of padding.
constexpr size_t kBlobSize = XT_ALIGN(sizeof(struct xt_mark_mtinfo1));

}  // namespace

Result<Unit> EncodeNativeMark(struct nftnl_rule* r, const std::vector<uint8_t>& blob) {
  struct xt_mark_mtinfo1 info {};
  if (blob.size() != kBlobSize) return EncodeError("a mark match of " + std::to_string(blob.size()) + " bytes");
  memcpy(&info, blob.data(), sizeof info);
  if (info.invert > 1) return EncodeError("a mark match with invert " + std::to_string(info.invert));
  AddMarkExprs(r, info, false);
  return Unit{};
}

size_t ReadNativeMark(const std::vector<Expr>& ex, size_t i, OpaqueExtension* blob) {
  struct xt_mark_mtinfo1 info {};
  size_t n = ReadMarkExprs(ex, i, &info);
  if (n == 0) return 0;
  blob->data.assign(kBlobSize, 0);
  memcpy(blob->data.data(), &info, sizeof info);
  return n;
}

}  // namespace connlimit::core::nft
