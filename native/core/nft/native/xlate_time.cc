// SPDX-License-Identifier: GPL-2.0-or-later
// `-m time` (struct xt_time_info) as 1.8.9's time_xlate renders it, in its order:
// - `meta time "D1"-"D2"` when a date bound is set: nanoseconds since the epoch, a u64 in host
//   order that nft turns to network order ([ byteorder reg 1 = hton(reg 1, 8, 8) ]) before
//   cmp gte / cmp lte;
// - `meta hour "T1"-"T2"` when a time of day is set: seconds into the UTC day, turned the same way
//   (hton 4, 4), then cmp gte / cmp lte, or, for a window past midnight (T1 later than T2),
//   `range neq T2 T1`, the form nft gives it (`meta hour != "T2"-"T1"`);
// - `meta day D` for one weekday (0 Sunday .. 6 Saturday; xt counts Monday 1 .. Sunday 7);
//   several are `meta day { 1, 6, 0 }`, a lookup of an anonymous set of key type `day` (1 byte,
//   host order, no interval), its elements in xt's order, Monday first and Sunday last, as
//   time_xlate prints them and nft sends them. `! --weekdays` is the complement's set: the blob
//   holds the days that match, so the translation never writes `!=`.
// Days of the month, --kerneltz and --contiguous are refused before this by
// src/rule/modules/time.ts, with the reason.
#include <endian.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/xt_time.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <memory>

#include "core/nft/expr_writer.h"
#include "core/nft/nfproto.h"
#include "core/nft/native/nftables_anonymous_set.h"
#include "core/nft/native/nftables_layout.h"
#include "core/nft/native/xlate_exprs.h"
#include "core/nft/native/xlate_modules.h"

namespace connlimit::core::nft::xlate {
namespace {

constexpr uint64_t kNsPerSecond = 1000000000ULL;
constexpr int kDaysPerWeek = 7;

// [ byteorder reg 1 = hton(reg 1, len, len) ]
void AddHton(struct nftnl_rule* r, uint32_t len) {
  auto* e = AddExpr(r, "byteorder");
  nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SREG, kReg);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_DREG, kReg);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_LEN, len);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SIZE, len);
}

bool IsHton(const Expr* e, uint32_t len) {
  return e && e->name == "byteorder" && Be32(e->a[NFTA_BYTEORDER_OP]) == NFT_BYTEORDER_HTON && Be32(e->a[NFTA_BYTEORDER_LEN]) == len &&
         Be32(e->a[NFTA_BYTEORDER_SIZE]) == len;
}

// nft's datatype id of `day` (src/datatype.h TYPE_DAY), and the key's `typeof`
// (AnonymousSetKey): EXPR_META, then the meta key.
constexpr uint32_t kTypeDay = 45;
constexpr uint32_t kExprMeta = 9;
constexpr uint8_t kMetaKey = 0;

using SetPtr = std::unique_ptr<struct nftnl_set, void (*)(const struct nftnl_set*)>;

// The weekdays of a mask (xt bit 1 Monday .. 7 Sunday) as nft's days (0 Sunday), Monday first.
std::vector<uint8_t> Days(uint8_t weekdays) {
  std::vector<uint8_t> out;
  for (int d = 1; d <= kDaysPerWeek; d++)
    if (weekdays & (1U << d)) out.push_back(static_cast<uint8_t>(d % kDaysPerWeek));
  return out;
}

// NEWSET + NEWSETELEM of `meta day { ... }`'s anonymous set, as nft 1.0.6 sends them.
Message EncodeDaySet(Family family, const std::string& table, const std::vector<uint8_t>& days, uint32_t id, uint32_t seq) {
  SetPtr elems(nftnl_set_alloc(), nftnl_set_free);
  nftnl_set_set_u32(elems.get(), NFTNL_SET_FAMILY, NfProto(family));
  for (uint8_t d : days) {
    struct nftnl_set_elem* el = nftnl_set_elem_alloc();
    nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, &d, sizeof d);
    nftnl_set_elem_add(elems.get(), el);
  }
  nftables::AnonymousSetKey key;
  key.type = kTypeDay;
  key.len = 1;
  key.byteorder = nftables::kByteorderHostEndian;
  key.typeof_expr = kExprMeta;
  key.typeof_data = [](struct nftnl_udata_buf* ud) { nftnl_udata_put_u32(ud, kMetaKey, NFT_META_TIME_DAY); };
  return nftables::EncodeAnonymousSet(family, table, key, elems.get(), static_cast<uint32_t>(days.size()), id, seq);
}


// `meta KEY` (after the load at ex[i]), byteorder, compare: the bounds, in host order. A range
// neq is a window the other way round (hour only). How many expressions, or 0.
size_t ReadBounds(const std::vector<Expr>& ex, size_t i, uint32_t key, uint32_t len, uint64_t* lo, uint64_t* hi, bool* wraps) {
  if (!IsMetaLoad(ex[i], key) || i + 1 >= ex.size() || !IsHton(&ex[i + 1], len)) return 0;
  bool invert = false;
  std::vector<uint8_t> from, to;
  size_t n = ReadCompare(ex, i + 2, len, &invert, &from, &to);
  // A cmp eq/neq is not what nft sends for a range, even of equal bounds.
  if (n == 0 || (n == 1 && ex[i + 2].name != "range")) return 0;
  uint64_t a = 0, b = 0;
  for (uint32_t k = 0; k < len; k++) {
    a = (a << 8) | from[k];
    b = (b << 8) | to[k];
  }
  if (invert && a >= b) return 0;
  *wraps = invert;
  *lo = a;
  *hi = b;
  return 2 + n;
}

}  // namespace

