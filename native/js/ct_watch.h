// SPDX-License-Identifier: GPL-2.0-or-later
// ConntrackWatch: a live watch as a JS object. It owns a core::ct::Watcher (the event thread)
// and the thread-safe function that carries its batches to JS, one at a time. close() joins
// the thread in the pool and releases the function; the env cleanup hook and the destructor
// repeat that if the user never closed it (a Worker terminated, the process exiting).
#pragma once

#include <napi.h>

#include <memory>
#include <unordered_map>

#include "core/ct/watcher.h"

namespace connlimit::js {

// What the watcher thread hands to JS: a batch, or the error that ended the watch.
struct WatchDelivery {
  core::ct::WatchBatch batch;
  bool failed = false;
  core::KernelError error;
};

struct WatchContext {
  std::shared_ptr<core::ct::Watcher> watcher;
};

void CallWatchJs(Napi::Env env, Napi::Function callback, WatchContext* context, WatchDelivery* delivery);
using WatchTsfn = Napi::TypedThreadSafeFunction<WatchContext, WatchDelivery, CallWatchJs>;

class ConntrackWatch : public Napi::ObjectWrap<ConntrackWatch> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit ConntrackWatch(const Napi::CallbackInfo& info);
  ~ConntrackWatch() override;

 private:
  Napi::Value Counts(const Napi::CallbackInfo& info);
  Napi::Value Count(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Ref(const Napi::CallbackInfo& info);
  Napi::Value Unref(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  // Stop the thread here and now (cleanup hook, destructor): no JS can run any more.
  void StopNow();
  static void Cleanup(ConntrackWatch* self) { self->StopNow(); }

  std::shared_ptr<core::ct::Watcher> watcher_;
  // Ids of the keys whose text JS already holds (src/conntrack/watch.ts keeps the strings by
  // id): counts() sends each key's text once, then only its id. Main thread only.
  std::unordered_map<core::ct::WatchKey, uint32_t, core::ct::WatchKeyHash> key_ids_;
  WatchTsfn tsfn_;
  Napi::Env::CleanupHook<void (*)(ConntrackWatch*), ConntrackWatch> cleanup_;
  bool closed_ = false;
};

}  // namespace connlimit::js
