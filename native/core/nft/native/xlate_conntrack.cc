// SPDX-License-Identifier: GPL-2.0-or-later
// `-m conntrack` and `-m state --state S` (struct xt_conntrack_mtinfo3, revision 3, which
// `state` writes with XT_CONNTRACK_STATE_ALIAS) as libxt_conntrack 1.8.9's xlate renders them,
// one `ct` test per option in its order: `ct direction original|reply`, `ct original protocol P`
// (`ct reply ...` after --ctdir REPLY, as the xlate writes it; the protocol is the same in both
// directions), `ct state S`, `ct status S`, `ct expiration N[-M]` (seconds; nft compares
// milliseconds), `ct original|reply saddr|daddr A[/len]`, `!=` or `!` for `!`.
// - States: INVALID, ESTABLISHED, RELATED and NEW are the same bits in both (1, and
//   1 << (ctinfo + 1)); UNTRACKED is not: xt's is 1 << (IP_CT_NUMBER + 3), nft's
//   NF_CT_STATE_UNTRACKED_BIT (1 << 6), which is xt's SNAT bit.
// - xt's SNAT and DNAT states are `ct status snat|dnat` (IPS_SRC_NAT / IPS_DST_NAT, which
//   xt_conntrack tests for them), written alone and not negated only: the xlate drops the other
//   states beside them, and reads the negation from --ctstatus's flag.
// - Not written: the ports (nft 1.0.6 cannot parse the translation `ct original proto-src N`), a
//   status of NONE (rendered as nothing), masks that are no prefix, addresses with host bits
//   (nft drops them: the rule would not read back as written).
// Read back as `-m conntrack`: `ct state` is the same text for both modules, and delete/check
// compare rules as they read back. Consecutive `ct` tests in the xlate's order are one match.
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_conntrack.h>

#include <cstring>

#include "core/nft/expr_writer.h"
#include "core/nft/native/nftables_layout.h"
#include "core/nft/native/xlate_exprs.h"
#include "core/nft/native/xlate_modules.h"

