// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/legacy/table_replace.h"

#include "core/legacy/xt_socket.h"  // first: netinet/in.h before the uapi headers

#include <linux/netfilter/x_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "core/apart_from_js_thread.h"
#include "core/legacy/iptc_error_text.h"
#include "core/legacy/table_image.h"
#include "core/packed_ops.h"

namespace connlimit::core::legacy {
namespace {

// A built-in chain whose policy the new table keeps: where its policy entry is in the old
// table and in the new one, and its counters when the old table was read.
struct KeptPolicy {
  unsigned old_index;
  unsigned new_index;
  struct xt_counters read;
};

// The old table's policy entries of the chains `image` keeps a policy of: their verdicts into
// the image, their places into `kept`.
template <typename Entry>
void ReadKeptPolicies(const TableInfo& info, std::vector<uint8_t>& entries, TableImage& image, std::vector<KeptPolicy>& kept) {
  const uint8_t* table = XtSocket::EntryTable(entries);
  unsigned index = 0;
  for (size_t off = 0; off + sizeof(Entry) <= info.size; index++) {
    const auto* e = reinterpret_cast<const Entry*>(table + off);
    if (e->next_offset < sizeof(Entry)) break;
    for (int hook = 0; hook < kHooks; hook++) {
      if (!(info.valid_hooks & (1u << hook)) || info.underflow[hook] != off || !image.KeepsPolicy(hook)) continue;
      const auto* t = reinterpret_cast<const struct xt_standard_target*>(table + off + e->target_offset);
      image.KeepPolicy(hook, t->verdict);
      kept.push_back(KeptPolicy{index, image.PolicyIndex(hook), e->counters});
    }
    off += e->next_offset;
  }
}

}  // namespace

bool EmptiesTable(const uint8_t* bytes, size_t size, Family family) {
  PackedOpReader in(bytes, size, family);
  Op op;
  if (!in.Next(op) || op.kind != Op::Kind::kFlush || !op.chain.empty()) return false;
  return in.Next(op) && op.kind == Op::Kind::kDeleteUserChains;
}

Result<Unit> WriteImage(const TableTarget& t, TableImage& image, size_t apart_rules, bool* stale) {
  *stale = false;
  auto socket = XtSocket::Open(t.family, t.table);
  if (!socket.ok()) return socket.error();
  const XtSocket& xt = socket.value();
  auto info = xt.Info();
  if (!info.ok()) return info.error();

  std::vector<KeptPolicy> kept;
  bool keeps = false;
  for (int hook = 0; hook < kHooks; hook++) keeps = keeps || ((info.value().valid_hooks & (1u << hook)) && image.KeepsPolicy(hook));
  if (keeps) {
    auto entries = xt.Entries(info.value());
    if (!entries.ok()) {
      *stale = entries.error().errnum == EAGAIN;
      return entries.error();
    }
    if (t.family == Family::kIpv4)
      ReadKeptPolicies<struct ipt_entry>(info.value(), entries.value(), image, kept);
    else
      ReadKeptPolicies<struct ip6t_entry>(info.value(), entries.value(), image, kept);
  }

  std::vector<uint8_t>& replace = image.Build(t.table);
  // The kernel hands back the old table's counters, read as it swaps the tables.
  std::vector<struct xt_counters> old_counters(info.value().num_entries);
  auto* repl = reinterpret_cast<struct ipt_replace*>(replace.data());
  repl->num_counters = info.value().num_entries;
  repl->counters = old_counters.data();
  int err;
  {
    std::optional<ApartFromJsThread> apart;
    if (image.Rules() >= apart_rules) apart.emplace();
    err = xt.Replace(replace);
  }
  if (err != 0) {
    *stale = err == EAGAIN;
    return KernelError{"iptc_commit", err, t.table + ": " + IptcErrorText("iptc_commit", err), -1, ErrorKind::kLegacyCommit};
  }
  // A kept policy counts only what passed between the read and the replace, as libiptc 1.8.9's
  // commit has it (COUNTER_MAP_ZEROED: the counters the replace hands back less those read);
  // every other entry starts at zero, which needs no call. A failure here leaves the table
  // written, only those few packets not counted (as iptc_table.cc's Landed() counts such a
  // commit done).
  std::vector<struct xt_counters> add;
  for (const KeptPolicy& k : kept) {
    const struct xt_counters& now = old_counters[k.old_index];
    if (now.pcnt == k.read.pcnt && now.bcnt == k.read.bcnt) continue;
    if (add.empty()) add.resize(image.Entries());
    add[k.new_index] = xt_counters{now.pcnt - k.read.pcnt, now.bcnt - k.read.bcnt};
  }
  if (!add.empty()) xt.AddCounters(add);
  return Unit{};
}

}  // namespace connlimit::core::legacy
