// SPDX-License-Identifier: GPL-2.0-or-later
// I/O: what an x_tables table holds, as one number that changes when anything in it changes
// but its counters, for fw.apply()/keep() to skip reading and planning a table that did not
// change (x_tables sends no notification and has no generation id). One IPT_SO_GET_INFO and one
// IPT_SO_GET_ENTRIES getsockopt, the table's entries hashed with their counters zeroed; no
// libiptc, no lock, no rule decoded.
#pragma once

#include <cstdint>

#include "core/result.h"
#include "core/table_ops.h"

namespace connlimit::core::legacy {

// FNV-1a 64 of the table's hooks, entry count and entries (counters zeroed).
Result<uint64_t> TableVersion(const TableTarget& target);

}  // namespace connlimit::core::legacy