namespace connlimit::core::nft::xlate {
namespace {

constexpr size_t kBlobSize = XT_ALIGN(sizeof(struct xt_conntrack_mtinfo3));

constexpr uint32_t kSharedStates = XT_CONNTRACK_STATE_INVALID | XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED) |
                                   XT_CONNTRACK_STATE_BIT(IP_CT_RELATED) | XT_CONNTRACK_STATE_BIT(IP_CT_NEW);
constexpr uint32_t kXtStates = kSharedStates | XT_CONNTRACK_STATE_UNTRACKED;
constexpr uint32_t kNftStates = kSharedStates | NF_CT_STATE_UNTRACKED_BIT;
constexpr uint32_t kStatuses = IPS_EXPECTED | IPS_SEEN_REPLY | IPS_ASSURED | IPS_CONFIRMED;
constexpr uint32_t kMsPerSecond = 1000;

uint32_t NftStates(uint32_t xt) { return (xt & kSharedStates) | (xt & XT_CONNTRACK_STATE_UNTRACKED ? NF_CT_STATE_UNTRACKED_BIT : 0); }
uint32_t XtStates(uint32_t nft) { return (nft & kSharedStates) | (nft & NF_CT_STATE_UNTRACKED_BIT ? XT_CONNTRACK_STATE_UNTRACKED : 0); }

// The options written, in the xlate's order; the four addresses last.
enum Step { kDirection, kProto, kState, kStatus, kExpires, kOrigSrc, kOrigDst, kReplSrc, kReplDst, kSteps };

struct AddressField {
  uint16_t flag;
  uint32_t key;  // NFT_CT_SRC / NFT_CT_DST
  int dir;       // IP_CT_DIR_ORIGINAL / IP_CT_DIR_REPLY
  union nf_inet_addr xt_conntrack_mtinfo3::*addr;
  union nf_inet_addr xt_conntrack_mtinfo3::*mask;
};
constexpr AddressField kAddresses[] = {
    {XT_CONNTRACK_ORIGSRC, NFT_CT_SRC, IP_CT_DIR_ORIGINAL, &xt_conntrack_mtinfo3::origsrc_addr, &xt_conntrack_mtinfo3::origsrc_mask},
    {XT_CONNTRACK_ORIGDST, NFT_CT_DST, IP_CT_DIR_ORIGINAL, &xt_conntrack_mtinfo3::origdst_addr, &xt_conntrack_mtinfo3::origdst_mask},
    {XT_CONNTRACK_REPLSRC, NFT_CT_SRC, IP_CT_DIR_REPLY, &xt_conntrack_mtinfo3::replsrc_addr, &xt_conntrack_mtinfo3::replsrc_mask},
    {XT_CONNTRACK_REPLDST, NFT_CT_DST, IP_CT_DIR_REPLY, &xt_conntrack_mtinfo3::repldst_addr, &xt_conntrack_mtinfo3::repldst_mask},
};

constexpr uint16_t kWritten = XT_CONNTRACK_DIRECTION | XT_CONNTRACK_PROTO | XT_CONNTRACK_STATE | XT_CONNTRACK_STATUS |
                              XT_CONNTRACK_EXPIRES | XT_CONNTRACK_ORIGSRC | XT_CONNTRACK_ORIGDST | XT_CONNTRACK_REPLSRC |
                              XT_CONNTRACK_REPLDST;

// The direction `ct P protocol` names: the xlate's, from --ctdir's negation (REPLY).
int ProtoDir(const xt_conntrack_mtinfo3& info) { return info.invert_flags & XT_CONNTRACK_DIRECTION ? IP_CT_DIR_REPLY : IP_CT_DIR_ORIGINAL; }

Result<Unit> AddAddress(struct nftnl_rule* r, int bytes, const AddressField& f, const xt_conntrack_mtinfo3& info, bool invert) {
  const auto* addr = reinterpret_cast<const uint8_t*>(&(info.*f.addr));
  const auto* mask = reinterpret_cast<const uint8_t*>(&(info.*f.mask));
  int prefix = nftables::PrefixOf(mask, bytes);
  if (prefix <= 0) return EncodeError("a conntrack address whose mask is no prefix has no translation nft takes");
  for (int i = 0; i < bytes; i++)
    if (addr[i] & ~mask[i]) return EncodeError("a conntrack address with host bits set under its mask has no translation nft keeps");
  AddCtLoad(r, f.key, f.dir);
  if (prefix % 8 == 0) {
    AddCmp(r, CmpOp(invert), addr, prefix / 8);
  } else {
    AddBitwise(r, mask, bytes, false);
    AddCmp(r, CmpOp(invert), addr, bytes);
  }
  return Unit{};
}

void AddExpiration(struct nftnl_rule* r, uint32_t min_ms, uint32_t max_ms, bool invert) {
  AddCtLoad(r, NFT_CT_EXPIRATION);
  AddHostCompare(r, min_ms, max_ms, invert);
}

// One `ct` test from ex[j] into `info`: how many expressions (0: none it can be at `step`).
class Reader {
 public:
  Reader(const std::vector<Expr>& ex, Family family, xt_conntrack_mtinfo3* info) : ex_(ex), bytes_(AddressBytes(family)), info_(info) {}

  // The step the ct load at ex[j] starts and the expressions it takes; 0 when it is none at or after `from`.
  size_t Read(size_t j, int from, int* step) {
    uint32_t key = 0;
    int dir = -1;
    if (!ReadCtLoad(ex_[j], &key, &dir)) return 0;
    for (int s = from; s < kSteps; s++) {
      if (size_t used = ReadStep(static_cast<Step>(s), key, dir, j + 1)) {
        *step = s;
        return used + 1;
      }
    }
    return 0;
  }

 private:
  void Mark(uint16_t flag, bool invert) {
    info_->match_flags |= flag;
    if (invert) info_->invert_flags |= flag;
  }

