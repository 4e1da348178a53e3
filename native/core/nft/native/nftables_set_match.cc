// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/native/nftables_set_match.h"

#include <libnftnl/expr.h>
#include <linux/netfilter/nf_tables.h>

#include <cstring>

#include "core/nft/expr_writer.h"

namespace connlimit::core::nft::nftables {
namespace {

// struct xt_set_info_match_v4 (linux/netfilter/xt_set.h), XT_ALIGNed to 48, as
// src/rule/modules/set.ts lays it out: match_set { index u16 0, dim 2, flags 3 }, packets
// { value u64 8, op 16 }, bytes { value u64 24, op 32 }, flags u32 40.
constexpr size_t kInfoSize = 48;
constexpr size_t kDim = 2, kFlags = 3, kPacketsOp = 16, kBytesOp = 32, kOptions = 40;
constexpr uint8_t kInvMatch = 1 << 0;  // IPSET_INV_MATCH
constexpr uint8_t kDimOneSrc = 1 << 1;  // IPSET_DIM_ONE_SRC
constexpr uint16_t kNoIndex = 0xffff;  // IPSET_INVALID_ID
constexpr uint8_t kRevision = 4;

}  // namespace

std::optional<SetLookup> SetLookupOf(const OpaqueExtension& x) {
  if (x.name != "set" || x.revision != kRevision || x.data.size() != kInfoSize || x.sets.size() != 1) return std::nullopt;
  const uint8_t* d = x.data.data();
  uint32_t options;
  std::memcpy(&options, d + kOptions, 4);
  if (d[kDim] != 1 || (d[kFlags] & ~(kInvMatch | kDimOneSrc)) || d[kPacketsOp] || d[kBytesOp] || options) return std::nullopt;
  return SetLookup{x.sets[0], (d[kFlags] & kDimOneSrc) != 0, (d[kFlags] & kInvMatch) != 0};
}

void AddSetLookup(struct nftnl_rule* r, Family family, const SetLookup& l) {
  AddPayload(r, NFT_PAYLOAD_NETWORK_HEADER, l.src ? SaddrOffset(family) : DaddrOffset(family), AddressBytes(family));
  struct nftnl_expr* e = nftnl_expr_alloc("lookup");
  nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
  nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, l.set.c_str());
  if (l.invert) nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
  nftnl_rule_add_expr(r, e);
}

std::optional<OpaqueExtension> ReadSetLookup(Family family, uint32_t offset, uint32_t len, const Expr& lookup) {
  if (lookup.name != "lookup" || !lookup.a[NFTA_LOOKUP_SET] || lookup.a[NFTA_LOOKUP_DREG]) return std::nullopt;
  if (len != static_cast<uint32_t>(AddressBytes(family)) || (offset != SaddrOffset(family) && offset != DaddrOffset(family))) return std::nullopt;
  uint32_t flags = Be32(lookup.a[NFTA_LOOKUP_FLAGS]);
  if (flags & ~static_cast<uint32_t>(NFT_LOOKUP_F_INV)) return std::nullopt;
  OpaqueExtension x;
  x.name = "set";
  x.revision = kRevision;
  x.data.assign(kInfoSize, 0);
  std::memcpy(x.data.data(), &kNoIndex, 2);
  x.data[kDim] = 1;
  x.data[kFlags] = static_cast<uint8_t>((offset == SaddrOffset(family) ? kDimOneSrc : 0) | ((flags & NFT_LOOKUP_F_INV) ? kInvMatch : 0));
  x.sets = {Str(lookup.a[NFTA_LOOKUP_SET])};
  return x;
}

}  // namespace connlimit::core::nft::nftables
