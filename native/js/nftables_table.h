// SPDX-License-Identifier: GPL-2.0-or-later
// NftablesTable: the native nftables form (backend 'nftables') in one family and network
// namespace as a JS object (the lifecycle in js/table_wrap). Kernel work goes through
// core/nft/native/nftables_table, which also refuses what the form cannot hold.
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "core/nft/driver.h"
#include "core/nft/native/nftables_table.h"
#include "js/table_wrap.h"

namespace connlimit::js {

// One session per handle: its socket and what its commits learned (the cache), shared with
// the calls in flight, so close() closes the socket now or when the last of them ends.
struct NftablesBackend {
  static constexpr const char* kClassName = "NftablesTable";
  static constexpr const char* kWorkerPrefix = "connlimit:nftables-";
  static constexpr bool kOwnThread = true;
  static void ReadOptions(const Napi::Object& options, core::TableTarget& target);

  // Opens the session's socket (the one namespace switch) and reads the generation id.
  core::Result<core::Unit> ProbeTable(const core::TableTarget& t) const { return core::nft::ProbeTable(t, *session); }
  core::Result<std::vector<core::OpResult>> CommitOps(const core::TableTarget& t, const std::vector<core::Op>& ops) const {
    return core::nft::CommitNftablesOps(t, ops, *session);
  }
  // Always with rules: restore, the one caller of the chains alone, refuses the native form.
  core::Result<std::vector<core::ListedChain>> ListTable(const core::TableTarget& t, core::Listing) const {
    return core::nft::ListNftablesTable(t, *session);
  }
  core::Result<int> FindRule(const core::TableTarget& t, const std::string& chain, const core::RuleSpec& rule) const {
    return core::nft::FindNftablesRule(t, *session, chain, rule);
  }
  core::Result<uint64_t> Version(const core::TableTarget& t) const {
    auto gen = core::nft::SessionGeneration(t.netns_fd, *session);
    if (!gen.ok()) return gen.error();
    return uint64_t{gen.value()};
  }

  std::shared_ptr<core::nft::TableSession> session = core::nft::NewTableSession();
};

class NftablesTable : public TableWrap<NftablesTable, NftablesBackend> {
 public:
  using TableWrap::TableWrap;
  static Napi::Function Define(Napi::Env env);

 private:
  // Deletes every table of the form in this family in one batch; resolves to how many.
  Napi::Value Destroy(const Napi::CallbackInfo& info);
  // Test only: what the handle's socket has sent ({ requests, dumps, batches }), so a test
  // proves an update read nothing.
  Napi::Value IoCounts(const Napi::CallbackInfo& info);
  // The port id of the handle's socket (0 before its first call), as on the nft handle: every
  // commit of the handle goes through that socket, so fw.keep() skips its notifications.
  // One atomic read, no I/O.
  Napi::Value Port(const Napi::CallbackInfo& info);
};

// Compiled once, in nftables_table.cc, not in every file that includes this header.
extern template class TableWrap<NftablesTable, NftablesBackend>;

}  // namespace connlimit::js
