// SPDX-License-Identifier: GPL-2.0-or-later
// I/O: what each backend holds for one table in one namespace, for `backend: 'auto'`. Reads
// only: /proc/thread-self/net/ip{,6}_tables_names tells whether the x_tables table exists
// (asking libiptc would instantiate it, and iptables-nft-save would then warn about legacy
// tables), and only then is it read; nf_tables is asked over netlink.
#pragma once

#include "core/result.h"
#include "core/table_ops.h"

namespace connlimit::core {

struct BackendUsage {
  bool legacy_table = false;  // the x_tables table exists in the namespace
  unsigned legacy_rules = 0;  // its rules plus its user chains
  bool nft_table = false;     // the iptables-nft table (family ip/ip6) exists
  unsigned nft_rules = 0;     // its user chains plus its rules
  // Both counts are whole only when both are non-zero (the conflict error names them); else
  // legacy_rules says 0 or 1, and nft_rules counts the rules only up to the first.
};

Result<BackendUsage> ProbeBackends(const TableTarget& target);

}  // namespace connlimit::core
