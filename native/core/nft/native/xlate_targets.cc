// SPDX-License-Identifier: GPL-2.0-or-later
// The rows of xlate_targets.h, each as 1.8.9's xlate renders it and nft 1.0.6 sends that text:
// - `-j LOG` (struct xt_log_info): `log [prefix "P"] [level L] [flags ...]`, one log expression
//   with no group; nft leaves out the level when it is the default (warn, 4), the kernel then
//   dumps 4. The flag bits are xt's (XT_LOG_* are NF_LOG_*).
// - `-j NFLOG` (struct xt_nflog_info): `log [prefix "P"] [snaplen N] [queue-threshold Q] group G`,
//   the expression iptables-nft writes too (core/nft/compat/native_nflog).
// - `-j MARK` (struct xt_mark_tginfo2, skb->mark = (mark & ~mask) ^ value): `meta mark set V`
//   for a full mask ([ immediate reg 1 V ] [ meta set mark with reg 1 ]); else every other
//   spelling (`mark and A`, `mark or V`, `mark xor V`, `mark and A xor V`) is one
//   [ bitwise reg 1 = (reg 1 & ~mask) ^ value ] between the load and the set.
// - `-j CONNMARK` (struct xt_connmark_tginfo2): --set-xmark as MARK's shapes on `ct mark`, then
//   `( ... ) << N` / `>> N` as a bitwise shift; --save-mark `ct mark set mark`, --restore-mark
//   `meta mark set ct mark`, each with its shift. 1.8.9 renders a masked set as
//   `ct mark xor V and ~M`, which xors before it masks, and nft 1.0.6 folds that text into
//   `ct mark xor (V & ~M)`, the mask gone: so we write what CONNMARK does (ctmark & ~M) ^ V,
//   as nft sends `ct mark and ~M xor V` (docs/nft.md). `and`, `or` and `xor` alone are the same bytes.
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/xt_LOG.h>
#include <linux/netfilter/xt_TCPMSS.h>
#include <linux/netfilter/xt_connmark.h>
#include <linux/netfilter/xt_mark.h>

#include <netinet/tcp.h>

#include <cstring>
#include <string>

#include "core/nft/compat/native_nflog.h"
#include "core/nft/expr_writer.h"
#include "core/nft/native/xlate_exprs.h"
#include "core/nft/native/xlate_targets.h"

namespace connlimit::core::nft {
namespace {

using Blob = std::vector<uint8_t>;
using xlate::FromBlob;
using xlate::ToBlob;

constexpr uint32_t kFullMask = 0xffffffff;
constexpr uint8_t kDefaultLevel = 4;  // LOG's default, and nft's when the rule names none
constexpr uint8_t kMaxLevel = 7;      // nft's `audit` (8) is no syslog level
// The MSS option's value: 2 bytes at offset 2 of the option (kind, length, value).
constexpr uint32_t kMssOffset = 2, kMssLen = 2;

// ---- writing ----

void AddImmediate(struct nftnl_rule* r, uint32_t value) {
  auto* e = AddExpr(r, "immediate");
  nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, kReg);
  nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, &value, sizeof value);
}

// [ bitwise reg 1 = ( reg 1 & and_mask ) ^ xor_value ], a binary `and`/`xor` as nft sends it.
void AddMaskXor(struct nftnl_rule* r, uint32_t and_mask, uint32_t xor_value) {
  auto* e = AddExpr(r, "bitwise");
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, kReg);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, kReg);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_OP, NFT_BITWISE_BOOL);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, sizeof and_mask);
  nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &and_mask, sizeof and_mask);
  nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &xor_value, sizeof xor_value);
}

// [ bitwise reg 1 = ( reg 1 << bits ) ] (or >>); nothing for 0 bits.
void AddShift(struct nftnl_rule* r, bool right, uint32_t bits) {
  if (bits == 0) return;
  auto* e = AddExpr(r, "bitwise");
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, kReg);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, kReg);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_OP, right ? NFT_BITWISE_RSHIFT : NFT_BITWISE_LSHIFT);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, sizeof bits);
  nftnl_expr_set(e, NFTNL_EXPR_BITWISE_DATA, &bits, sizeof bits);
}

