// SPDX-License-Identifier: GPL-2.0-or-later
// One netlink message (or a whole batch) as bytes: what the pure builders return and the socket sends.
#pragma once

#include <cstdint>
#include <vector>

namespace connlimit::core::nft {

using Message = std::vector<uint8_t>;

}  // namespace connlimit::core::nft
