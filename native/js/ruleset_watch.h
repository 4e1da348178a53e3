// SPDX-License-Identifier: GPL-2.0-or-later
// RulesetWatch: nf_tables ruleset notifications for one table as a JS object, for fw.keep().
// It owns a core::nft::RulesetWatcher (the thread) and the thread-safe function that carries
// each commit to JS. close() joins the thread in the pool and releases the function; the env
// cleanup hook and the destructor repeat that if the user never closed it.
#pragma once

#include <napi.h>

#include <memory>

#include "core/nft/ruleset_watcher.h"

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
  ~RulesetWatch() override;

 private:
  Napi::Value Close(const Napi::CallbackInfo& info);
  // Stop the thread here and now (cleanup hook, destructor): no JS can run any more.
  void StopNow();
  static void Cleanup(RulesetWatch* self) { self->StopNow(); }

  std::shared_ptr<core::nft::RulesetWatcher> watcher_;
  RulesetTsfn tsfn_;
  Napi::Env::CleanupHook<void (*)(RulesetWatch*), RulesetWatch> cleanup_;
  bool closed_ = false;
};

}  // namespace connlimit::js
