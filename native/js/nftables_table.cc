// SPDX-License-Identifier: GPL-2.0-or-later
#include "js/nftables_table.h"

#include "core/nft/native/nftables_codec.h"

namespace connlimit::js {

void NftablesBackend::ReadOptions(const Napi::Object& o, core::TableTarget& target) {
  target.table = core::nft::kNftablesTable;
  // No lock, as on the nft backend: the generation id guards the batch, and the timeout
  // bounds how long a commit retries while other writers keep changing the ruleset.
  auto timeout = o.Get("lockTimeoutMs");
  if (timeout.IsNumber()) target.lock_timeout_ms = timeout.As<Napi::Number>().Int32Value();
}

Napi::Function NftablesTable::Define(Napi::Env env) {
  return TableWrap::Define(env, {InstanceMethod<&NftablesTable::Destroy>("destroy"), InstanceMethod<&NftablesTable::IoCounts>("_ioCounts"),
                                 InstanceMethod<&NftablesTable::Port>("port")});
}

Napi::Value NftablesTable::Destroy(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&] {
    return Run<int>(
        "destroy", [session = backend().session](const core::TableTarget& t) { return core::nft::DestroyNftablesTables(t, *session); },
        [](Napi::Env e, int& removed) -> Napi::Value { return Napi::Number::New(e, removed); });
  });
}

Napi::Value NftablesTable::IoCounts(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&] {
    return Run<core::nft::SocketCounts>(
        "ioCounts",
        [session = backend().session](const core::TableTarget&) -> core::Result<core::nft::SocketCounts> {
          return core::nft::CountsOf(*session);
        },
        [](Napi::Env e, core::nft::SocketCounts& c) -> Napi::Value {
          auto o = Napi::Object::New(e);
          o.Set("requests", Napi::Number::New(e, static_cast<double>(c.requests)));
          o.Set("dumps", Napi::Number::New(e, static_cast<double>(c.dumps)));
          o.Set("batches", Napi::Number::New(e, static_cast<double>(c.batches)));
          return o;
        });
  });
}

Napi::Value NftablesTable::Port(const Napi::CallbackInfo& info) {
  const auto* b = open_backend();
  return Napi::Number::New(info.Env(), b ? b->session->port.load() : 0);
}

template class TableWrap<NftablesTable, NftablesBackend>;

}  // namespace connlimit::js
