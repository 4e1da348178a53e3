// SPDX-License-Identifier: GPL-2.0-or-later
#include "js/ct_watch.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <utility>

#include "js/ct_convert.h"
#include "js/errors.h"
#include "js/thread_delivery.h"

namespace connlimit::js {

namespace ct = core::ct;

namespace {

std::string KeyOf(const ct::WatchKey& k, const ct::WatchConfig& c) {
  return KeyText(k.family, k.addr, c.PrefixFor(k.family));
}

napi_value BatchToJs(RawBuilder& r, const ct::WatchBatch& b, const ct::WatchConfig& c) {
  napi_value o = r.Object();
  napi_value changes = r.Array(b.changes.size());
  for (uint32_t i = 0; i < b.changes.size() && r.ok(); i++) {
    const auto& ch = b.changes[i];
    napi_value x = r.Object();
    r.Set(x, "key", r.String(KeyOf(ch.key, c)));
    r.Set(x, "count", r.Number(static_cast<double>(ch.count)));
    r.Set(x, "delta", r.Number(static_cast<double>(ch.delta)));
    r.Set(x, "opened", r.Number(ch.opened));
    r.Set(x, "closed", r.Number(ch.closed));
    r.Set(changes, i, x);
  }
  napi_value crossings = r.Array(b.crossings.size());
  for (uint32_t i = 0; i < b.crossings.size() && r.ok(); i++) {
    const auto& cr = b.crossings[i];
    napi_value x = r.Object();
    r.Set(x, "key", r.String(KeyOf(cr.key, c)));
    r.Set(x, "above", r.Bool(cr.above));
    r.Set(x, "count", r.Number(static_cast<double>(cr.count)));
    r.Set(crossings, i, x);
  }
  r.Set(o, "changes", changes);
  r.Set(o, "crossings", crossings);
  r.Set(o, "crossingsDropped", r.Number(static_cast<double>(b.crossings_dropped)));
  r.Set(o, "events", r.Number(static_cast<double>(b.events)));
  r.Set(o, "initial", r.Bool(b.initial));
  r.Set(o, "resynced", r.Bool(b.resynced));
  r.Set(o, "overruns", r.Number(static_cast<double>(b.overruns)));
  r.Set(o, "overrunsTotal", r.Number(static_cast<double>(b.overruns_total)));
  return o;
}

// The options object of src/conntrack/watch-options.ts (NativeWatchOptions in src/native-types.ts).
ct::WatcherOptions OptionsFromJs(Napi::Env env, const Napi::Value& v) {
  if (!v.IsObject()) throw CtShape(env, "watch options");
  auto o = v.As<Napi::Object>();
  ct::WatcherOptions w;
  auto netns = o.Get("netns");
  if (netns.IsString()) w.netns_path = netns.As<Napi::String>().Utf8Value();
  w.config.filter = FilterFromJs(env, o.Get("filter"));
  w.config.key = o.Get("key").As<Napi::String>().Utf8Value() == "destination" ? ct::KeyField::kDestination : ct::KeyField::kSource;
  w.config.prefix4 = static_cast<uint8_t>(U32(o.Get("mask4")));
  w.config.prefix6 = static_cast<uint8_t>(U32(o.Get("mask6")));
  w.config.threshold = static_cast<uint64_t>(o.Get("threshold").As<Napi::Number>().DoubleValue());
  w.updates = o.Get("updates").ToBoolean();
  w.receive_buffer = static_cast<int>(U32(o.Get("receiveBuffer")));
  // src/conntrack validates 100..3600000; a raw caller's 0 must not make the thread dump in a loop.
  w.reconcile_ms = std::clamp(static_cast<int>(U32(o.Get("reconcileMs"))), 100, 3'600'000);
  auto stall = o.Get("testStallMs");
  if (stall.IsNumber()) w.test_stall_ms = static_cast<int>(U32(stall));
  return w;
}

}  // namespace

void CallWatchJs(Napi::Env env, Napi::Function callback, WatchContext* context, WatchDelivery* delivery) {
  std::unique_ptr<WatchDelivery> owned(delivery);
  // Node drains the queue of a closing function after its finalizer has run, with no env and
  // a context that is already deleted: touch nothing then (the thread was joined before).
  if (env == nullptr) return;
  // The thread sends the next batch only after this one is handled, whatever happens to it.
  struct Ack {
    WatchContext* c;
    ~Ack() {
      if (c && c->watcher) c->watcher->Acknowledge();
    }
  } ack{context};
  if (callback.IsEmpty()) return;  // tearing down: drop it
  RawBuilder r(env);
  napi_value err = delivery->failed ? r.Error(delivery->error) : r.Null();
  napi_value batch = delivery->failed ? r.Null() : BatchToJs(r, delivery->batch, context->watcher->config());
  if (r.ok()) CallListener(env, callback, err, batch);
}

Napi::Function ConntrackWatch::Define(Napi::Env env) {
  return DefineClass(env, "ConntrackWatch",
                     {
                         InstanceMethod<&ConntrackWatch::Counts>("counts"),
                         InstanceMethod<&ConntrackWatch::CountsVersion>("countsVersion"),
                         InstanceMethod<&ConntrackWatch::Count>("count"),
                         InstanceMethod<&ConntrackWatch::Stats>("stats"),
                         InstanceMethod<&ConntrackWatch::Ref>("ref"),
                         InstanceMethod<&ConntrackWatch::Unref>("unref"),
                         InstanceMethod<&ConntrackWatch::Close>("close"),
                     });
}

// new ConntrackWatch(options, callback(err, batch)): starts at once; errors opening the
// sockets (namespace, permission, missing ctnetlink) arrive through the callback.
ConntrackWatch::ConntrackWatch(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ConntrackWatch>(info) {
  Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!info[1].IsFunction()) throw CtShape(env, "watch callback");
    auto options = OptionsFromJs(env, info[0]);
    auto* context = new WatchContext();
    auto tsfn = WatchTsfn::New(env, info[1].As<Napi::Function>(), "connlimit:watch", 0, 1, context,
                               [](Napi::Env, void*, WatchContext* c) { delete c; });
    auto watcher = std::make_shared<ct::Watcher>(
        std::move(options), [tsfn](ct::WatchBatch&& batch) mutable { return Deliver(tsfn, new WatchDelivery{std::move(batch), false, {}}); },
        [tsfn](const core::KernelError& e) mutable { Deliver(tsfn, new WatchDelivery{{}, true, e}); });
    context->watcher = watcher;
    thread_.Start(env, std::move(watcher), tsfn);
    return Napi::Value();
  });
}

