// SPDX-License-Identifier: GPL-2.0-or-later
// How a kernel call's Result<T> settles its promise on the JS thread, whichever thread ran it
// (a libuv pool worker, js/promise_worker.h, or a handle's own thread, js/handle_thread.h).
#pragma once

#include <napi.h>

#include "core/result.h"
#include "js/errors.h"

namespace connlimit::js {

// Resolves with done(value), or rejects with the KernelError's facts, or with done's own error.
template <typename T, typename Done>
void SettleResult(Napi::Env env, Napi::Promise::Deferred& deferred, core::Result<T>& result, Done& done) {
  if (!result.ok()) {
    deferred.Reject(ErrorFromKernel(env, result.error()).Value());
    return;
  }
  try {
    deferred.Resolve(done(env, result.value()));
  } catch (const Napi::Error& e) {
    deferred.Reject(e.Value());
  }
}

}  // namespace connlimit::js
