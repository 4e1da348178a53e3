// SPDX-License-Identifier: GPL-2.0-or-later
// Every xt module's codec, one line each, defined in the file named beside it; registry.cc binds
// each to its kernel name, revision and families. Only module files and registry.cc include this.
#pragma once

#include "core/xt/codec.h"

namespace connlimit::core::xt {

extern const MatchCodec kConnlimitMatch;     // connlimit.cc
extern const MatchCodec kTcpMatch;           // tcp.cc
extern const MatchCodec kUdpMatch;           // udp.cc
extern const MatchCodec kCommentMatch;       // comment.cc
extern const TargetCodec kRejectIpv4Target;  // reject_ipv4.cc
extern const TargetCodec kRejectIpv6Target;  // reject_ipv6.cc

}  // namespace connlimit::core::xt
