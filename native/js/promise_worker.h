// SPDX-License-Identifier: GPL-2.0-or-later
// One-shot kernel work in the libuv pool, settled as a Promise: Execute() runs a core/
// function returning Result<T> (no napi calls there); OnOK() resolves with the converted value
// or rejects with the KernelError's facts. The receiver, when given, is kept alive until then.
#pragma once

#include <napi.h>

#include <functional>
#include <optional>
#include <utility>

#include "core/apart_from_js_thread.h"
#include "core/result.h"
#include "js/settle_result.h"

namespace connlimit::js {

template <typename T>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<core::Result<T>()>;
  using Done = std::function<Napi::Value(Napi::Env, T&)>;

  // Queues the work and returns its promise. `name` shows in async_hooks ("connlimit:commit").
  static Napi::Promise Start(const Napi::Object& receiver, const char* name, Work work, Done done) {
    auto* worker = new PromiseWorker(receiver, name, std::move(work), std::move(done));
    auto promise = worker->deferred_.Promise();
    core::NoteJsThread();  // whose CPU a long kernel call of the pool should leave free
    worker->Queue();  // libuv owns it now; it deletes itself after OnOK/OnError
    return promise;
  }

 protected:
  void Execute() override { result_.emplace(work_()); }

  void OnOK() override {
    Settle([this](Napi::Env env) { SettleResult(env, deferred_, *result_, done_); });
  }

  void OnError(const Napi::Error& e) override {
    Settle([this, &e](Napi::Env) { deferred_.Reject(e.Value()); });
  }

 private:
  // When the environment is going away (a Worker terminated with this call in flight: its
  // teardown waits for the pool work, then completes it here), JS can no longer run and every
  // napi call that could fails. Nobody is left to tell, and an exception escaping a libuv
  // callback would abort the whole process: the result is dropped, and the worker (with the
  // handles its work held) is deleted as always once this returns.
  template <typename F>
  void Settle(F settle) {
    Napi::Env env = Env();
    try {
      Napi::HandleScope scope(env);
      settle(env);
    } catch (const Napi::Error&) {
    }
  }

  PromiseWorker(const Napi::Object& receiver, const char* name, Work work, Done done)
      : Napi::AsyncWorker(receiver.Env(), name),
        receiver_(Napi::Persistent(receiver)),
        deferred_(Napi::Promise::Deferred::New(receiver.Env())),
        work_(std::move(work)),
        done_(std::move(done)) {}

  Napi::ObjectReference receiver_;  // keeps the owning JS object (and its wrapped state) alive
  Napi::Promise::Deferred deferred_;
  Work work_;
  Done done_;
  std::optional<core::Result<T>> result_;
};

}  // namespace connlimit::js