Result<Unit> EncodeTime(const XlateRule& w, const Blob& blob) {
  struct xt_time_info info {};
  if (!FromBlob(blob, &info) || info.flags || info.monthdays_match != XT_TIME_ALL_MONTHDAYS || info.daytime_start > XT_TIME_MAX_DAYTIME ||
      info.daytime_stop > XT_TIME_MAX_DAYTIME || (info.weekdays_match & 1))
    return EncodeError("a time match the native nftables form cannot say (days of the month, --kerneltz, --contiguous)");
  bool dates = info.date_start != 0 || info.date_stop != INT_MAX;
  bool hours = info.daytime_start != XT_TIME_MIN_DAYTIME || info.daytime_stop != XT_TIME_MAX_DAYTIME;
  bool days = info.weekdays_match != XT_TIME_ALL_WEEKDAYS;
  if (!dates && !hours && !days) return EncodeError("a time match that says nothing");
  if (dates) {
    AddMeta(w.r, NFT_META_TIME_NS);
    AddHton(w.r, 8);
    uint64_t lo = htobe64(info.date_start * kNsPerSecond), hi = htobe64(info.date_stop * kNsPerSecond);
    AddCompare(w.r, false, &lo, &hi, sizeof lo, true);
  }
  if (hours) {
    AddMeta(w.r, NFT_META_TIME_HOUR);
    AddHton(w.r, 4);
    uint32_t start = htobe32(info.daytime_start), stop = htobe32(info.daytime_stop);
    if (info.daytime_start <= info.daytime_stop)
      AddCompare(w.r, false, &start, &stop, sizeof start, true);
    else
      AddCompare(w.r, true, &stop, &start, sizeof start, true);
  }
  if (days) {
    std::vector<uint8_t> list = Days(info.weekdays_match);
    AddMeta(w.r, NFT_META_TIME_DAY);
    if (list.size() == 1) {
      AddCmp(w.r, NFT_CMP_EQ, &list[0], 1);
    } else {
      auto r = w.lookup([list](Family f, const std::string& table, uint32_t id, uint32_t seq) { return EncodeDaySet(f, table, list, id, seq); }, false);
      if (!r.ok()) return r;
    }
  }
  return Unit{};
}

uint8_t WeekdaysOf(const std::vector<RawElement>& elements) {
  uint8_t mask = 0;
  for (const auto& e : elements) {
    if (e.interval_end || e.key.size() != 1 || e.key[0] >= kDaysPerWeek) return 0;
    uint8_t bit = static_cast<uint8_t>(1U << (e.key[0] == 0 ? kDaysPerWeek : e.key[0]));
    if (mask & bit) return 0;
    mask |= bit;
  }
  return elements.size() >= 2 ? mask : 0;
}

size_t ReadTime(const std::vector<Expr>& ex, size_t i, Family, const RuleSpec&, Blob* blob, const AnonymousSetElements& sets) {
  struct xt_time_info info {};
  info.date_stop = INT_MAX;
  info.daytime_stop = XT_TIME_MAX_DAYTIME;
  info.monthdays_match = XT_TIME_ALL_MONTHDAYS;
  info.weekdays_match = XT_TIME_ALL_WEEKDAYS;
  size_t j = i;
  uint64_t lo = 0, hi = 0;
  bool wraps = false;
  if (size_t n = ReadBounds(ex, j, NFT_META_TIME_NS, 8, &lo, &hi, &wraps)) {
    // Whole seconds within the blob's u32, as a translation writes them.
    if (wraps || lo % kNsPerSecond || hi % kNsPerSecond || lo / kNsPerSecond > UINT32_MAX || hi / kNsPerSecond > UINT32_MAX) return 0;
    info.date_start = static_cast<uint32_t>(lo / kNsPerSecond);
    info.date_stop = static_cast<uint32_t>(hi / kNsPerSecond);
    // The defaults would not have been written: those bounds read as another rule.
    if (info.date_start == 0 && info.date_stop == INT_MAX) return 0;
    j += n;
  }
  if (j < ex.size()) {
    if (size_t n = ReadBounds(ex, j, NFT_META_TIME_HOUR, 4, &lo, &hi, &wraps)) {
      if (lo > XT_TIME_MAX_DAYTIME || hi > XT_TIME_MAX_DAYTIME) return 0;
      info.daytime_start = static_cast<uint32_t>(wraps ? hi : lo);
      info.daytime_stop = static_cast<uint32_t>(wraps ? lo : hi);
      if (info.daytime_start == XT_TIME_MIN_DAYTIME && info.daytime_stop == XT_TIME_MAX_DAYTIME) return 0;
      j += n;
    }
  }
  if (j + 1 < ex.size() && IsMetaLoad(ex[j], NFT_META_TIME_DAY)) {
    const Expr& k = ex[j + 1];
    auto d = Value(k.a[NFTA_CMP_DATA]);
    bool invert = false;
    const std::vector<RawElement>* elements = nullptr;
    if (k.name == "cmp" && Be32(k.a[NFTA_CMP_OP]) == NFT_CMP_EQ && d.size() == 1 && d[0] < kDaysPerWeek) {
      info.weekdays_match = static_cast<uint8_t>(1U << (d[0] == 0 ? kDaysPerWeek : d[0]));
      j += 2;
    } else if ((elements = nftables::LookupElements(k, sets, &invert)) && !invert) {
      // `meta day != { ... }` is no translation's: it stays opaque.
      if (uint8_t mask = WeekdaysOf(*elements)) {
        info.weekdays_match = mask;
        j += 2;
      }
    }
  }
  if (j == i) return 0;
  ToBlob(info, blob);
  return j - i;
}

}  // namespace connlimit::core::nft::xlate
