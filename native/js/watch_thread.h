// SPDX-License-Identifier: GPL-2.0-or-later
// WatchThread: the lifecycle shared by the JS objects that own a thread (a core/ watcher with
// Start() and Stop(), joined by Stop()) and the thread-safe function carrying its deliveries to
// JS (ConntrackWatch, RulesetWatch), written once. Test 75 guards it (Workers terminated with
// watches open), test 81 keep()'s use of it.
//
// Close() joins the thread in the pool (a dump in progress may take a moment), then releases
// the function on the JS thread. When the user never closed it, the env cleanup hook (a Worker
// terminated, the process exiting) or the owner's destruction stops it there and then: no JS
// can run any more, and the thread must be gone before the function is.
//
// The owner (an ObjectWrap) holds one as a member: it makes the thread-safe function and the
// watcher (whose sinks Deliver() through copies of that function), then calls Start().
#pragma once

#include <napi.h>

#include <memory>
#include <utility>

#include "core/result.h"
#include "js/errors.h"
#include "js/promise_worker.h"

namespace connlimit::js {

// Hands one delivery to the JS thread without waiting. False (the delivery deleted) when the
// function is closing or its queue is full.
template <typename Tsfn, typename Delivery>
bool Deliver(Tsfn& tsfn, Delivery* delivery) {
  if (tsfn.NonBlockingCall(delivery) != napi_ok) {
    delete delivery;
    return false;
  }
  return true;
}

template <typename Watcher, typename Tsfn>
class WatchThread {
 public:
  WatchThread() = default;
  // The cleanup hook holds this object's address.
  WatchThread(const WatchThread&) = delete;
  WatchThread& operator=(const WatchThread&) = delete;

  ~WatchThread() {
    // Collected without close(): the hook must not fire later on a deleted object.
    if (!closed_ && !cleanup_.IsEmpty()) cleanup_.Remove(Napi::Env(env_));
    StopNow();
  }

  // Starts the thread. When that fails the function is released and the error thrown.
  void Start(Napi::Env env, std::shared_ptr<Watcher> watcher, Tsfn tsfn) {
    env_ = env;
    watcher_ = std::move(watcher);
    tsfn_ = std::move(tsfn);
    auto started = watcher_->Start();
    if (!started.ok()) {
      tsfn_.Release();
      closed_ = true;
      throw ErrorFromKernel(env, started.error());
    }
    cleanup_ = env.AddCleanupHook(&WatchThread::Cleanup, this);
  }

  Watcher& watcher() const { return *watcher_; }

  void Ref(Napi::Env env) {
    if (!closed_) tsfn_.Ref(env);
  }
  void Unref(Napi::Env env) {
    if (!closed_) tsfn_.Unref(env);
  }

  // The promise of the join; a second close() resolves at once. `receiver` (the owner) is kept
  // alive until then; `name` shows in async_hooks.
  Napi::Value Close(Napi::Env env, const Napi::Object& receiver, const char* name) {
    if (closed_) {
      auto d = Napi::Promise::Deferred::New(env);
      d.Resolve(env.Undefined());
      return d.Promise();
    }
    auto closing = PromiseWorker<core::Unit>::Start(
        receiver, name,
        [watcher = watcher_]() -> core::Result<core::Unit> {
          watcher->Stop();
          return core::Unit{};
        },
        [tsfn = tsfn_](Napi::Env e, core::Unit&) mutable -> Napi::Value {
          tsfn.Release();  // also when the promise can no longer be settled
          return e.Undefined();
        });
    // Only now that the worker exists: when making it fails (a Worker being terminated), the
    // cleanup hook must still stop the thread before the thread-safe function goes.
    closed_ = true;
    cleanup_.Remove(env);
    return closing;
  }

 private:
  void StopNow() {
    // An owner whose constructor threw (bad options) started nothing.
    if (closed_ || !watcher_) return;
    closed_ = true;
    watcher_->Stop();
    tsfn_.Release();
  }
  static void Cleanup(WatchThread* self) { self->StopNow(); }

  napi_env env_ = nullptr;
  std::shared_ptr<Watcher> watcher_;
  Tsfn tsfn_;  // copies are handles to the same function
  Napi::Env::CleanupHook<void (*)(WatchThread*), WatchThread> cleanup_;
  bool closed_ = false;
};

}  // namespace connlimit::js
