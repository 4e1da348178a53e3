// SPDX-License-Identifier: GPL-2.0-or-later
// IptablesNftTable (backend 'nft'): one table in nf_tables as iptables-nft writes it, as a JS
// object (the lifecycle in js/table_wrap), with the methods every table wrapper has so
// src/firewall.ts drives any of them, plus usage() for backend 'auto'. Kernel work goes
// through core/nft/compat/iptables_nft_table and core/nft/driver.
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "core/nft/compat/iptables_nft_table.h"
#include "js/table_wrap.h"

namespace connlimit::js {

// One session per handle: its socket and what it has read, shared with the calls in flight, so
// close() closes the socket now or when the last of them ends.
struct IptablesNftBackend {
  static constexpr const char* kClassName = "IptablesNftTable";
  static constexpr const char* kWorkerPrefix = "connlimit:nft-";
  static void ReadOptions(const Napi::Object& options, core::TableTarget& target);

  core::Result<core::Unit> ProbeTable(const core::TableTarget& t) const { return core::nft::ProbeTable(t, *session); }
  core::Result<std::vector<core::OpResult>> CommitOps(const core::TableTarget& t, const std::vector<core::Op>& ops) const {
    return core::nft::CommitOps(t, ops, *session);
  }
  core::Result<std::vector<core::ListedChain>> ListTable(const core::TableTarget& t, core::Listing listing) const {
    return core::nft::ListTable(t, *session, listing);
  }
  core::Result<int> FindRule(const core::TableTarget& t, const std::string& chain, const core::RuleSpec& rule) const {
    return core::nft::FindRule(t, *session, chain, rule);
  }
  core::Result<uint64_t> Version(const core::TableTarget& t) const {
    auto gen = core::nft::SessionGeneration(t.netns_fd, *session);
    if (!gen.ok()) return gen.error();
    return uint64_t{gen.value()};
  }

  std::shared_ptr<core::nft::TableSession> session = core::nft::NewTableSession();
};

class IptablesNftTable : public TableWrap<IptablesNftTable, IptablesNftBackend> {
 public:
  using TableWrap::TableWrap;
  static Napi::Function Define(Napi::Env env);

 private:
  // For backend 'auto': what the legacy and the nf_tables table each hold (core/backend_probe).
  Napi::Value Usage(const Napi::CallbackInfo& info);
  // Test only: commit with a stale generation id in the first N attempts; resolves to the
  // number of attempts made (proves the ERESTART retry against the real kernel).
  Napi::Value CommitStale(const Napi::CallbackInfo& info);
  // The port id of the handle's socket (0 before its first call): one atomic read, no I/O.
  Napi::Value Port(const Napi::CallbackInfo& info);
  // The generation id the last commit produced (0 when unknown): one atomic read, no I/O.
  Napi::Value Committed(const Napi::CallbackInfo& info);
};

// Compiled once, in iptables_nft_table.cc, not in every file that includes this header.
extern template class TableWrap<IptablesNftTable, IptablesNftBackend>;

}  // namespace connlimit::js
