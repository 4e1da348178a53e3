// SPDX-License-Identifier: GPL-2.0-or-later
#include "js/ruleset_watch.h"

#include <linux/netfilter.h>

#include <cstring>
#include <string>
#include <utility>

#include "js/errors.h"
#include "js/promise_worker.h"

namespace connlimit::js {

namespace nft = core::nft;

namespace {

// The options object of src/apply/keep.ts (NativeRulesetWatchOptions in src/native-types.ts).
nft::RulesetWatcherOptions OptionsFromJs(Napi::Env env, const Napi::Value& v) {
  if (!v.IsObject()) throw Napi::TypeError::New(env, "ruleset watch options");
  auto o = v.As<Napi::Object>();
  nft::RulesetWatcherOptions w;
  auto netns = o.Get("netns");
  if (netns.IsString()) w.netns_path = netns.As<Napi::String>().Utf8Value();
  w.family = o.Get("family").As<Napi::String>().Utf8Value() == "ipv6" ? NFPROTO_IPV6 : NFPROTO_IPV4;
  w.table = o.Get("table").As<Napi::String>().Utf8Value();
  w.table_prefix = o.Get("tablePrefix").ToBoolean();
  auto set = o.Get("set");
  if (set.IsString()) w.set = set.As<Napi::String>().Utf8Value();
  return w;
}

const char* KindName(nft::Generation::Kind k) {
  switch (k) {
    case nft::Generation::Kind::kReady: return "ready";
    case nft::Generation::Kind::kOverrun: return "overrun";
    case nft::Generation::Kind::kCommit: break;
  }
  return "commit";
}

// Plain Node-API calls that stop at the first failure: while a Worker is being terminated
// every call that may run JS fails, and a delivery that can't be built is simply dropped
// (js/ct_watch.cc says why node-addon-api's throwing calls must not be used here).
bool Build(napi_env env, const RulesetDelivery& d, napi_value* err, napi_value* gen) {
  napi_value null_value = nullptr;
  if (napi_get_null(env, &null_value) != napi_ok) return false;
  auto str = [&](const std::string& s, napi_value* out) { return napi_create_string_utf8(env, s.data(), s.size(), out) == napi_ok; };
  auto num = [&](double x, napi_value* out) { return napi_create_double(env, x, out) == napi_ok; };
  auto set = [&](napi_value o, const char* key, napi_value v) { return napi_set_named_property(env, o, key, v) == napi_ok; };
  napi_value v = nullptr;
  if (d.failed) {
    const auto& e = d.error;
    std::string message = e.op + ": " + strerror(e.errnum);
    if (!e.detail.empty()) message += " (" + e.detail + ")";
    napi_value text = nullptr;
    if (!str(message, &text) || napi_create_error(env, nullptr, text, err) != napi_ok) return false;
    const char* kind = ErrorKindName(e.kind);
    return num(e.errnum, &v) && set(*err, "errno", v) && str(kind ? kind : "", &v) && set(*err, "kind", v) && str(e.op, &v) &&
           set(*err, "op", v) && str(e.detail, &v) && set(*err, "detail", v) && ((*gen = null_value), true);
  }
  *err = null_value;
  const auto& g = d.generation;
  napi_value ports = nullptr;
  if (napi_create_array_with_length(env, g.ports.size(), &ports) != napi_ok) return false;
  for (uint32_t i = 0; i < g.ports.size(); i++) {
    if (!num(g.ports[i], &v) || napi_set_element(env, ports, i, v) != napi_ok) return false;
  }
  return napi_create_object(env, gen) == napi_ok && str(KindName(g.kind), &v) && set(*gen, "kind", v) && num(g.genid, &v) &&
         set(*gen, "genid", v) && num(g.messages, &v) && set(*gen, "messages", v) && set(*gen, "ports", ports);
}

}  // namespace

void CallRulesetJs(Napi::Env env, Napi::Function callback, std::nullptr_t*, RulesetDelivery* delivery) {
  std::unique_ptr<RulesetDelivery> owned(delivery);
  if (env == nullptr || callback.IsEmpty()) return;  // tearing down: drop it
  napi_value args[2] = {nullptr, nullptr};
  if (!Build(env, *delivery, &args[0], &args[1])) return;
  napi_value undefined = nullptr;
  napi_get_undefined(env, &undefined);
  if (napi_call_function(env, undefined, callback, 2, args, nullptr) == napi_pending_exception) {
    // A listener threw: that is the process's uncaught exception, as for any event emitter.
    napi_value exception = nullptr;
    napi_valuetype type = napi_undefined;
    if (napi_get_and_clear_last_exception(env, &exception) == napi_ok && napi_typeof(env, exception, &type) == napi_ok &&
        type != napi_undefined && type != napi_null) {
      napi_fatal_exception(env, exception);
    }
  }
}

Napi::Function RulesetWatch::Define(Napi::Env env) {
  return DefineClass(env, "RulesetWatch", {InstanceMethod<&RulesetWatch::Close>("close")});
}

// new RulesetWatch(options, callback(err, generation)): starts at once; the first delivery is
// { kind: 'ready' } once subscribed, or the error opening the socket.
RulesetWatch::RulesetWatch(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RulesetWatch>(info) {
  Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "ruleset watch callback");
    auto options = OptionsFromJs(env, info[0]);
    tsfn_ = RulesetTsfn::New(env, info[1].As<Napi::Function>(), "connlimit:ruleset-watch", 0, 1);
    RulesetTsfn tsfn = tsfn_;  // copies are handles to the same function
    watcher_ = std::make_shared<nft::RulesetWatcher>(
        std::move(options),
        [tsfn](nft::Generation&& g) mutable {
          auto* d = new RulesetDelivery{std::move(g), false, {}};
          if (tsfn.NonBlockingCall(d) != napi_ok) {
            delete d;
            return false;
          }
          return true;
        },
        [tsfn](const core::KernelError& e) mutable {
          auto* d = new RulesetDelivery{{}, true, e};
          if (tsfn.NonBlockingCall(d) != napi_ok) delete d;
        });
    auto started = watcher_->Start();
    if (!started.ok()) {
      tsfn_.Release();
      closed_ = true;
      throw ErrorFromKernel(env, started.error());
    }
    cleanup_ = env.AddCleanupHook(&RulesetWatch::Cleanup, this);
    return Napi::Value();
  });
}

RulesetWatch::~RulesetWatch() {
  // Collected without close(): the hook must not fire later on a deleted object.
  if (!closed_ && !cleanup_.IsEmpty()) cleanup_.Remove(Env());
  StopNow();
}

void RulesetWatch::StopNow() {
  if (closed_ || !watcher_) return;
  closed_ = true;
  watcher_->Stop();
  tsfn_.Release();
}

// Joins the thread in the pool, then releases the function on the JS thread. A second close()
// resolves at once.
Napi::Value RulesetWatch::Close(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (closed_) {
      auto d = Napi::Promise::Deferred::New(env);
      d.Resolve(env.Undefined());
      return d.Promise();
    }
    auto watcher = watcher_;
    RulesetTsfn tsfn = tsfn_;
    auto closing = PromiseWorker<core::Unit>::Start(
        info.This().As<Napi::Object>(), "connlimit:ruleset-watch-close",
        [watcher]() -> core::Result<core::Unit> {
          watcher->Stop();
          return core::Unit{};
        },
        [tsfn](Napi::Env e, core::Unit&) mutable -> Napi::Value {
          tsfn.Release();  // also when the promise can no longer be settled
          return e.Undefined();
        });
    closed_ = true;
    cleanup_.Remove(env);
    return closing;
  });
}

}  // namespace connlimit::js
