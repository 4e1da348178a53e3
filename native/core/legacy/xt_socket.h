// SPDX-License-Identifier: GPL-2.0-or-later
// I/O: the raw socket libiptc itself talks to x_tables through, without libiptc: a table's
// info (IPT_SO_GET_INFO), its entries as the kernel holds them (IPT_SO_GET_ENTRIES), a whole
// new table (IPT_SO_SET_REPLACE) and counters added to it (IPT_SO_SET_ADD_COUNTERS); the IP6T_
// ones for IPv6, the same layouts. Used where libiptc's parse of the table into its cache is
// not needed: the table's version (table_version.cc) and a whole-table write (table_replace.cc).
#pragma once

// netinet/in.h before the uapi header, which then leaves its definitions to it.
#include <netinet/in.h>
#include <linux/netfilter_ipv4/ip_tables.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/rule_spec.h"

namespace connlimit::core::legacy {

// ipt_getinfo and ip6t_getinfo are one layout.
using TableInfo = struct ipt_getinfo;

class XtSocket {
 public:
  // A raw socket of `family`, in the calling thread's namespace.
  static Result<XtSocket> Open(Family family, const std::string& table);
  XtSocket(XtSocket&& other) noexcept;
  XtSocket& operator=(XtSocket&&) = delete;
  ~XtSocket();

  // The table's hooks, entry count and size. A table the kernel is instantiating for another
  // reader at that moment (EEXIST, as iptc_table.cc's Open() retries) is asked again.
  Result<TableInfo> Info() const;
  // The entries `info` describes, as one blob (struct ipt_get_entries, its entrytable from
  // EntryTable() on). EAGAIN: the table changed since `info`.
  Result<std::vector<uint8_t>> Entries(const TableInfo& info) const;
  static uint8_t* EntryTable(std::vector<uint8_t>& entries) { return entries.data() + sizeof(struct ipt_get_entries); }
  // A whole table (struct ipt_replace and its entries, counters pointing at num_counters of
  // them): 0, or the errno (EAGAIN: num_counters is not the table's entry count any more).
  int Replace(std::vector<uint8_t>& replace) const;
  // Adds `counters` to the table's first entries, in order (struct xt_counters_info).
  int AddCounters(const std::vector<struct xt_counters>& counters) const;

 private:
  XtSocket(int fd, Family family, const std::string& table) : fd_(fd), family_(family), table_(table) {}
  int fd_;
  Family family_;
  std::string table_;
};

}  // namespace connlimit::core::legacy
