// SPDX-License-Identifier: GPL-2.0-or-later
#include "js/handle_thread.h"

#include <pthread.h>

#include <string>
#include <system_error>

namespace connlimit::js {

std::shared_ptr<HandleThread> HandleThread::Start(Napi::Env env, const char* name) {
  std::shared_ptr<HandleThread> self(new HandleThread());
  napi_value resource_name;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name) != napi_ok) throw Napi::Error::New(env, "connlimit internal: thread name");
  // The function owns one reference to the thread object, dropped by Finalize after the join.
  auto* holder = new std::shared_ptr<HandleThread>(self);
  if (napi_create_threadsafe_function(env, nullptr, nullptr, resource_name, 0, 1, holder, &HandleThread::Finalize, self.get(),
                                      &HandleThread::SettleDone, &self->tsfn_) != napi_ok) {
    delete holder;
    throw Napi::Error::New(env, "connlimit internal: cannot make the handle's thread-safe function");
  }
  napi_unref_threadsafe_function(env, self->tsfn_);
  try {
    self->thread_ = std::thread(&HandleThread::Loop, self.get());
  } catch (const std::system_error& e) {
    napi_release_threadsafe_function(self->tsfn_, napi_tsfn_abort);  // Finalize deletes the holder
    throw Napi::Error::New(env, std::string("connlimit: cannot start the handle's thread: ") + e.what());
  }
  return self;
}

HandleThread::~HandleThread() {
  // Finalize joins; this is the fallback for a function that was never finalized.
  if (thread_.joinable()) {
    Stop();
    thread_.join();
  }
}

void HandleThread::Post(Napi::Env env, std::unique_ptr<ThreadJob> job) {
  if (in_flight_++ == 0) napi_ref_threadsafe_function(env, tsfn_);
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queued_.push_back(std::move(job));
    wake = sleeping_;
  }
  if (wake) wake_.notify_one();
}

void HandleThread::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
}

bool HandleThread::WaitForWork(std::unique_lock<std::mutex>& lock) {
  while (queued_.empty() && !stopping_) {
    sleeping_ = true;
    wake_.wait(lock);
    sleeping_ = false;
  }
  return !queued_.empty();
}

void HandleThread::Loop() {
  pthread_setname_np(pthread_self(), "connlimit-io");  // as top -H and /proc/<pid>/task show it
  std::deque<std::unique_ptr<ThreadJob>> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!WaitForWork(lock)) break;
      batch.swap(queued_);
    }
    // Each result goes back as soon as it is there, in call order.
    for (auto& job : batch) {
      job->Execute();
      Complete(std::move(job));
    }
    batch.clear();
  }
  napi_release_threadsafe_function(tsfn_, napi_tsfn_release);
}

void HandleThread::Complete(std::unique_ptr<ThreadJob> job) {
  bool first;
  {
    std::lock_guard<std::mutex> lock(mu_);
    first = done_.empty();
    done_.push_back(std::move(job));
  }
  // One call carries every result that lands before the JS thread takes them. napi_closing (the
  // environment is going away): the results stay in done_, deleted with this object.
  if (first) napi_call_threadsafe_function(tsfn_, nullptr, napi_tsfn_nonblocking);
}

void HandleThread::SettleDone(napi_env env, napi_value, void* context, void*) {
  if (env == nullptr) return;  // the function is being finalized
  auto* self = static_cast<HandleThread*>(context);
  std::vector<std::unique_ptr<ThreadJob>> done;
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    done.swap(self->done_);
  }
  for (auto& job : done) {
    job->Settle(Napi::Env(env));
    if (--self->in_flight_ == 0) napi_unref_threadsafe_function(env, self->tsfn_);
  }
}

void HandleThread::Finalize(napi_env, void* data, void*) {
  auto* holder = static_cast<std::shared_ptr<HandleThread>*>(data);
  HandleThread& self = **holder;
  self.Stop();
  if (self.thread_.joinable()) self.thread_.join();
  delete holder;
}

}  // namespace connlimit::js