// `meta mark set` / `ct mark set`: the register into the mark.
void AddMarkSet(struct nftnl_rule* r, bool ct) {
  if (ct) {
    auto* e = AddExpr(r, "ct");
    nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_MARK);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CT_SREG, kReg);
  } else {
    auto* e = AddExpr(r, "meta");
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_MARK);
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, kReg);
  }
}

void AddMarkLoad(struct nftnl_rule* r, bool ct) {
  if (ct)
    xlate::AddCtLoad(r, NFT_CT_MARK);
  else
    AddMeta(r, NFT_META_MARK);
}

Result<Unit> EncodeLog(struct nftnl_rule* r, const Blob& blob) {
  struct xt_log_info info {};
  if (!FromBlob(blob, &info) || info.level > kMaxLevel || (info.logflags & ~XT_LOG_MASK) ||
      memchr(info.prefix, '\0', sizeof info.prefix) == nullptr)
    return EncodeError("a LOG target of " + std::to_string(blob.size()) + " bytes");
  auto* e = AddExpr(r, "log");
  if (info.prefix[0] != '\0') nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, info.prefix);
  if (info.level != kDefaultLevel) nftnl_expr_set_u32(e, NFTNL_EXPR_LOG_LEVEL, info.level);
  if (info.logflags) nftnl_expr_set_u32(e, NFTNL_EXPR_LOG_FLAGS, info.logflags);
  return Unit{};
}

Result<Unit> EncodeNflog(struct nftnl_rule* r, const Blob& blob) { return EncodeNativeNflog(r, blob); }

Result<Unit> EncodeMarkTarget(struct nftnl_rule* r, const Blob& blob) {
  struct xt_mark_tginfo2 info {};
  if (!FromBlob(blob, &info)) return EncodeError("a MARK target of " + std::to_string(blob.size()) + " bytes");
  if (info.mask == kFullMask) {
    AddImmediate(r, info.mark);
  } else {
    AddMeta(r, NFT_META_MARK);
    AddMaskXor(r, ~info.mask, info.mark);
  }
  AddMarkSet(r, false);
  return Unit{};
}

Result<Unit> EncodeConnmark(struct nftnl_rule* r, const Blob& blob) {
  struct xt_connmark_tginfo2 info {};
  if (!FromBlob(blob, &info) || info.shift_dir > D_SHIFT_RIGHT || info.shift_bits > 32)
    return EncodeError("a CONNMARK target of " + std::to_string(blob.size()) + " bytes");
  bool right = info.shift_dir == D_SHIFT_RIGHT;
  switch (info.mode) {
    case XT_CONNMARK_SET:
      if (info.ctmask == kFullMask) {
        if (info.shift_bits) return EncodeError("CONNMARK --set-xmark V/0xffffffff with a shift (nft folds the shift into V)");
        AddImmediate(r, info.ctmark);
      } else {
        AddMarkLoad(r, true);
        AddMaskXor(r, ~info.ctmask, info.ctmark);
        AddShift(r, right, info.shift_bits);
      }
      AddMarkSet(r, true);
      return Unit{};
    case XT_CONNMARK_SAVE:
    case XT_CONNMARK_RESTORE: {
      if (info.nfmask != kFullMask || info.ctmask != kFullMask) return EncodeError("CONNMARK --save-mark/--restore-mark with a mask");
      bool save = info.mode == XT_CONNMARK_SAVE;
      AddMarkLoad(r, !save);
      AddShift(r, right, info.shift_bits);
      AddMarkSet(r, save);
      return Unit{};
    }
    default:
      return EncodeError("CONNMARK mode " + std::to_string(info.mode));
  }
}

// [ exthdr write tcpopt reg 1 => 2b @ 2 + 2 ]: the register into the SYN's MSS option.
void AddMssWrite(struct nftnl_rule* r) {
  auto* e = AddExpr(r, "exthdr");
  nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_SREG, kReg);
  nftnl_expr_set_u8(e, NFTNL_EXPR_EXTHDR_TYPE, TCPOPT_MAXSEG);
  nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OFFSET, kMssOffset);
  nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_LEN, kMssLen);
  nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OP, NFT_EXTHDR_OP_TCPOPT);
}

