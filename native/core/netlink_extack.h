// SPDX-License-Identifier: GPL-2.0-or-later
// The kernel's own words for a refused netlink request (extended ack, NLMSGERR_ATTR_MSG), read
// once for every socket that asks for them (ctnetlink, nf_tables).
#pragma once

#include <linux/netlink.h>

#include <string>

namespace connlimit::core {

// The NLMSG_ERROR's message text; empty when it carries none. Every length in it is the
// kernel's word and is checked before it is stepped over.
std::string ExtackMessage(const nlmsghdr* nlh);

}  // namespace connlimit::core
