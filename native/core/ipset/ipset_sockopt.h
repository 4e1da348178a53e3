// SPDX-License-Identifier: GPL-2.0-or-later
// I/O: the ipset getsockopt (SO_IP_SET) that iptables' libxt_set uses to turn a set's name into
// the kernel index a `-m set` rule holds, and back. The netlink protocol never shows indexes,
// so this is the only way to write and read such rules. One raw IP socket, made inside the
// target namespace (the sets are per namespace) and closed at once; getsockopt never waits.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/netns_guard.h"
#include "core/result.h"

namespace connlimit::core::ipset {

struct SetIndex {
  uint16_t index;
  uint8_t family;  // NFPROTO_IPV4, NFPROTO_IPV6 (or NFPROTO_UNSPEC for list:set)
};

// IP_SET_OP_GET_FNAME, as libxt_set's get_set_byname: nullopt when no set has the name.
Result<std::optional<SetIndex>> SetIndexByName(const std::shared_ptr<NetnsFd>& netns, const std::string& name);
// IP_SET_OP_GET_BYINDEX, as libxt_set's get_set_byid: nullopt when no set has the index.
Result<std::optional<std::string>> SetNameByIndex(const std::shared_ptr<NetnsFd>& netns, uint16_t index);

}  // namespace connlimit::core::ipset
