// SPDX-License-Identifier: GPL-2.0-or-later
#include "js/commit_stream.h"

#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "js/convert.h"
#include "js/errors.h"

namespace connlimit::js {
namespace {

using Part = std::vector<uint8_t>;
using Results = std::vector<core::OpResult>;

struct StreamState {
  StreamState(const Napi::Object& receiver, const char* name, const core::TableTarget& t, std::shared_ptr<core::NetnsFd> ns, StreamStart s)
      : receiver(Napi::Persistent(receiver)), job_name(name), target(t), keep(std::move(ns)), start(std::move(s)) {}

  // Main thread only.
  Napi::ObjectReference receiver;
  std::string job_name;
  std::optional<Napi::Promise::Deferred> finished, aborted;

  // Fixed at the start.
  core::TableTarget target;
  std::shared_ptr<core::NetnsFd> keep;
  StreamStart start;

  // Shared between the main thread and the job, under mu.
  std::mutex mu;
  std::deque<Part> parts;
  bool job_running = false;
  bool finish_asked = false;
  bool abort_asked = false;

  // The running job's alone (one at a time; mu orders them), read by its OnOK once it ended.
  bool started = false;
  std::optional<core::KernelError> start_error;
  std::unique_ptr<core::CommitStream> stream;

  // Under mu: what the last job left for its OnOK.
  std::optional<core::Result<Results>> outcome;  // set by the job that committed
  bool released = false;                          // set by the job that dropped it all

  // One job: start if not yet, then every part queued, then the commit or the abort if asked;
  // returns as soon as there is nothing left to do now.
  void Drain() {
    if (!started) {
      started = true;
      auto named = core::CheckNetnsPath(keep);
      auto s = named.ok() ? start(target) : core::Result<std::unique_ptr<core::CommitStream>>(named.error());
      if (s.ok()) {
        stream = s.take();
      } else {
        start_error = s.error();
      }
    }
    for (;;) {
      std::optional<Part> part;
      bool finish = false, abort = false;
      {
        std::lock_guard<std::mutex> hold(mu);
        if (abort_asked) {
          abort = true;
        } else if (!parts.empty()) {
          part.emplace(std::move(parts.front()));
          parts.pop_front();
        } else if (finish_asked) {
          finish = true;
        } else {
          job_running = false;
          return;
        }
      }
      if (part) {
        if (stream) stream->AddPacked(part->data(), part->size(), target.family);
        continue;
      }
      std::optional<core::Result<Results>> r;
      if (finish) r.emplace(start_error ? core::Result<Results>(*start_error) : stream->Finish());
      stream.reset();  // frees the snapshot, releases the lock
      std::lock_guard<std::mutex> hold(mu);
      if (abort) released = true;
      outcome = std::move(r);
      job_running = false;
      return;
    }
  }
};

class StreamJob : public Napi::AsyncWorker {
 public:
  explicit StreamJob(std::shared_ptr<StreamState> s) : Napi::AsyncWorker(s->receiver.Env(), s->job_name.c_str()), s_(std::move(s)) {}

 protected:
  void Execute() override { s_->Drain(); }

  void OnOK() override {
    Napi::Env env = Env();
    bool released = false;
    std::optional<core::Result<Results>> outcome;
    {
      std::lock_guard<std::mutex> hold(s_->mu);  // a later job may be running
      released = s_->released;
      if (s_->finished) outcome = std::move(s_->outcome);
      s_->outcome.reset();
    }
    try {  // a Worker's environment going away: nobody is left to tell (as PromiseWorker)
      Napi::HandleScope scope(env);
      if (released && s_->aborted) {
        s_->aborted->Resolve(env.Undefined());
        s_->aborted.reset();
      }
      if (outcome && s_->finished) {
        if (outcome->ok()) {
          s_->finished->Resolve(OpResultsToJs(env, outcome->value()));
        } else {
          s_->finished->Reject(ErrorFromKernel(env, outcome->error()).Value());
        }
        s_->finished.reset();
      }
    } catch (const Napi::Error&) {
    }
  }

 private:
  std::shared_ptr<StreamState> s_;
};

// Starts a job unless one runs; the caller holds s.mu.
void Kick(const std::shared_ptr<StreamState>& s) {
  if (s->job_running) return;
  s->job_running = true;
  (new StreamJob(s))->Queue();  // libuv owns it now; it deletes itself after OnOK
}

void Internal(Napi::Env env, const char* what) {
  throw Napi::Error::New(env, std::string("connlimit internal: commit stream ") + what);
}

}  // namespace

Napi::Object StartCommitStream(const Napi::Object& receiver, const char* name, const core::TableTarget& target,
                               std::shared_ptr<core::NetnsFd> keep, StreamStart start) {
  Napi::Env env = receiver.Env();
  auto s = std::make_shared<StreamState>(receiver, name, target, std::move(keep), std::move(start));
  {
    std::lock_guard<std::mutex> hold(s->mu);
    Kick(s);
  }
  auto o = Napi::Object::New(env);
  o.Set("push", Napi::Function::New(env, [s](const Napi::CallbackInfo& info) {
          return Guarded(info.Env(), [&]() -> Napi::Value {
          auto a = info[0];
          if (!a.IsTypedArray() || a.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) Internal(info.Env(), "part (Uint8Array)");
          auto bytes = a.As<Napi::Uint8Array>();
          std::lock_guard<std::mutex> hold(s->mu);
          if (s->finish_asked || s->abort_asked) Internal(info.Env(), "part after the end");
          s->parts.emplace_back(bytes.Data(), bytes.Data() + bytes.ElementLength());
          Kick(s);
          return info.Env().Undefined();
          });
        }));
  o.Set("finish", Napi::Function::New(env, [s](const Napi::CallbackInfo& info) -> Napi::Value {
          return Guarded(info.Env(), [&]() -> Napi::Value {
          std::lock_guard<std::mutex> hold(s->mu);
          if (s->finish_asked || s->abort_asked) Internal(info.Env(), "ended twice");
          s->finished.emplace(Napi::Promise::Deferred::New(info.Env()));
          s->finish_asked = true;
          Kick(s);
          return s->finished->Promise();
          });
        }));
  o.Set("abort", Napi::Function::New(env, [s](const Napi::CallbackInfo& info) -> Napi::Value {
          return Guarded(info.Env(), [&]() -> Napi::Value {
          std::lock_guard<std::mutex> hold(s->mu);
          if (s->finish_asked || s->abort_asked) Internal(info.Env(), "ended twice");
          s->aborted.emplace(Napi::Promise::Deferred::New(info.Env()));
          s->abort_asked = true;
          s->parts.clear();
          Kick(s);
          return s->aborted->Promise();
          });
        }));
  return o;
}

}  // namespace connlimit::js