Result<Unit> EncodeTcpmss(struct nftnl_rule* r, const Blob& blob) {
  struct xt_tcpmss_info info {};
  if (!FromBlob(blob, &info)) return EncodeError("a TCPMSS target of " + std::to_string(blob.size()) + " bytes");
  if (info.mss == XT_TCPMSS_CLAMP_PMTU) {
    auto* rt = AddExpr(r, "rt");
    nftnl_expr_set_u32(rt, NFTNL_EXPR_RT_KEY, NFT_RT_TCPMSS);
    nftnl_expr_set_u32(rt, NFTNL_EXPR_RT_DREG, kReg);
    auto* hton = AddExpr(r, "byteorder");
    nftnl_expr_set_u32(hton, NFTNL_EXPR_BYTEORDER_SREG, kReg);
    nftnl_expr_set_u32(hton, NFTNL_EXPR_BYTEORDER_DREG, kReg);
    nftnl_expr_set_u32(hton, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
    nftnl_expr_set_u32(hton, NFTNL_EXPR_BYTEORDER_LEN, kMssLen);
    nftnl_expr_set_u32(hton, NFTNL_EXPR_BYTEORDER_SIZE, kMssLen);
  } else {
    uint16_t mss = htons(info.mss);
    auto* e = AddExpr(r, "immediate");
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, kReg);
    nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, &mss, sizeof mss);
  }
  AddMssWrite(r);
  return Unit{};
}

// ---- reading ----

// A host-order u32 value attribute (an immediate's or bitwise's data), or false.
bool U32Of(const struct nlattr* a, uint32_t* out) { return HostU32(Value(a), out); }

// `meta mark` (false) or `ct mark` (true) loaded into the register at e.
bool ReadMarkLoad(const Expr& e, bool* ct) {
  uint32_t key = 0;
  int dir = 0;
  if (IsMetaLoad(e, NFT_META_MARK)) {
    *ct = false;
    return true;
  }
  if (xlate::ReadCtLoad(e, &key, &dir) && key == NFT_CT_MARK && dir < 0) {
    *ct = true;
    return true;
  }
  return false;
}

// `meta mark set` (false) / `ct mark set` (true) from the register.
bool ReadMarkSet(const Expr* e, bool* ct) {
  if (!e) return false;
  if (e->name == "meta" && !e->a[NFTA_META_DREG] && Be32(e->a[NFTA_META_SREG]) == kReg && Be32(e->a[NFTA_META_KEY]) == NFT_META_MARK) {
    *ct = false;
    return true;
  }
  if (e->name == "ct" && !e->a[NFTA_CT_DREG] && !e->a[NFTA_CT_DIRECTION] && Be32(e->a[NFTA_CT_SREG]) == kReg &&
      Be32(e->a[NFTA_CT_KEY]) == NFT_CT_MARK) {
    *ct = true;
    return true;
  }
  return false;
}

bool IsBitwise(const Expr* e, uint32_t op) {
  // The kernel dumps the operation even where nft sent none; a boolean one is the default.
  return e && e->name == "bitwise" && Be32(e->a[NFTA_BITWISE_SREG]) == kReg && Be32(e->a[NFTA_BITWISE_DREG]) == kReg &&
         Be32(e->a[NFTA_BITWISE_LEN]) == sizeof(uint32_t) && Be32(e->a[NFTA_BITWISE_OP]) == op;
}

// The shift at e, if any: how many expressions (0 or 1).
size_t ReadShift(const Expr* e, uint8_t* dir, uint8_t* bits) {
  bool left = IsBitwise(e, NFT_BITWISE_LSHIFT), right = IsBitwise(e, NFT_BITWISE_RSHIFT);
  uint32_t n = 0;
  if ((!left && !right) || !U32Of(e->a[NFTA_BITWISE_DATA], &n) || n == 0 || n > 32) return 0;
  *dir = right ? D_SHIFT_RIGHT : D_SHIFT_LEFT;
  *bits = static_cast<uint8_t>(n);
  return 1;
}

