// SPDX-License-Identifier: GPL-2.0-or-later
// HandleThread: one thread of a handle's own that runs the handle's kernel calls in call order
// and hands each result back to the JS thread through one thread-safe function. It replaces a
// PromiseWorker per call (napi_create_async_work, a libuv pool hop) for the set handles, whose
// calls are one small netlink round trip each: the worker's creation and the pool's wake-up
// were about half of such a call (docs/nft.md, "The per-call fixed cost").
//
// Lifecycle: the thread holds the thread-safe function (its one acquired thread). Stop() (from
// close() or the owner's destructor, on the JS thread) lets the thread finish what is queued,
// then it releases the function and ends; the function's finalizer, on the JS thread, joins it
// (at once: the thread is past its last use of the function). When the environment goes away
// first (a Worker terminated, the process exiting), Node-API finalizes the function from its
// cleanup hook: the finalizer then stops the thread and joins it there, waiting for at most the
// call in progress (each of its receives is bounded), whose result is dropped.
//
// While calls are in flight the function is ref'd, so the event loop waits for them; while the
// thread is idle it is unref'd, and an open handle does not keep the process alive.
#pragma once

#include <napi.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/result.h"
#include "js/settle_result.h"

namespace connlimit::js {

// One call: Execute() on the handle's thread, Settle() on the JS thread.
class ThreadJob {
 public:
  virtual ~ThreadJob() = default;
  virtual void Execute() = 0;
  virtual void Settle(Napi::Env env) = 0;
};

class HandleThread {
 public:
  // Starts the thread; `name` shows in async_hooks for the completions. Throws a Napi::Error
  // when the function or the thread cannot be made.
  static std::shared_ptr<HandleThread> Start(Napi::Env env, const char* name);

  HandleThread(const HandleThread&) = delete;
  HandleThread& operator=(const HandleThread&) = delete;
  ~HandleThread();

  // JS thread. Queues the job behind the ones already queued.
  void Post(Napi::Env env, std::unique_ptr<ThreadJob> job);
  // Any thread. The thread ends once its queue is empty; idempotent.
  void Stop();

 private:
  HandleThread() = default;
  void Loop();
  // Waits for work or Stop(); false when stopped with nothing queued.
  bool WaitForWork(std::unique_lock<std::mutex>& lock);
  void Complete(std::unique_ptr<ThreadJob> job);
  static void SettleDone(napi_env env, napi_value, void* context, void*);
  static void Finalize(napi_env, void* data, void*);

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<ThreadJob>> queued_;
  std::vector<std::unique_ptr<ThreadJob>> done_;  // executed, waiting for the JS thread
  bool stopping_ = false;
  bool sleeping_ = false;  // the thread waits on wake_: Post() must notify
  std::thread thread_;
  napi_threadsafe_function tsfn_ = nullptr;
  size_t in_flight_ = 0;  // JS thread only: posted, not settled yet
};

// A job settled as a Promise: Execute() runs a core/ function returning Result<T>; Settle()
// resolves with the converted value or rejects with the KernelError's facts, as PromiseWorker.
template <typename T>
class PromiseJob : public ThreadJob {
 public:
  using Work = std::function<core::Result<T>()>;
  using Done = std::function<Napi::Value(Napi::Env, T&)>;

  PromiseJob(Napi::Env env, Work work, Done done)
      : deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)), done_(std::move(done)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override { result_.emplace(work_()); }

  // A Napi::Error here (the environment going away) is dropped, as in PromiseWorker::Settle.
  void Settle(Napi::Env env) override {
    try {
      Napi::HandleScope scope(env);
      SettleResult(env, deferred_, *result_, done_);
    } catch (const Napi::Error&) {
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  Work work_;
  Done done_;
  std::optional<core::Result<T>> result_;
};

// Queues work() on `thread`, started here by a handle's first call; the promise of its result,
// settled with done() on the JS thread.
template <typename T>
Napi::Promise RunOnThread(Napi::Env env, std::shared_ptr<HandleThread>& thread, const std::string& name,
                          typename PromiseJob<T>::Work work, typename PromiseJob<T>::Done done) {
  if (!thread) thread = HandleThread::Start(env, name.c_str());
  auto job = std::make_unique<PromiseJob<T>>(env, std::move(work), std::move(done));
  auto promise = job->Promise();
  thread->Post(env, std::move(job));
  return promise;
}

}  // namespace connlimit::js