  size_t ReadStep(Step s, uint32_t key, int dir, size_t k) {
    bool invert = false;
    std::vector<uint8_t> v;
    uint32_t mask = 0;
    switch (s) {
      case kDirection:
        if (key != NFT_CT_DIRECTION || dir >= 0 || k >= ex_.size() || !CmpEqNeq(&ex_[k], &invert, &v) || invert || v.size() != 1 || v[0] > 1) return 0;
        Mark(XT_CONNTRACK_DIRECTION, v[0] == IP_CT_DIR_REPLY);
        return 1;
      case kProto:
        // The kernel dumps no direction for the protocol (nft_ct_get_dump): nft sent one.
        if (key != NFT_CT_PROTOCOL || (dir >= 0 && dir != ProtoDir(*info_)) || k >= ex_.size() || !CmpEqNeq(&ex_[k], &invert, &v) || v.size() != 1) return 0;
        Mark(XT_CONNTRACK_PROTO, invert);
        info_->l4proto = v[0];
        return 1;
      case kState:
        if (key == NFT_CT_STATUS && dir < 0 && ReadFlags(ex_, k, &mask, &invert) && !invert && (mask == IPS_SRC_NAT || mask == IPS_DST_NAT)) {
          Mark(XT_CONNTRACK_STATE, false);
          info_->state_mask = mask == IPS_SRC_NAT ? XT_CONNTRACK_STATE_SNAT : XT_CONNTRACK_STATE_DNAT;
          return 2;
        }
        if (key != NFT_CT_STATE || dir >= 0 || !ReadFlags(ex_, k, &mask, &invert) || !mask || (mask & ~kNftStates)) return 0;
        Mark(XT_CONNTRACK_STATE, invert);
        info_->state_mask = static_cast<uint16_t>(XtStates(mask));
        return 2;
      case kStatus:
        if (key != NFT_CT_STATUS || dir >= 0 || !ReadFlags(ex_, k, &mask, &invert) || !mask || (mask & ~kStatuses)) return 0;
        Mark(XT_CONNTRACK_STATUS, invert);
        info_->status_mask = static_cast<uint16_t>(mask);
        return 2;
      case kExpires:
        return key == NFT_CT_EXPIRATION && dir < 0 ? Expiration(k) : 0;
      default:
        return Address(kAddresses[s - kOrigSrc], key, dir, k);
    }
  }

  size_t Expiration(size_t k) {
    if (k >= ex_.size()) return 0;
    bool invert = false;
    uint32_t min_ms = 0, max_ms = 0;
    size_t used = ReadHostCompare(ex_, k, &min_ms, &max_ms, &invert);
    if (!used || min_ms % kMsPerSecond || max_ms % kMsPerSecond) return 0;
    Mark(XT_CONNTRACK_EXPIRES, invert);
    info_->expires_min = min_ms / kMsPerSecond;
    info_->expires_max = max_ms / kMsPerSecond;
    return used;
  }

  size_t Address(const AddressField& f, uint32_t key, int dir, size_t k) {
    if (key != f.key || dir != f.dir || k >= ex_.size()) return 0;
    auto* addr = reinterpret_cast<uint8_t*>(&(info_->*f.addr));
    auto* mask = reinterpret_cast<uint8_t*>(&(info_->*f.mask));
    bool invert = false;
    std::vector<uint8_t> v;
    size_t used = 1;
    std::vector<uint8_t> m(bytes_, 0xFF);
    if (ex_[k].name == "bitwise") {
      const Expr& b = ex_[k];
      if (b.a[NFTA_BITWISE_OP] && Be32(b.a[NFTA_BITWISE_OP]) != NFT_BITWISE_BOOL) return 0;
      m = Value(b.a[NFTA_BITWISE_MASK]);
      auto x = Value(b.a[NFTA_BITWISE_XOR]);
      if (m.size() != static_cast<size_t>(bytes_) || x != std::vector<uint8_t>(bytes_, 0) || nftables::PrefixOf(m.data(), bytes_) <= 0) return 0;
      if (k + 1 >= ex_.size() || !CmpEqNeq(&ex_[k + 1], &invert, &v) || v.size() != static_cast<size_t>(bytes_)) return 0;
      used = 2;
    } else {
      // A prefix on a byte boundary compares only its bytes.
      if (!CmpEqNeq(&ex_[k], &invert, &v) || v.empty() || v.size() > static_cast<size_t>(bytes_)) return 0;
      for (size_t i = v.size(); i < m.size(); i++) m[i] = 0;
    }
    for (size_t i = 0; i < v.size(); i++)
      if (v[i] & ~m[i]) return 0;
    memcpy(addr, v.data(), v.size());
    memcpy(mask, m.data(), bytes_);
    Mark(f.flag, invert);
    return used;
  }

  const std::vector<Expr>& ex_;
  int bytes_;
  xt_conntrack_mtinfo3* info_;
};

}  // namespace

