// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/legacy/table_version.h"

#include "core/legacy/xt_socket.h"  // first: netinet/in.h before the uapi headers

#include <linux/netfilter_ipv6/ip6_tables.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <vector>

#include "core/netns_guard.h"

namespace connlimit::core::legacy {

namespace {

// EAGAIN: the table changed between the two reads, so the sizes no longer match.
constexpr int kAttempts = 5;

struct Hash {
  uint64_t h = 1469598103934665603ull;
  void Add(const void* p, size_t n) {
    auto* b = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
  }
};

template <typename Entry>
Result<uint64_t> Version(const TableTarget& t) {
  auto ns = NetnsGuard::Enter(t.netns_fd);
  if (!ns.ok()) return ns.error();
  auto socket = XtSocket::Open(t.family, t.table);
  if (!socket.ok()) return KernelError{"table version", socket.error().errnum, t.table, -1, ErrorKind::kTableInit};
  int err = 0;
  for (int attempt = 1; attempt <= kAttempts; attempt++) {
    auto info = socket.value().Info();
    if (!info.ok()) {
      err = info.error().errnum;
      break;
    }
    auto read = socket.value().Entries(info.value());
    if (!read.ok()) {
      err = read.error().errnum;
      if (err == EAGAIN || err == EEXIST) continue;
      break;
    }
    const TableInfo& i = info.value();
    Hash hash;
    hash.Add(&i.valid_hooks, sizeof i.valid_hooks);
    hash.Add(i.hook_entry, sizeof i.hook_entry);
    hash.Add(i.underflow, sizeof i.underflow);
    hash.Add(&i.num_entries, sizeof i.num_entries);
    // Counters change with every packet: zeroed, so only what the rules say is hashed.
    uint8_t* table = XtSocket::EntryTable(read.value());
    for (size_t off = 0; off + sizeof(Entry) <= i.size;) {
      auto* e = reinterpret_cast<Entry*>(table + off);
      if (e->next_offset < sizeof(Entry)) break;
      std::memset(&e->counters, 0, sizeof e->counters);
      off += e->next_offset;
    }
    hash.Add(table, i.size);
    return hash.h;
  }
  return KernelError{"table version", err, t.table, -1, ErrorKind::kTableInit};
}

}  // namespace

Result<uint64_t> TableVersion(const TableTarget& t) {
  return t.family == Family::kIpv4 ? Version<ipt_entry>(t) : Version<ip6t_entry>(t);
}

}  // namespace connlimit::core::legacy
