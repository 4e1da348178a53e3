// SPDX-License-Identifier: GPL-2.0-or-later
// I/O: a commit that empties the table first (restore without noflush: every chain flushed,
// every user chain deleted, then appends, chain creations and policies) written as one whole
// new table (table_image.h), without libiptc: libiptc's iptc_init would read every old entry
// into its cache only for the batch to drop them, and its commit would compile the result.
// Here the old table gives its entry count (IPT_SO_GET_INFO, which the replace must name) and,
// only when a built-in chain keeps its policy, its entries (that policy's verdict, and its
// counters, which libiptc 1.8.9 subtracts from those at the replace). Run by iptc_table.cc's Commit, under the xtables lock
// and in the table's namespace; the kernel's table afterwards is the one libiptc would leave
// (test 85 compares them byte for byte).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/legacy/table_image.h"
#include "core/result.h"
#include "core/table_ops.h"

namespace connlimit::core::legacy {

// Whether the packed batch (core/packed_ops.h) starts by emptying the table: a flush of every
// chain, then the deletion of every user chain.
bool EmptiesTable(const uint8_t* bytes, size_t size, Family family);

// One attempt at writing the table `image` holds (staged_image.h: such a batch's ops applied)
// over the kernel's: its entry count read, the policies the image keeps read when it keeps
// any, one replace. `*stale`: the kernel refused with EAGAIN (a writer that ignores the lock
// changed the table since its entry count was read): try again with the same image. A table
// of `apart_rules` rules or more is replaced apart from the JavaScript thread's CPU
// (apart_from_js_thread.h).
Result<Unit> WriteImage(const TableTarget& target, TableImage& image, size_t apart_rules, bool* stale);

}  // namespace connlimit::core::legacy