Result<Unit> EncodeConntrack(const XlateRule& w, const Blob& blob) {
  struct xt_conntrack_mtinfo3 info {};
  if (blob.size() != kBlobSize) return EncodeError("a conntrack match of " + std::to_string(blob.size()) + " bytes");
  memcpy(&info, blob.data(), sizeof info);
  uint16_t flags = info.match_flags & ~XT_CONNTRACK_STATE_ALIAS;
  if (!flags || (flags & ~kWritten) || (info.invert_flags & ~flags))
    return EncodeError("conntrack's port options have no translation nft 1.0.6 takes");
  auto inv = [&](uint16_t f) { return (info.invert_flags & f) != 0; };
  if (flags & XT_CONNTRACK_DIRECTION) {
    uint8_t dir = inv(XT_CONNTRACK_DIRECTION) ? IP_CT_DIR_REPLY : IP_CT_DIR_ORIGINAL;
    AddCtLoad(w.r, NFT_CT_DIRECTION);
    AddCmp(w.r, NFT_CMP_EQ, &dir, 1);
  }
  if (flags & XT_CONNTRACK_PROTO) {
    if (info.l4proto > 0xFF) return EncodeError("a conntrack protocol over 255");
    uint8_t p = static_cast<uint8_t>(info.l4proto);
    AddCtLoad(w.r, NFT_CT_PROTOCOL, ProtoDir(info));
    AddCmp(w.r, CmpOp(inv(XT_CONNTRACK_PROTO)), &p, 1);
  }
  if (flags & XT_CONNTRACK_STATE) {
    if (info.state_mask == XT_CONNTRACK_STATE_SNAT || info.state_mask == XT_CONNTRACK_STATE_DNAT) {
      if (inv(XT_CONNTRACK_STATE)) return EncodeError("! --ctstate SNAT/DNAT has no translation (1.8.9 drops the negation)");
      AddCtLoad(w.r, NFT_CT_STATUS);
      AddFlags(w.r, info.state_mask == XT_CONNTRACK_STATE_SNAT ? IPS_SRC_NAT : IPS_DST_NAT, false);
    } else {
      if (!info.state_mask || (info.state_mask & ~kXtStates)) return EncodeError("--ctstate SNAT/DNAT beside other states has no translation");
      AddCtLoad(w.r, NFT_CT_STATE);
      AddFlags(w.r, NftStates(info.state_mask), inv(XT_CONNTRACK_STATE));
    }
  }
  if (flags & XT_CONNTRACK_STATUS) {
    if (!info.status_mask || (info.status_mask & ~kStatuses)) return EncodeError("--ctstatus NONE has no translation");
    AddCtLoad(w.r, NFT_CT_STATUS);
    AddFlags(w.r, info.status_mask, inv(XT_CONNTRACK_STATUS));
  }
  if (flags & XT_CONNTRACK_EXPIRES) {
    if (info.expires_min > info.expires_max || info.expires_max > UINT32_MAX / kMsPerSecond)
      return EncodeError("--ctexpire over 4294967 seconds has no translation (nft compares milliseconds)");
    AddExpiration(w.r, info.expires_min * kMsPerSecond, info.expires_max * kMsPerSecond, inv(XT_CONNTRACK_EXPIRES));
  }
  for (const auto& f : kAddresses) {
    if (!(flags & f.flag)) continue;
    auto r = AddAddress(w.r, AddressBytes(w.family), f, info, inv(f.flag));
    if (!r.ok()) return r;
  }
  return Unit{};
}

size_t ReadConntrack(const std::vector<Expr>& ex, size_t i, Family family, const RuleSpec&, Blob* blob, const AnonymousSetElements&) {
  struct xt_conntrack_mtinfo3 info {};
  Reader reader(ex, family, &info);
  size_t j = i;
  int next = 0;
  while (j < ex.size() && next < kSteps) {
    int step = 0;
    size_t used = reader.Read(j, next, &step);
    if (!used) break;
    j += used;
    next = step + 1;
  }
  if (j == i) return 0;
  blob->assign(kBlobSize, 0);
  memcpy(blob->data(), &info, sizeof info);
  return j - i;
}

}  // namespace connlimit::core::nft::xlate
