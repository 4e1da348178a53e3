// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/legacy/xt_socket.h"

#include <linux/netfilter_ipv6/ip6_tables.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace connlimit::core::legacy {
namespace {

static_assert(sizeof(struct ipt_getinfo) == sizeof(struct ip6t_getinfo), "one info layout");
static_assert(sizeof(struct ipt_get_entries) == sizeof(struct ip6t_get_entries), "one entries layout");
static_assert(IPT_SO_GET_INFO == IP6T_SO_GET_INFO && IPT_SO_GET_ENTRIES == IP6T_SO_GET_ENTRIES &&
                  IPT_SO_SET_REPLACE == IP6T_SO_SET_REPLACE && IPT_SO_SET_ADD_COUNTERS == IP6T_SO_SET_ADD_COUNTERS,
              "one option number each");

// EEXIST: a table being instantiated by another reader (as iptc_table.cc's Open() retries).
constexpr int kFirstReadAttempts = 3;

int Level(Family family) { return family == Family::kIpv4 ? IPPROTO_IP : IPPROTO_IPV6; }

void Name(char* out, size_t size, const std::string& table) {
  std::memset(out, 0, size);
  std::strncpy(out, table.c_str(), size - 1);
}

}  // namespace

Result<XtSocket> XtSocket::Open(Family family, const std::string& table) {
  int fd = socket(family == Family::kIpv4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (fd < 0) return KernelError{"iptc_init", errno, table, -1, ErrorKind::kTableInit};
  return XtSocket(fd, family, table);
}

XtSocket::XtSocket(XtSocket&& other) noexcept : fd_(other.fd_), family_(other.family_), table_(std::move(other.table_)) {
  other.fd_ = -1;
}

XtSocket::~XtSocket() {
  if (fd_ >= 0) close(fd_);
}

Result<TableInfo> XtSocket::Info() const {
  TableInfo info{};
  int err = 0;
  for (int attempt = 1; attempt <= kFirstReadAttempts; attempt++) {
    Name(info.name, sizeof info.name, table_);
    socklen_t len = sizeof info;
    if (getsockopt(fd_, Level(family_), IPT_SO_GET_INFO, &info, &len) == 0) return info;
    err = errno;
    if (err != EEXIST) break;
  }
  return KernelError{"iptc_init", err, table_, -1, ErrorKind::kTableInit};
}

Result<std::vector<uint8_t>> XtSocket::Entries(const TableInfo& info) const {
  std::vector<uint8_t> buf(sizeof(struct ipt_get_entries) + info.size);
  auto* entries = reinterpret_cast<struct ipt_get_entries*>(buf.data());
  Name(entries->name, sizeof entries->name, table_);
  entries->size = info.size;
  socklen_t len = static_cast<socklen_t>(buf.size());
  if (getsockopt(fd_, Level(family_), IPT_SO_GET_ENTRIES, entries, &len) < 0)
    return KernelError{"iptc_init", errno, table_, -1, ErrorKind::kTableInit};
  return buf;
}

int XtSocket::Replace(std::vector<uint8_t>& replace) const {
  int r = setsockopt(fd_, Level(family_), IPT_SO_SET_REPLACE, replace.data(), static_cast<socklen_t>(replace.size()));
  return r < 0 ? errno : 0;
}

int XtSocket::AddCounters(const std::vector<struct xt_counters>& counters) const {
  std::vector<uint8_t> buf(sizeof(struct xt_counters_info) + counters.size() * sizeof(struct xt_counters));
  auto* info = reinterpret_cast<struct xt_counters_info*>(buf.data());
  Name(info->name, sizeof info->name, table_);
  info->num_counters = static_cast<unsigned>(counters.size());
  std::memcpy(buf.data() + sizeof(struct xt_counters_info), counters.data(), counters.size() * sizeof(struct xt_counters));
  int r = setsockopt(fd_, Level(family_), IPT_SO_SET_ADD_COUNTERS, buf.data(), static_cast<socklen_t>(buf.size()));
  return r < 0 ? errno : 0;
}

}  // namespace connlimit::core::legacy
