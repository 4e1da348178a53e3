// SPDX-License-Identifier: GPL-2.0-or-later
#include "js/iptables_nft_table.h"

#include "core/backend_probe.h"
#include "core/packed_ops.h"

namespace connlimit::js {

namespace nft = core::nft;

void IptablesNftBackend::ReadOptions(const Napi::Object& o, core::TableTarget& target) {
  target.table = o.Get("table").As<Napi::String>().Utf8Value();
  // No xtables lock: nf_tables batches are atomic and the generation id catches concurrent
  // writers (iptables-nft takes no lock either). The timeout bounds how long a commit keeps
  // retrying while they keep changing the ruleset.
  auto timeout = o.Get("lockTimeoutMs");
  if (timeout.IsNumber()) target.lock_timeout_ms = timeout.As<Napi::Number>().Int32Value();
}

Napi::Function IptablesNftTable::Define(Napi::Env env) {
  return TableWrap::Define(env, {
                                    InstanceMethod<&IptablesNftTable::Usage>("usage"),
                                    InstanceMethod<&IptablesNftTable::CommitStale>("_commitStale"),
                                    InstanceMethod<&IptablesNftTable::Port>("port"),
                                    InstanceMethod<&IptablesNftTable::Committed>("committedGeneration"),
                                });
}

Napi::Value IptablesNftTable::Usage(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&] {
    return Run<core::BackendUsage>(
        "usage", [](const core::TableTarget& t) { return core::ProbeBackends(t); },
        [](Napi::Env e, core::BackendUsage& u) -> Napi::Value {
          auto o = Napi::Object::New(e);
          o.Set("legacyTable", u.legacy_table);
          o.Set("legacyRules", u.legacy_rules);
          o.Set("nftTable", u.nft_table);
          o.Set("nftRules", u.nft_rules);
          return o;
        });
  });
}

Napi::Value IptablesNftTable::CommitStale(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&] {
    auto packed = PackedFromJs(info[0]);
    int stale = info[1].As<Napi::Number>().Int32Value();
    return Run<int>(
        "commit",
        [packed, stale, session = backend().session](const core::TableTarget& t) -> core::Result<int> {
          auto ops = core::DecodePackedOps(packed->data(), packed->size(), t.family);
          if (!ops.ok()) return ops.error();
          int attempts = 0;
          auto r = nft::CommitOps(t, ops.value(), *session, stale, &attempts);
          if (!r.ok()) return r.error();
          return attempts;
        },
        [](Napi::Env e, int& attempts) -> Napi::Value { return Napi::Number::New(e, attempts); });
  });
}

Napi::Value IptablesNftTable::Port(const Napi::CallbackInfo& info) {
  const auto* b = open_backend();
  return Napi::Number::New(info.Env(), b ? b->session->port.load() : 0);
}

Napi::Value IptablesNftTable::Committed(const Napi::CallbackInfo& info) {
  const auto* b = open_backend();
  return Napi::Number::New(info.Env(), b ? b->session->committed.load() : 0);
}

template class TableWrap<IptablesNftTable, IptablesNftBackend>;

}  // namespace connlimit::js
