// SPDX-License-Identifier: GPL-2.0-or-later
// The connlimit match, revision 1: the only one the kernel registers (v6.x, NETFILTER-NOTES.md §1.5).
// <linux/netfilter/xt_connlimit.h>:
//   struct xt_connlimit_info {
//     union {
//       union nf_inet_addr mask;
//       union { __be32 v4_mask; __be32 v6_mask[4]; };
//     };
//     unsigned int limit;
//     __u32 flags;  /* XT_CONNLIMIT_INVERT (--connlimit-upto), XT_CONNLIMIT_DADDR */
//     /* Used internally by the kernel */
//     struct nf_conncount_data *data __attribute__((aligned(8)));
//   };
#include <linux/netfilter/xt_connlimit.h>

#include <algorithm>

#include "core/xt/modules.h"

namespace connlimit::core::xt {
namespace {

// XTTYPE_PLENMASK (libxtables/xtoptions.c): the prefix in v6_mask[], the rest zero.
void PrefixMask(int bits, uint8_t out[16]) {
  memset(out, 0, 16);
  for (int i = 0; i < 16 && bits > 0; i++, bits -= 8) out[i] = bits >= 8 ? 0xFF : static_cast<uint8_t>(0xFF << (8 - bits));
}

// Mask bytes (4 or 16) -> prefix length, or -1 when they are not a prefix mask.
int PrefixLength(const uint8_t* mask, int bytes) {
  int bits = 0;
  int i = 0;
  for (; i < bytes && mask[i] == 0xFF; i++) bits += 8;
  if (i < bytes) {
    uint8_t b = mask[i];
    while (b & 0x80) {
      bits++;
      b = static_cast<uint8_t>(b << 1);
    }
    if (b != 0) return -1;
    for (i++; i < bytes; i++)
      if (mask[i] != 0) return -1;
  }
  return bits;
}

int FamilyWidth(Family family) { return family == Family::kIpv4 ? 32 : 128; }

Result<Bytes> Encode(Family family, const Match& m) {
  const auto& cl = std::get<ConnlimitMatch>(m);
  struct xt_connlimit_info info {};
  if (cl.mask_bits > FamilyWidth(family)) return EncodeError("connlimit mask wider than the family");
  // connlimit_init() fills all 16 bytes with 0xFF; an explicit --connlimit-mask replaces them.
  if (cl.mask_bits < 0)
    memset(&info.mask, 0xFF, sizeof info.mask);
  else
    PrefixMask(cl.mask_bits, reinterpret_cast<uint8_t*>(&info.mask));
  info.limit = cl.limit;
  info.flags = (cl.invert ? XT_CONNLIMIT_INVERT : 0) | (cl.daddr ? XT_CONNLIMIT_DADDR : 0);
  return StructBytes(info);
}

std::optional<Match> Decode(Family family, const uint8_t* data, size_t len) {
  struct xt_connlimit_info info;
  if (!ReadStruct(data, len, &info) || (info.flags & ~(XT_CONNLIMIT_INVERT | XT_CONNLIMIT_DADDR)) != 0) return std::nullopt;
  const auto* mask = reinterpret_cast<const uint8_t*>(&info.mask);
  int bits = -2;
  if (std::all_of(mask, mask + 16, [](uint8_t b) { return b == 0xFF; })) {
    bits = -1;  // the CLI's default spelling
  } else if (family == Family::kIpv4) {
    if (std::all_of(mask + 4, mask + 16, [](uint8_t b) { return b == 0; })) bits = PrefixLength(mask, 4);
  } else {
    bits = PrefixLength(mask, 16);
  }
  if (bits < -1) return std::nullopt;
  ConnlimitMatch c;
  c.limit = info.limit;
  c.invert = info.flags & XT_CONNLIMIT_INVERT;
  c.daddr = info.flags & XT_CONNLIMIT_DADDR;
  c.mask_bits = bits;
  return c;
}

// The default mask (all 0xFF) means a full-width prefix; the kernel uses only the first 4 bytes
// for IPv4, so "no mask" and "/32" count exactly the same (NETFILTER-NOTES.md §1.4).
bool Same(Family family, const Match& a, const Match& b) {
  const auto& x = std::get<ConnlimitMatch>(a);
  const auto& y = std::get<ConnlimitMatch>(b);
  int width = FamilyWidth(family);
  int xb = x.mask_bits < 0 ? width : x.mask_bits;
  int yb = y.mask_bits < 0 ? width : y.mask_bits;
  return x.limit == y.limit && x.invert == y.invert && x.daddr == y.daddr && xb == yb;
}

}  // namespace

const MatchCodec kConnlimitMatch{MatchModel<ConnlimitMatch>(), Encode, Decode, Same};

}  // namespace connlimit::core::xt
