// SPDX-License-Identifier: GPL-2.0-or-later
// Pure, internal to the xlate_*.cc files: the expression shapes nft 1.0.6 sends for the
// translations (a value, a range, a set of flags) and their readers.
#pragma once

#include <linux/netfilter/x_tables.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/nft/expr_reader.h"
#include "core/result.h"

struct nftnl_rule;

namespace connlimit::core::nft::xlate {

// `X V` / `X != V` (cmp eq/neq) when lo == hi, else `X lo-hi` (cmp gte, cmp lte) or
// `X != lo-hi` (range neq): lo and hi are `len` bytes in the register's byte order. `range`:
// the text is a range even when lo == hi (iprange's `ip saddr A-A`), which nft sends as one.
void AddCompare(struct nftnl_rule* r, bool invert, const void* lo, const void* hi, uint32_t len, bool range = false);

// Reads what AddCompare writes at ex[j]: how many expressions (0: not that shape); `*lo`, `*hi`
// of `len` bytes. A cmp eq/neq reads as lo == hi.
size_t ReadCompare(const std::vector<Expr>& ex, size_t j, uint32_t len, bool* invert, std::vector<uint8_t>* lo,
                   std::vector<uint8_t>* hi);

// `ct KEY` ([ ct load KEY => reg 1 ], no direction; `dir` >= 0: `ct original|reply KEY`) and
// `meta KEY` loads.
void AddCtLoad(struct nftnl_rule* r, uint32_t key, int dir = -1);
// A ct load's key and direction (-1: none); false for any other expression.
bool ReadCtLoad(const Expr& e, uint32_t* key, int* dir);

// `ct state new,related` / `ct state ! new,related`: the flags under a mask (bitwise without an
// operation, as nft's flag comparison sends it), then cmp neq 0 (eq 0 for `!`).
void AddFlags(struct nftnl_rule* r, uint32_t mask, bool invert);
// Reads AddFlags's two expressions at ex[j]: 2, or 0.
size_t ReadFlags(const std::vector<Expr>& ex, size_t j, uint32_t* mask, bool* invert);

// A host-order 32-bit register (meta length, ct expiration) compared with `N` (cmp eq/neq in host
// order) or `N-M` (nft turns the register to network order first: [ byteorder reg 1 =
// hton(reg 1, 4, 4) ], then AddCompare's range).
void AddHostCompare(struct nftnl_rule* r, uint32_t lo, uint32_t hi, bool invert);
// Reads AddHostCompare's expressions at ex[j] (the bounds in host order): how many, or 0.
size_t ReadHostCompare(const std::vector<Expr>& ex, size_t j, uint32_t* lo, uint32_t* hi, bool* invert);

// The uapi struct `T` of an xt blob (XT_ALIGNed), and back.
template <typename T>
bool FromBlob(const std::vector<uint8_t>& blob, T* info) {
  if (blob.size() != XT_ALIGN(sizeof(T))) return false;
  memcpy(info, blob.data(), sizeof *info);
  return true;
}
template <typename T>
void ToBlob(const T& info, std::vector<uint8_t>* blob) {
  blob->assign(XT_ALIGN(sizeof(T)), 0);
  memcpy(blob->data(), &info, sizeof info);
}

}  // namespace connlimit::core::nft::xlate