size_t ReadLog(const std::vector<Expr>& ex, size_t i, Blob* blob) {
  const Expr& e = ex[i];
  if (e.name != "log" || e.a[NFTA_LOG_GROUP] || e.a[NFTA_LOG_SNAPLEN] || e.a[NFTA_LOG_QTHRESHOLD]) return 0;
  struct xt_log_info info {};
  uint32_t level = e.a[NFTA_LOG_LEVEL] ? Be32(e.a[NFTA_LOG_LEVEL]) : kDefaultLevel;
  uint32_t flags = Be32(e.a[NFTA_LOG_FLAGS]);
  if (level > kMaxLevel || (flags & ~static_cast<uint32_t>(XT_LOG_MASK))) return 0;
  info.level = static_cast<uint8_t>(level);
  info.logflags = static_cast<uint8_t>(flags);
  if (e.a[NFTA_LOG_PREFIX]) {
    std::string prefix = Str(e.a[NFTA_LOG_PREFIX]);
    if (prefix.size() >= sizeof info.prefix) return 0;  // longer than LOG keeps: not ours
    memcpy(info.prefix, prefix.data(), prefix.size());
  }
  ToBlob(info, blob);
  return 1;
}

size_t ReadNflog(const std::vector<Expr>& ex, size_t i, Blob* blob) {
  OpaqueExtension o;
  size_t used = ReadNativeNflog(ex, i, &o);
  if (used) *blob = std::move(o.data);
  return used;
}

// [ immediate reg 1 V ] then a mark set: `meta|ct mark set V`. 2, or 0.
size_t ReadImmediateSet(const std::vector<Expr>& ex, size_t i, bool want_ct, uint32_t* value) {
  const Expr& e = ex[i];
  bool ct = false;
  if (e.name != "immediate" || Be32(e.a[NFTA_IMMEDIATE_DREG]) != kReg) return 0;
  if (!U32Of(e.a[NFTA_IMMEDIATE_DATA], value)) return 0;
  return ReadMarkSet(i + 1 < ex.size() ? &ex[i + 1] : nullptr, &ct) && ct == want_ct ? 2 : 0;
}

size_t ReadMarkTarget(const std::vector<Expr>& ex, size_t i, Blob* blob) {
  struct xt_mark_tginfo2 info {};
  info.mask = kFullMask;
  size_t used = ReadImmediateSet(ex, i, false, &info.mark);
  bool ct = false, set_ct = false;
  uint32_t and_mask = 0;
  if (!used && ReadMarkLoad(ex[i], &ct) && !ct && i + 2 < ex.size() && IsBitwise(&ex[i + 1], NFT_BITWISE_BOOL) &&
      U32Of(ex[i + 1].a[NFTA_BITWISE_MASK], &and_mask) && U32Of(ex[i + 1].a[NFTA_BITWISE_XOR], &info.mark) &&
      ReadMarkSet(&ex[i + 2], &set_ct) && !set_ct) {
    info.mask = ~and_mask;
    used = 3;
  }
  if (used) ToBlob(info, blob);
  return used;
}

size_t ReadConnmark(const std::vector<Expr>& ex, size_t i, Blob* blob) {
  struct xt_connmark_tginfo2 info {};
  info.ctmask = kFullMask;
  info.nfmask = kFullMask;
  size_t used = ReadImmediateSet(ex, i, true, &info.ctmark);
  bool from_ct = false, to_ct = false;
  if (!used && ReadMarkLoad(ex[i], &from_ct)) {
    size_t j = i + 1;
    uint32_t and_mask = 0;
    bool masked = from_ct && j < ex.size() && IsBitwise(&ex[j], NFT_BITWISE_BOOL) && U32Of(ex[j].a[NFTA_BITWISE_MASK], &and_mask) &&
                  U32Of(ex[j].a[NFTA_BITWISE_XOR], &info.ctmark);
    if (masked) {
      info.ctmask = ~and_mask;
      j++;
    }
    j += ReadShift(j < ex.size() ? &ex[j] : nullptr, &info.shift_dir, &info.shift_bits);
    if (ReadMarkSet(j < ex.size() ? &ex[j] : nullptr, &to_ct)) {
      // ct -> ct is a masked set; meta -> ct a save; ct -> meta (unmasked) a restore.
      if (from_ct && to_ct && masked) info.mode = XT_CONNMARK_SET;
      else if (!from_ct && to_ct) info.mode = XT_CONNMARK_SAVE;
      else if (from_ct && !to_ct && !masked) info.mode = XT_CONNMARK_RESTORE;
      else return 0;
      used = j - i + 1;
    }
  }
  if (used) ToBlob(info, blob);
  return used;
}