// counts() -> { reset, texts, ids, counts }: every key with a count, most first, as an id
// (Uint32Array) and a count (Float64Array); `texts` are the texts of the ids new since the
// last call, in id order after the ones JS holds. Two typed arrays instead of a string and a
// number per key: keys change far less often than counts. When the ids outgrow the live keys
// (clients come and go) they are renumbered: `reset` tells JS to drop the texts it holds.
Napi::Value ConntrackWatch::Counts(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto counts = thread_.watcher().Counts();  // a copy taken under the watcher's lock: never a dump
    bool reset = key_ids_.size() > 4096 && key_ids_.size() > 2 * counts.size();
    if (reset) key_ids_.clear();
    auto ids = Napi::Uint32Array::New(env, counts.size());
    auto values = Napi::Float64Array::New(env, counts.size());
    auto texts = Napi::Array::New(env);
    uint32_t named = 0;
    for (size_t i = 0; i < counts.size(); i++) {
      const auto& c = counts[i];
      auto [it, fresh] = key_ids_.try_emplace(core::ct::WatchKey{c.family, c.addr}, static_cast<uint32_t>(key_ids_.size()));
      if (fresh) texts.Set(named++, KeyText(c.family, c.addr, c.prefix_len));
      ids[i] = it->second;
      values[i] = static_cast<double>(c.count);
    }
    auto out = Napi::Object::New(env);
    out.Set("reset", reset);
    out.Set("texts", texts);
    out.Set("ids", ids);
    out.Set("counts", values);
    return out;
  });
}

// countsVersion(): moves on whenever a count may have changed, so JS keeps the Map it built
// from counts() until then (a lock and a number, where counts() copies and sorts every key).
Napi::Value ConntrackWatch::CountsVersion(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(thread_.watcher().CountsVersion()));
  });
}

// count(address, family 4 | 6): one key's count, masked to the watch's prefix; 0 when it holds
// none. The address was checked in TypeScript (net.isIP); -1 if inet_pton still refuses it.
Napi::Value ConntrackWatch::Count(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!info[0].IsString() || !info[1].IsNumber()) throw CtShape(env, "count key");
    std::string text = info[0].As<Napi::String>().Utf8Value();
    uint8_t family = info[1].As<Napi::Number>().Uint32Value() == 6 ? AF_INET6 : AF_INET;
    core::ct::Addr addr{};
    if (inet_pton(family, text.c_str(), addr.data()) != 1) return Napi::Number::New(env, -1);
    return Napi::Number::New(env, static_cast<double>(thread_.watcher().CountOf(family, addr)));
  });
}

Napi::Value ConntrackWatch::Stats(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    auto s = thread_.watcher().Stats();
    auto o = Napi::Object::New(info.Env());
    o.Set("events", static_cast<double>(s.events));
    o.Set("overruns", static_cast<double>(s.overruns));
    o.Set("resyncs", static_cast<double>(s.resyncs));
    o.Set("discarded", static_cast<double>(s.discarded));
    o.Set("receiveBuffer", s.receive_buffer);
    o.Set("reconciles", static_cast<double>(s.reconciles));
    o.Set("reconcileEntries", static_cast<double>(s.reconcile_entries));
    o.Set("reconcileBytes", static_cast<double>(s.reconcile_bytes));
    o.Set("unconfirmed", static_cast<double>(s.unconfirmed));
    o.Set("mode", s.polling ? "poll" : "events");
    return o;
  });
}

Napi::Value ConntrackWatch::Ref(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    thread_.Ref(info.Env());
    return info.Env().Undefined();
  });
}

Napi::Value ConntrackWatch::Unref(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    thread_.Unref(info.Env());
    return info.Env().Undefined();
  });
}

Napi::Value ConntrackWatch::Close(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value { return thread_.Close(info.Env(), info.This().As<Napi::Object>(), "connlimit:watch-close"); });
}

}  // namespace connlimit::js
