// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/legacy/table_version.h"

// The uapi structs as libiptc includes them (the kernel's headers alone clash with netinet/in.h).
#include <libiptc/libip6tc.h>
#include <libiptc/libiptc.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <vector>

#include "core/netns_guard.h"

namespace connlimit::core::legacy {

namespace {

// EEXIST: a table being instantiated by another reader (as iptc_table.cc's Open() retries).
// EAGAIN: the table changed between the two reads, so the sizes no longer match.
constexpr int kAttempts = 5;

struct Hash {
  uint64_t h = 1469598103934665603ull;
  void Add(const void* p, size_t n) {
    auto* b = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
  }
};

template <typename Info, typename Entries, typename Entry>
Result<uint64_t> Version(const TableTarget& t, int domain, int level, int get_info, int get_entries) {
  auto ns = NetnsGuard::Enter(t.netns_fd);
  if (!ns.ok()) return ns.error();
  int fd = socket(domain, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (fd < 0) return KernelError{"table version", errno, t.table, -1, ErrorKind::kTableInit};
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  int err = 0;
  for (int attempt = 1; attempt <= kAttempts; attempt++) {
    Info info{};
    std::strncpy(info.name, t.table.c_str(), sizeof info.name - 1);
    socklen_t len = sizeof info;
    if (getsockopt(fd, level, get_info, &info, &len) < 0) {
      err = errno;
      if (err == EEXIST) continue;
      break;
    }
    std::vector<uint8_t> buf(sizeof(Entries) + info.size);
    auto* entries = reinterpret_cast<Entries*>(buf.data());
    std::strncpy(entries->name, t.table.c_str(), sizeof entries->name - 1);
    entries->size = info.size;
    len = static_cast<socklen_t>(buf.size());
    if (getsockopt(fd, level, get_entries, entries, &len) < 0) {
      err = errno;
      if (err == EAGAIN || err == EEXIST) continue;
      break;
    }
    Hash hash;
    hash.Add(&info.valid_hooks, sizeof info.valid_hooks);
    hash.Add(info.hook_entry, sizeof info.hook_entry);
    hash.Add(info.underflow, sizeof info.underflow);
    hash.Add(&info.num_entries, sizeof info.num_entries);
    // Counters change with every packet: zeroed, so only what the rules say is hashed.
    auto* table = reinterpret_cast<uint8_t*>(entries->entrytable);
    for (size_t off = 0; off + sizeof(Entry) <= info.size;) {
      auto* e = reinterpret_cast<Entry*>(table + off);
      if (e->next_offset < sizeof(Entry)) break;
      std::memset(&e->counters, 0, sizeof e->counters);
      off += e->next_offset;
    }
    hash.Add(table, info.size);
    return hash.h;
  }
  return KernelError{"table version", err, t.table, -1, ErrorKind::kTableInit};
}

}  // namespace

Result<uint64_t> TableVersion(const TableTarget& t) {
  return t.family == Family::kIpv4
             ? Version<ipt_getinfo, ipt_get_entries, ipt_entry>(t, AF_INET, IPPROTO_IP, IPT_SO_GET_INFO, IPT_SO_GET_ENTRIES)
             : Version<ip6t_getinfo, ip6t_get_entries, ip6t_entry>(t, AF_INET6, IPPROTO_IPV6, IP6T_SO_GET_INFO, IP6T_SO_GET_ENTRIES);
}

}  // namespace connlimit::core::legacy
