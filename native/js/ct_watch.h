// SPDX-License-Identifier: GPL-2.0-or-later
// ConntrackWatch: a live watch as a JS object. It owns a core::ct::Watcher (the event thread)
// and the thread-safe function that carries its batches to JS, one at a time, with the
// lifecycle of js/watch_thread.h (close(), or the env cleanup hook and the destructor if the
// user never closed it).
#pragma once

#include <napi.h>

#include <memory>
#include <unordered_map>

#include "core/ct/watcher.h"
#include "js/watch_thread.h"

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

 private:
  Napi::Value Counts(const Napi::CallbackInfo& info);
  Napi::Value CountsVersion(const Napi::CallbackInfo& info);
  Napi::Value Count(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Ref(const Napi::CallbackInfo& info);
  Napi::Value Unref(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  // Ids of the keys whose text JS already holds (src/conntrack/watch.ts keeps the strings by
  // id): counts() sends each key's text once, then only its id. Main thread only.
  std::unordered_map<core::ct::WatchKey, uint32_t, core::ct::WatchKeyHash> key_ids_;
  WatchThread<core::ct::Watcher, WatchTsfn> thread_;
};

}  // namespace connlimit::js
