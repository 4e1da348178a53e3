// SPDX-License-Identifier: GPL-2.0-or-later
// The two headers every netfilter netlink message starts with (nlmsghdr, then nfgenmsg at
// version 0), written once for ctnetlink, ipset and nf_tables' batch framing.
#pragma once

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>

#include <cstdint>

namespace connlimit::core {

// `res_id` in network byte order (nf_tables' batch names its subsystem there).
inline nlmsghdr* PutNfnlHeader(void* buf, uint16_t type, uint16_t flags, uint32_t seq, uint8_t family, uint16_t res_id = 0) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = flags;
  nlh->nlmsg_seq = seq;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = family;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = res_id;
  return nlh;
}

}  // namespace connlimit::core
