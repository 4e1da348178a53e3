// SPDX-License-Identifier: GPL-2.0-or-later
// I/O: what each backend holds for one table in one namespace, for `backend: 'auto'`. Reads
// only: /proc/thread-self/net/ip{,6}_tables_names tells whether the x_tables table exists
// (asking libiptc would instantiate it, and iptables-nft-save would then warn about legacy
// tables), and only then is it read; nf_tables is asked over netlink.
#pragma once

#include "core/result.h"
#include "core/table_ops.h"

namespace connlimit::core {
namespace nft {
struct TableSession;
}  // namespace nft

struct BackendUsage {
  bool legacy_table = false;  // the x_tables table exists in the namespace
  unsigned legacy_rules = 0;  // its rules plus its user chains
  bool nft_table = false;     // the iptables-nft table (family ip/ip6) exists
  unsigned nft_rules = 0;     // its rules plus its user chains
};

// nf_tables is read over the handle's session (core/nft/nft_table).
Result<BackendUsage> ProbeBackends(const TableTarget& target, nft::TableSession& session);

}  // namespace connlimit::core
