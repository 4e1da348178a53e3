// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/compat/native_nflog.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_NFLOG.h>

#include <cstring>
#include <string>

#include "core/nft/expr_writer.h"

namespace connlimit::core::nft {
namespace {

// len 0, group 4, threshold 6, flags 8 (host order), prefix[64] 12; 76 bytes, aligned to 80.
constexpr size_t kBlobSize = XT_ALIGN(sizeof(struct xt_nflog_info));

// A u16 attribute (network order, as libnftnl sends the group and the threshold); 0 when absent.
uint16_t Be16Attr(const struct nlattr* a) {
  return a && mnl_attr_get_payload_len(a) >= sizeof(uint16_t) ? ntohs(mnl_attr_get_u16(a)) : 0;
}

}  // namespace

Result<Unit> EncodeNativeNflog(struct nftnl_rule* r, const std::vector<uint8_t>& blob) {
  struct xt_nflog_info info {};
  if (blob.size() != kBlobSize) return EncodeError("an NFLOG target of " + std::to_string(blob.size()) + " bytes");
  memcpy(&info, blob.data(), sizeof info);
  if (memchr(info.prefix, '\0', sizeof info.prefix) == nullptr) return EncodeError("an NFLOG prefix without its NUL");
  if (info.flags & ~XT_NFLOG_F_COPY_LEN) return EncodeError("NFLOG flags " + std::to_string(info.flags));
  if (info.len && !(info.flags & XT_NFLOG_F_COPY_LEN)) return EncodeError("--nflog-range, which iptables-nft drops (use --nflog-size)");
  auto* e = AddExpr(r, "log");
  if (info.prefix[0] != '\0') nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, info.prefix);
  nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_GROUP, info.group);
  if (info.flags & XT_NFLOG_F_COPY_LEN) nftnl_expr_set_u32(e, NFTNL_EXPR_LOG_SNAPLEN, info.len);
  if (info.threshold) nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_QTHRESHOLD, info.threshold);
  return Unit{};
}

size_t ReadNativeNflog(const std::vector<Expr>& ex, size_t i, OpaqueExtension* blob) {
  const Expr& e = ex[i];
  if (e.name != "log" || !e.a[NFTA_LOG_GROUP] || e.a[NFTA_LOG_LEVEL] || e.a[NFTA_LOG_FLAGS]) return 0;
  struct xt_nflog_info info {};
  info.group = Be16Attr(e.a[NFTA_LOG_GROUP]);
  info.threshold = Be16Attr(e.a[NFTA_LOG_QTHRESHOLD]);
  if (e.a[NFTA_LOG_SNAPLEN]) {
    info.len = Be32(e.a[NFTA_LOG_SNAPLEN]);
    info.flags = XT_NFLOG_F_COPY_LEN;
  }
  if (e.a[NFTA_LOG_PREFIX]) {
    std::string prefix = Str(e.a[NFTA_LOG_PREFIX]);
    if (prefix.size() >= sizeof info.prefix) return 0;
    memcpy(info.prefix, prefix.data(), prefix.size());
  }
  blob->data.assign(kBlobSize, 0);
  memcpy(blob->data.data(), &info, sizeof info);
  return 1;
}

}  // namespace connlimit::core::nft
