// SPDX-License-Identifier: GPL-2.0-or-later
// The nfgenmsg family byte of every nf_tables message we build.
#pragma once

#include <linux/netfilter.h>

#include <cstdint>

#include "core/rule_spec.h"

namespace connlimit::core::nft {

// NFPROTO_IPV4 / NFPROTO_IPV6.
inline uint8_t NfProto(Family family) { return family == Family::kIpv4 ? NFPROTO_IPV4 : NFPROTO_IPV6; }

}  // namespace connlimit::core::nft
