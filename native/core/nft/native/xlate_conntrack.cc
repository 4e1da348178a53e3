// SPDX-License-Identifier: GPL-2.0-or-later
// `-m conntrack --ctstate S` and `-m state --state S` (struct xt_conntrack_mtinfo3, revision 3,
// which `state` writes with XT_CONNTRACK_STATE_ALIAS) as libxt_conntrack 1.8.9's xlate renders
// them: `ct state S` / `ct state ! S`. INVALID, ESTABLISHED, RELATED and NEW are the same bits in
// both (1, and 1 << (ctinfo + 1)); UNTRACKED is not: xt's is 1 << (IP_CT_NUMBER + 3), nft's
// NF_CT_STATE_UNTRACKED_BIT (1 << 6), which is xt's SNAT bit. Read back as
// `-m conntrack --ctstate`: the text is the same for both modules, and delete/check compare rules
// as they read back.
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_conntrack.h>

#include <cstring>

#include "core/nft/expr_writer.h"
#include "core/nft/native/xlate_exprs.h"
#include "core/nft/native/xlate_modules.h"

namespace connlimit::core::nft::xlate {
namespace {

constexpr size_t kBlobSize = XT_ALIGN(sizeof(struct xt_conntrack_mtinfo3));
// The states `ct state` can say; SNAT and DNAT are xt's own, translated to `ct status`.
constexpr uint32_t kSharedStates = XT_CONNTRACK_STATE_INVALID | XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED) |
                                   XT_CONNTRACK_STATE_BIT(IP_CT_RELATED) | XT_CONNTRACK_STATE_BIT(IP_CT_NEW);
constexpr uint32_t kXtStates = kSharedStates | XT_CONNTRACK_STATE_UNTRACKED;
constexpr uint32_t kNftStates = kSharedStates | NF_CT_STATE_UNTRACKED_BIT;

uint32_t NftStates(uint32_t xt) { return (xt & kSharedStates) | (xt & XT_CONNTRACK_STATE_UNTRACKED ? NF_CT_STATE_UNTRACKED_BIT : 0); }
uint32_t XtStates(uint32_t nft) { return (nft & kSharedStates) | (nft & NF_CT_STATE_UNTRACKED_BIT ? XT_CONNTRACK_STATE_UNTRACKED : 0); }

}  // namespace

Result<Unit> EncodeCtState(const XlateRule& w, const Blob& blob) {
  struct xt_conntrack_mtinfo3 info {};
  if (blob.size() != kBlobSize) return EncodeError("a conntrack match of " + std::to_string(blob.size()) + " bytes");
  memcpy(&info, blob.data(), sizeof info);
  uint16_t flags = info.match_flags & ~XT_CONNTRACK_STATE_ALIAS;
  if (flags != XT_CONNTRACK_STATE || (info.invert_flags & ~XT_CONNTRACK_STATE))
    return EncodeError("conntrack options other than --ctstate are not translated in the native nftables form");
  if (info.state_mask == 0 || (info.state_mask & ~kXtStates))
    return EncodeError("--ctstate SNAT/DNAT are not translated in the native nftables form");
  AddCtLoad(w.r, NFT_CT_STATE);
  AddFlags(w.r, NftStates(info.state_mask), info.invert_flags & XT_CONNTRACK_STATE);
  return Unit{};
}

size_t ReadCtState(const std::vector<Expr>& ex, size_t i, Family, const RuleSpec&, Blob* blob) {
  if (!IsCtLoad(ex[i], NFT_CT_STATE)) return 0;
  uint32_t mask = 0;
  bool invert = false;
  if (!ReadFlags(ex, i + 1, &mask, &invert) || mask == 0 || (mask & ~kNftStates)) return 0;
  struct xt_conntrack_mtinfo3 info {};
  info.match_flags = XT_CONNTRACK_STATE;
  info.invert_flags = invert ? XT_CONNTRACK_STATE : 0;
  info.state_mask = static_cast<uint16_t>(XtStates(mask));
  blob->assign(kBlobSize, 0);
  memcpy(blob->data(), &info, sizeof info);
  return 3;
}

}  // namespace connlimit::core::nft::xlate
