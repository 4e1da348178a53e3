// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/netlink_extack.h"

#include <libmnl/libmnl.h>

#include <cstdint>
#include <cstring>

namespace connlimit::core {

std::string ExtackMessage(const nlmsghdr* nlh) {
  if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) return {};
  size_t plen = mnl_nlmsg_get_payload_len(nlh);
  if (plen < sizeof(nlmsgerr)) return {};
  auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  // With NETLINK_CAP_ACK the echoed request is only its header; else it is whole.
  size_t offset = sizeof(nlmsgerr);
  if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
    if (err->msg.nlmsg_len < sizeof(nlmsghdr)) return {};
    offset += MNL_ALIGN(err->msg.nlmsg_len - sizeof(nlmsghdr));
  }
  if (offset >= plen) return {};
  std::string msg;
  const auto* base = static_cast<const uint8_t*>(mnl_nlmsg_get_payload(nlh));
  int left = static_cast<int>(plen - offset);
  for (auto* a = reinterpret_cast<const nlattr*>(base + offset); mnl_attr_ok(a, left);
       left -= MNL_ALIGN(a->nla_len), a = mnl_attr_next(a)) {
    if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG) {
      const char* s = static_cast<const char*>(mnl_attr_get_payload(a));
      msg.assign(s, strnlen(s, mnl_attr_get_payload_len(a)));
    }
  }
  return msg;
}

}  // namespace connlimit::core
