// SPDX-License-Identifier: GPL-2.0-or-later
#include "js/ct_watch.h"

#include <sys/socket.h>

#include <utility>

#include "js/ct_convert.h"
#include "js/errors.h"
#include "js/promise_worker.h"

namespace connlimit::js {

namespace ct = core::ct;

namespace {

std::string KeyOf(const ct::WatchKey& k, const ct::WatchConfig& c) {
  return KeyText(k.family, k.addr, c.PrefixFor(k.family));
}

Napi::Object BatchToJs(Napi::Env env, const ct::WatchBatch& b, const ct::WatchConfig& c) {
  auto o = Napi::Object::New(env);
  auto changes = Napi::Array::New(env, b.changes.size());
  for (uint32_t i = 0; i < b.changes.size(); i++) {
    const auto& ch = b.changes[i];
    auto x = Napi::Object::New(env);
    x.Set("key", KeyOf(ch.key, c));
    x.Set("count", static_cast<double>(ch.count));
    x.Set("delta", static_cast<double>(ch.delta));
    x.Set("opened", ch.opened);
    x.Set("closed", ch.closed);
    changes.Set(i, x);
  }
  auto crossings = Napi::Array::New(env, b.crossings.size());
  for (uint32_t i = 0; i < b.crossings.size(); i++) {
    const auto& cr = b.crossings[i];
    auto x = Napi::Object::New(env);
    x.Set("key", KeyOf(cr.key, c));
    x.Set("above", cr.above);
    x.Set("count", static_cast<double>(cr.count));
    crossings.Set(i, x);
  }
  o.Set("changes", changes);
  o.Set("crossings", crossings);
  o.Set("crossingsDropped", static_cast<double>(b.crossings_dropped));
  o.Set("events", static_cast<double>(b.events));
  o.Set("initial", b.initial);
  o.Set("resynced", b.resynced);
  o.Set("overruns", static_cast<double>(b.overruns));
  o.Set("overrunsTotal", static_cast<double>(b.overruns_total));
  return o;
}

// The options object of src/conntrack-watch.ts (NativeWatchOptions in src/native-types.ts).
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
  auto stall = o.Get("testStallMs");
  if (stall.IsNumber()) w.test_stall_ms = static_cast<int>(U32(stall));
  return w;
}

}  // namespace

void CallWatchJs(Napi::Env env, Napi::Function callback, WatchContext* context, WatchDelivery* delivery) {
  std::unique_ptr<WatchDelivery> owned(delivery);
  // The thread sends the next batch only after this one is handled, whatever happens to it.
  struct Ack {
    WatchContext* c;
    ~Ack() {
      if (c && c->watcher) c->watcher->Acknowledge();
    }
  } ack{context};
  if (env == nullptr || callback.IsEmpty()) return;  // tearing down: drop it
  try {
    if (delivery->failed) {
      callback.Call({ErrorFromKernel(env, delivery->error).Value(), env.Null()});
    } else {
      const auto& config = context->watcher->config();
      callback.Call({env.Null(), BatchToJs(env, delivery->batch, config)});
    }
  } catch (const Napi::Error& e) {
    // A listener threw: that is the process's uncaught exception, as for any event emitter.
    napi_fatal_exception(env, e.Value());
  }
}

Napi::Function ConntrackWatch::Define(Napi::Env env) {
  return DefineClass(env, "ConntrackWatch",
                     {
                         InstanceMethod<&ConntrackWatch::Counts>("counts"),
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
    tsfn_ = WatchTsfn::New(env, info[1].As<Napi::Function>(), "connlimit:watch", 0, 1, context,
                           [](Napi::Env, void*, WatchContext* c) { delete c; });
    WatchTsfn tsfn = tsfn_;  // copies are handles to the same function
    watcher_ = std::make_shared<ct::Watcher>(
        std::move(options),
        [tsfn](ct::WatchBatch&& batch) mutable {
          auto* d = new WatchDelivery{std::move(batch), false, {}};
          if (tsfn.NonBlockingCall(d) != napi_ok) {
            delete d;
            return false;
          }
          return true;
        },
        [tsfn](const core::KernelError& e) mutable {
          auto* d = new WatchDelivery{{}, true, e};
          if (tsfn.NonBlockingCall(d) != napi_ok) delete d;
        });
    context->watcher = watcher_;
    auto started = watcher_->Start();
    if (!started.ok()) {
      tsfn_.Release();
      closed_ = true;
      throw ErrorFromKernel(env, started.error());
    }
    cleanup_ = env.AddCleanupHook(&ConntrackWatch::Cleanup, this);
    return Napi::Value();
  });
}

ConntrackWatch::~ConntrackWatch() {
  // Collected without close(): the hook must not fire later on a deleted object.
  if (!closed_ && !cleanup_.IsEmpty()) cleanup_.Remove(Env());
  StopNow();
}

void ConntrackWatch::StopNow() {
  // A constructor that threw (bad options) leaves nothing started.
  if (closed_ || !watcher_) return;
  closed_ = true;
  watcher_->Stop();
  tsfn_.Release();
}

Napi::Value ConntrackWatch::Counts(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto counts = watcher_->Counts();  // a copy taken under the watcher's lock: never a dump
    auto out = Napi::Array::New(env, counts.size() * 2);
    for (uint32_t i = 0; i < counts.size(); i++) {
      out.Set(2 * i, KeyText(counts[i].family, counts[i].addr, counts[i].prefix_len));
      out.Set(2 * i + 1, static_cast<double>(counts[i].count));
    }
    return out;
  });
}

Napi::Value ConntrackWatch::Stats(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    auto s = watcher_->Stats();
    auto o = Napi::Object::New(info.Env());
    o.Set("events", static_cast<double>(s.events));
    o.Set("overruns", static_cast<double>(s.overruns));
    o.Set("resyncs", static_cast<double>(s.resyncs));
    o.Set("discarded", static_cast<double>(s.discarded));
    o.Set("receiveBuffer", s.receive_buffer);
    return o;
  });
}

Napi::Value ConntrackWatch::Ref(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    if (!closed_) tsfn_.Ref(info.Env());
    return info.Env().Undefined();
  });
}

Napi::Value ConntrackWatch::Unref(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    if (!closed_) tsfn_.Unref(info.Env());
    return info.Env().Undefined();
  });
}

// Joins the thread in the pool (a dump in progress may take a moment), then releases the
// function on the JS thread. A second close() resolves at once.
Napi::Value ConntrackWatch::Close(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (closed_) {
      auto d = Napi::Promise::Deferred::New(env);
      d.Resolve(env.Undefined());
      return d.Promise();
    }
    closed_ = true;
    cleanup_.Remove(env);
    auto watcher = watcher_;
    WatchTsfn tsfn = tsfn_;
    return PromiseWorker<core::Unit>::Start(
        info.This().As<Napi::Object>(), "connlimit:watch-close",
        [watcher]() -> core::Result<core::Unit> {
          watcher->Stop();
          return core::Unit{};
        },
        [tsfn](Napi::Env e, core::Unit&) mutable -> Napi::Value {
          tsfn.Release();
          return e.Undefined();
        });
  });
}

}  // namespace connlimit::js
