// SPDX-License-Identifier: GPL-2.0-or-later
// NftTable: one iptables-nft table (family, name, network namespace) as a JS object, with the
// same methods as LegacyTable so src/firewall.ts drives either. Methods return promises and do
// their kernel work in the libuv pool (core/nft/nft_table). The object holds only the
// namespace fd; close() releases it (workers in flight keep their own reference until they
// finish), and so does the finalizer if close() was forgotten.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "core/nft/nft_table.h"
#include "core/netns_guard.h"

namespace connlimit::js {

class NftTable : public Napi::ObjectWrap<NftTable> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit NftTable(const Napi::CallbackInfo& info);

 private:
  Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value Commit(const Napi::CallbackInfo& info);
  Napi::Value List(const Napi::CallbackInfo& info);
  Napi::Value Check(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  // For backend 'auto': what the legacy and the nf_tables table each hold (core/backend_probe).
  Napi::Value Usage(const Napi::CallbackInfo& info);
  // Test only: commit with a stale generation id in the first N attempts; resolves to the
  // number of attempts made (proves the ERESTART retry against the real kernel).
  Napi::Value CommitStale(const Napi::CallbackInfo& info);

  // A rejected promise when closed or not opened yet, else nothing.
  std::optional<Napi::Promise> Unusable(Napi::Env env);
  core::TableTarget Target() const;

  core::TableTarget target_;
  std::string netns_path_;
  std::shared_ptr<core::NetnsFd> netns_;
  std::shared_ptr<core::nft::TableSession> session_ = core::nft::NewTableSession();
  bool opened_ = false;
  bool closed_ = false;
};

}  // namespace connlimit::js
