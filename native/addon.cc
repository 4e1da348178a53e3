// SPDX-License-Identifier: GPL-2.0-or-later
// The addon's export table and per-environment state; nothing else. Loaded once per
// environment (main thread or Worker): no statics anywhere in native/.
#include <napi.h>

#include <string>

#include "core/legacy/entry_codec.h"
#include "js/conntrack.h"
#include "js/ct_watch.h"
#include "js/convert.h"
#include "js/errors.h"
#include "js/legacy_table.h"
#include "js/promise_worker.h"

namespace connlimit::js {

class ConnlimitAddon : public Napi::Addon<ConnlimitAddon> {
 public:
  ConnlimitAddon(Napi::Env env, Napi::Object exports) {
    DefineAddon(exports, {
                             InstanceValue("LegacyTable", LegacyTable::Define(env), napi_enumerable),
                             InstanceMethod<&ConnlimitAddon::EncodeLegacyRule>("_encodeLegacyRule"),
                             InstanceMethod<&ConnlimitAddon::DecodeLegacyRule>("_decodeLegacyRule"),
                             InstanceMethod<&ConnlimitAddon::SameLegacyRule>("_sameLegacyRule"),
                             InstanceValue("Conntrack", Conntrack::Define(env), napi_enumerable),
                             InstanceValue("ConntrackList", ConntrackList::Define(env), napi_enumerable),
                             InstanceMethod<&ConnlimitAddon::Ping>("_ping"),
                             InstanceMethod<&ConnlimitAddon::PingSync>("_pingSync"),
                             InstanceValue("ConntrackWatch", ConntrackWatch::Define(env), napi_enumerable),
                         });
  }

 private:
  // Test only: the entry bytes for a rule, to compare with bytes captured from iptables-legacy.
  Napi::Value EncodeLegacyRule(const Napi::CallbackInfo& info) {
    auto family = FamilyFromJs(info[0]);
    auto bytes = core::legacy::EncodeEntry(family, RuleFromJs(info[1], family));
    if (!bytes.ok()) throw ErrorFromKernel(info.Env(), bytes.error());
    return Napi::Buffer<uint8_t>::Copy(info.Env(), bytes.value().data(), bytes.value().size());
  }

  // Test only: decode entry bytes; info[2] lists the names to take as user chains.
  Napi::Value DecodeLegacyRule(const Napi::CallbackInfo& info) {
    auto family = FamilyFromJs(info[0]);
    if (!info[1].IsBuffer()) throw Napi::TypeError::New(info.Env(), "entry must be a Buffer");
    auto entry = info[1].As<Napi::Buffer<uint8_t>>();
    std::vector<std::string> chains;
    if (info[2].IsArray()) {
      auto a = info[2].As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); i++) chains.push_back(a.Get(i).As<Napi::String>().Utf8Value());
    }
    auto rule = core::legacy::DecodeEntry(family, entry.Data(), entry.Length(), std::nullopt, [&chains](const std::string& name) {
      for (const auto& c : chains)
        if (c == name) return true;
      return false;
    });
    if (!rule.ok()) throw ErrorFromKernel(info.Env(), rule.error());
    return RuleToJs(info.Env(), rule.value(), family);
  }

  // Test only: the comparison delete/check/ensure use.
  Napi::Value SameLegacyRule(const Napi::CallbackInfo& info) {
    auto family = FamilyFromJs(info[0]);
    bool same = core::legacy::SameRule(family, RuleFromJs(info[1], family), RuleFromJs(info[2], family));
    return Napi::Boolean::New(info.Env(), same);
  }

  // Test only (benchmarks): one PromiseWorker round trip that does no work, the floor of our
  // per-call overhead (queue to the libuv pool, run, settle the promise on the main thread).
  Napi::Value Ping(const Napi::CallbackInfo& info) {
    return PromiseWorker<core::Unit>::Start(
        info.This().As<Napi::Object>(), "connlimit:ping", []() -> core::Result<core::Unit> { return core::Unit{}; },
        [](Napi::Env env, core::Unit&) -> Napi::Value { return env.Undefined(); });
  }

  // Test only (benchmarks): a synchronous call that does no work, to set _ping beside the bare
  // cost of crossing into the addon.
  Napi::Value PingSync(const Napi::CallbackInfo& info) { return info.Env().Undefined(); }
};

}  // namespace connlimit::js

using connlimit::js::ConnlimitAddon;
NODE_API_ADDON(ConnlimitAddon)