bool IsMssWrite(const Expr* e) {
  return e && e->name == "exthdr" && !e->a[NFTA_EXTHDR_DREG] && Be32(e->a[NFTA_EXTHDR_SREG]) == kReg && e->a[NFTA_EXTHDR_TYPE] &&
         mnl_attr_get_payload_len(e->a[NFTA_EXTHDR_TYPE]) == 1 && mnl_attr_get_u8(e->a[NFTA_EXTHDR_TYPE]) == TCPOPT_MAXSEG &&
         Be32(e->a[NFTA_EXTHDR_OFFSET]) == kMssOffset && Be32(e->a[NFTA_EXTHDR_LEN]) == kMssLen && Be32(e->a[NFTA_EXTHDR_OP]) == NFT_EXTHDR_OP_TCPOPT &&
         Be32(e->a[NFTA_EXTHDR_FLAGS]) == 0;
}

// `tcp option maxseg size set N` (2) or `... set rt mtu` (3), or 0.
size_t ReadTcpmss(const std::vector<Expr>& ex, size_t i, Blob* blob) {
  struct xt_tcpmss_info info {};
  const Expr& e = ex[i];
  size_t used = 0;
  if (e.name == "immediate" && Be32(e.a[NFTA_IMMEDIATE_DREG]) == kReg) {
    auto v = Value(e.a[NFTA_IMMEDIATE_DATA]);
    if (v.size() != kMssLen) return 0;
    info.mss = static_cast<uint16_t>(v[0] << 8 | v[1]);
    // The value xt keeps for clamping is no MSS a translation sets.
    if (info.mss == XT_TCPMSS_CLAMP_PMTU) return 0;
    used = 1;
  } else if (e.name == "rt" && Be32(e.a[NFTA_RT_KEY]) == NFT_RT_TCPMSS && Be32(e.a[NFTA_RT_DREG]) == kReg && i + 1 < ex.size()) {
    const Expr& b = ex[i + 1];
    if (b.name != "byteorder" || Be32(b.a[NFTA_BYTEORDER_SREG]) != kReg || Be32(b.a[NFTA_BYTEORDER_DREG]) != kReg ||
        Be32(b.a[NFTA_BYTEORDER_OP]) != NFT_BYTEORDER_HTON || Be32(b.a[NFTA_BYTEORDER_LEN]) != kMssLen || Be32(b.a[NFTA_BYTEORDER_SIZE]) != kMssLen)
      return 0;
    info.mss = XT_TCPMSS_CLAMP_PMTU;
    used = 2;
  } else {
    return 0;
  }
  if (!IsMssWrite(i + used < ex.size() ? &ex[i + used] : nullptr)) return 0;
  ToBlob(info, blob);
  return used + 1;
}

struct TargetForm {
  const char* name;
  uint8_t revision;
  Result<Unit> (*encode)(struct nftnl_rule* r, const Blob& blob);
  size_t (*read)(const std::vector<Expr>& ex, size_t i, Blob* blob);
};

// Reading tries the rows in order: LOG's log has no group, NFLOG's has one; MARK ends in a
// `meta mark set` from `meta mark` or a value, CONNMARK's restore in one from `ct mark`;
// TCPMSS's value goes to an exthdr write, not a mark.
constexpr TargetForm kTargets[] = {
    {"LOG", 0, EncodeLog, ReadLog},
    {"NFLOG", 0, EncodeNflog, ReadNflog},
    {"MARK", 2, EncodeMarkTarget, ReadMarkTarget},
    {"CONNMARK", 2, EncodeConnmark, ReadConnmark},
    {"TCPMSS", 0, EncodeTcpmss, ReadTcpmss},
};

}  // namespace

std::optional<Result<Unit>> AddXlateTarget(struct nftnl_rule* r, const Target& t) {
  if (t.kind != Target::Kind::kOpaque) return std::nullopt;
  for (const auto& f : kTargets)
    if (t.opaque.name == f.name && t.opaque.revision == f.revision) return f.encode(r, t.opaque.data);
  return std::nullopt;
}

size_t ReadXlateTarget(const std::vector<Expr>& ex, size_t i, Target* t) {
  for (const auto& f : kTargets) {
    Blob blob;
    if (size_t used = f.read(ex, i, &blob)) {
      t->kind = Target::Kind::kOpaque;
      t->opaque.name = f.name;
      t->opaque.revision = f.revision;
      t->opaque.data = std::move(blob);
      return used;
    }
  }
  return 0;
}

}  // namespace connlimit::core::nft
