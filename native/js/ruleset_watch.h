// SPDX-License-Identifier: GPL-2.0-or-later
// RulesetWatch: nf_tables ruleset notifications for one table as a JS object, for fw.keep().
// It owns a core::nft::RulesetWatcher (the thread) and the thread-safe function that carries
// each commit to JS, with the lifecycle of js/watch_thread.h (close(), or the env cleanup hook
// and the destructor if the user never closed it).
#pragma once

#include <napi.h>

#include <memory>

#include "core/nft/ruleset_watcher.h"
#include "js/watch_thread.h"

namespace connlimit::js {

// What the thread hands to JS: a commit (or ready, or an overrun), or the error that ended it.
struct RulesetDelivery {
  core::nft::Generation generation;
  bool failed = false;
  core::KernelError error;
};

void CallRulesetJs(Napi::Env env, Napi::Function callback, std::nullptr_t*, RulesetDelivery* delivery);
using RulesetTsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, RulesetDelivery, CallRulesetJs>;

class RulesetWatch : public Napi::ObjectWrap<RulesetWatch> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit RulesetWatch(const Napi::CallbackInfo& info);

 private:
  Napi::Value Close(const Napi::CallbackInfo& info);
  static Napi::Value DecodeElements(const Napi::CallbackInfo& info);

  WatchThread<core::nft::RulesetWatcher, RulesetTsfn> thread_;
};

}  // namespace connlimit::js
