// SPDX-License-Identifier: GPL-2.0-or-later
// NftablesTable: the native nftables form (backend 'nftables') in one family and network
// namespace, as a JS object with the methods src/firewall.ts drives on every backend (open,
// commit, list, check, close). Kernel work runs in the libuv pool (core/nft/nftables_table).
// The object holds only the namespace fd; close() (or the finalizer) releases it.
#pragma once

#include <napi.h>

#include <memory>
#include <optional>
#include <string>

#include "core/netns_guard.h"
#include "core/table_ops.h"

namespace connlimit::js {

class NftablesTable : public Napi::ObjectWrap<NftablesTable> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit NftablesTable(const Napi::CallbackInfo& info);

 private:
  Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value Commit(const Napi::CallbackInfo& info);
  Napi::Value List(const Napi::CallbackInfo& info);
  Napi::Value Check(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  // A rejected promise when closed or not opened yet, else nothing.
  std::optional<Napi::Promise> Unusable(Napi::Env env);
  core::TableTarget Target() const;

  core::TableTarget target_;
  std::string netns_path_;
  std::shared_ptr<core::NetnsFd> netns_;
  bool opened_ = false;
  bool closed_ = false;
};

}  // namespace connlimit::js
