// SPDX-License-Identifier: GPL-2.0-or-later
// Matches and targets no module models (or whose data says what the model cannot): kept as
// the kernel holds them, name, revision and the data after the 32-byte xt_entry_match /
// xt_entry_target header, and written back byte for byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/xt/codec.h"

namespace connlimit::core::xt {

OpaqueExtension OpaqueOf(const std::string& name, uint8_t revision, const uint8_t* data, size_t len);

// EINVAL for a name the header cannot hold, or (a match) data its 16-bit size cannot count.
Result<XtBlob> EncodeOpaqueMatch(const OpaqueExtension& opaque);
Result<XtBlob> EncodeOpaqueTarget(const OpaqueExtension& opaque);

bool SameOpaque(const OpaqueExtension& a, const OpaqueExtension& b);

}  // namespace connlimit::core::xt
