// SPDX-License-Identifier: GPL-2.0-or-later
// LegacyTable (backend 'legacy'): one x_tables table as a JS object (the lifecycle in
// js/table_wrap), its kernel work done through libiptc (core/legacy/iptc_table).
#pragma once

#include <napi.h>

#include <string>
#include <vector>

#include "core/legacy/iptc_table.h"
#include "core/legacy/table_version.h"
#include "js/table_wrap.h"

namespace connlimit::js {

// libiptc reads and writes the whole table afresh in every call, so a handle holds nothing but
// its namespace fd. Writes take the xtables lock (lockPath, lockTimeoutMs) as `iptables -w` does.
struct LegacyBackend {
  static constexpr const char* kClassName = "LegacyTable";
  static constexpr const char* kWorkerPrefix = "connlimit:";
  static void ReadOptions(const Napi::Object& options, core::TableTarget& target);

  core::Result<core::Unit> ProbeTable(const core::TableTarget& t) const { return core::legacy::ProbeTable(t); }
  // Reads the packed ops itself, one at a time as it applies them (TableWrap's CommitPacked).
  core::Result<std::vector<core::OpResult>> CommitPacked(const core::TableTarget& t, const uint8_t* bytes, size_t size) const {
    return core::legacy::CommitPackedOps(t, bytes, size);
  }
  core::Result<uint64_t> Version(const core::TableTarget& t) const { return core::legacy::TableVersion(t); }
  core::Result<std::vector<core::ListedChain>> ListTable(const core::TableTarget& t, core::Listing listing) const {
    return core::legacy::ListTable(t, listing);
  }
  core::Result<int> FindRule(const core::TableTarget& t, const std::string& chain, const core::RuleSpec& rule) const {
    return core::legacy::FindRule(t, chain, rule);
  }
};

class LegacyTable : public TableWrap<LegacyTable, LegacyBackend> {
 public:
  using TableWrap::TableWrap;
  static Napi::Function Define(Napi::Env env);

 private:
  // A restore's table replace staged while its ops are packed (core/legacy/staged_image.h):
  // stageReplace(table, rules) makes one, with room for that many rules' entries;
  // stageOps(staged, packed, from, to) hands over whole ops packed[from, to) of a batch packed
  // from its start, applied in the pool while the main thread packs on; commitStaged(staged)
  // settles as commit() of the whole batch would.
  Napi::Value StageReplace(const Napi::CallbackInfo& info);
  Napi::Value StageOps(const Napi::CallbackInfo& info);
  Napi::Value CommitStaged(const Napi::CallbackInfo& info);
};

// Compiled once, in legacy_table.cc, not in every file that includes this header.
extern template class TableWrap<LegacyTable, LegacyBackend>;

}  // namespace connlimit::js
