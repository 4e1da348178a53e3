// SPDX-License-Identifier: GPL-2.0-or-later
// What an ipset request is, for its errors: the text people read, and the kind code decides on
// (core/error_kind.h). A refusal in the kernel's answer gets the request's kind; a socket that
// fails to send or receive gets kIpsetSocket whatever the request was.
#pragma once

#include "core/error_kind.h"

namespace connlimit::core::ipset {

struct IpsetOp {
  const char* text;
  ErrorKind kind;
};

inline constexpr IpsetOp kOpProtocol{"ipset protocol", ErrorKind::kIpsetHandshake};
inline constexpr IpsetOp kOpType{"ipset type", ErrorKind::kIpsetType};
inline constexpr IpsetOp kOpCreate{"ipset create", ErrorKind::kIpset};
inline constexpr IpsetOp kOpAdd{"ipset add", ErrorKind::kIpset};
inline constexpr IpsetOp kOpDelete{"ipset del", ErrorKind::kIpsetDelete};
inline constexpr IpsetOp kOpTest{"ipset test", ErrorKind::kIpset};
inline constexpr IpsetOp kOpList{"ipset list", ErrorKind::kIpset};
inline constexpr IpsetOp kOpDestroy{"ipset destroy", ErrorKind::kIpset};
inline constexpr IpsetOp kOpFlush{"ipset flush", ErrorKind::kIpset};
inline constexpr IpsetOp kOpRename{"ipset rename", ErrorKind::kIpset};
inline constexpr IpsetOp kOpSwap{"ipset swap", ErrorKind::kIpsetSwap};

}  // namespace connlimit::core::ipset
