// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/native_limit.h"

#include <libnftnl/expr.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_limit.h>

#include <cstring>

#include "core/nft/expr_writer.h"

namespace connlimit::core::nft {
namespace {

// The blob as the CLI lays it out: avg and burst in host order, the kernel's state zero.
constexpr size_t kBlobSize = XT_ALIGN(sizeof(struct xt_rateinfo));

// Seconds × XT_LIMIT_SCALE per unit, largest first, as add_nft_limit() walks them.
constexpr uint32_t kMult[] = {
    XT_LIMIT_SCALE * 24 * 60 * 60,  // day
    XT_LIMIT_SCALE * 60 * 60,       // hour
    XT_LIMIT_SCALE * 60,            // minute
    XT_LIMIT_SCALE,                 // second
};

}  // namespace

Result<Unit> EncodeNativeLimit(struct nftnl_rule* r, const std::vector<uint8_t>& blob) {
  struct xt_rateinfo info {};
  if (blob.size() != kBlobSize) return EncodeError("a limit match of " + std::to_string(blob.size()) + " bytes");
  memcpy(&info, blob.data(), sizeof info);
  if (info.avg == 0) return EncodeError("a limit match with a zero period");
  // add_nft_limit(): the largest unit in which the rate is still exact enough.
  size_t i = 1;
  for (; i < sizeof kMult / sizeof kMult[0]; i++)
    if (info.avg > kMult[i] || kMult[i] / info.avg < kMult[i] % info.avg) break;
  auto* e = AddExpr(r, "limit");
  nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
  nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_FLAGS, 0);
  nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_RATE, kMult[i - 1] / info.avg);
  nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_UNIT, kMult[i - 1] / XT_LIMIT_SCALE);
  nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_BURST, info.burst);
  return Unit{};
}

size_t ReadNativeLimit(const std::vector<Expr>& ex, size_t i, OpaqueExtension* blob) {
  const Expr& e = ex[i];
  if (e.name != "limit" || Be32(e.a[NFTA_LIMIT_TYPE]) != NFT_LIMIT_PKTS || Be32(e.a[NFTA_LIMIT_FLAGS]) != 0) return 0;
  uint64_t rate = Be64(e.a[NFTA_LIMIT_RATE]), unit = Be64(e.a[NFTA_LIMIT_UNIT]);
  if (rate == 0) return 0;
  // nft_parse_limit(): avg = XT_LIMIT_SCALE * unit / rate, cut to the struct's 32 bits.
  uint64_t avg = XT_LIMIT_SCALE * unit / rate;
  if (avg == 0 || avg > UINT32_MAX) return 0;
  struct xt_rateinfo info {};
  info.avg = static_cast<uint32_t>(avg);
  info.burst = Be32(e.a[NFTA_LIMIT_BURST]);
  blob->data.assign(kBlobSize, 0);
  memcpy(blob->data.data(), &info, sizeof info);
  return 1;
}

}  // namespace connlimit::core::nft
