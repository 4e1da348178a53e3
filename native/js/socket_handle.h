// SPDX-License-Identifier: GPL-2.0-or-later
// SocketHandle: the lifecycle every object holding one netlink socket of a network namespace
// shares (IpsetHandle, Conntrack), written once. open() enters the namespace and opens the
// socket there, in the libuv pool (PromiseWorker), never on the main thread; each call the
// derived class adds runs off it too (on the handle's thread or in the pool: kOwnThread), under
// the socket's mutex, on the one socket.
// close() drops this object's hold on the socket and the namespace fd; workers in flight keep
// theirs, and the last holder closes them (the finalizer too, if close() was forgotten).
//
// Derived is the JS class (ObjectWrap needs the most derived type); it adds methods of its own
// with IfOpen() and Run(), and names itself:
//   kClassName       the JS class
//   kWorkerPrefix    async_hooks names are the prefix + "Open", + the op given to Run()
//   kSubject         what the "closed" and "not open" errors name
//   kOwnThread       true: the calls run in order on a thread of the handle's own
//                    (js/handle_thread), false: each is a PromiseWorker in the libuv pool
// Socket is the core/ socket: static Open(netns) -> Result<unique_ptr<Socket>>.
#pragma once

#include <napi.h>

#include <cerrno>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/netns_guard.h"
#include "js/errors.h"
#include "js/handle_thread.h"
#include "js/promise_worker.h"

namespace connlimit::js {

// The socket and the lock every call takes around it. The socket is null after a failure
// dropped it; the next call opens a new one.
template <typename Socket>
struct LockedSocket {
  std::mutex mu;
  std::unique_ptr<Socket> socket;
};

template <typename Derived, typename Socket>
class SocketHandle : public Napi::ObjectWrap<Derived> {
 public:
  using Descriptor = typename Napi::ObjectWrap<Derived>::PropertyDescriptor;

  // The JS class: open, close, then Derived's `own` methods.
  static Napi::Function Define(Napi::Env env, std::vector<Descriptor> own = {});
  explicit SocketHandle(const Napi::CallbackInfo& info);
  ~SocketHandle();

  std::shared_ptr<core::NetnsFd> netns() const { return netns_; }
  bool usable() const { return opened_ && !closed_; }

 protected:
  // Runs `call` (main thread: read the arguments, then Run() the work) when the handle is open;
  // else returns a promise rejected with op 'closed' (kind kClosed) or 'not open'.
  template <typename F>
  Napi::Value IfOpen(const Napi::CallbackInfo& info, F call);

  // Queues work(socket) on the handle's thread or in the pool (kOwnThread) and returns its
  // promise, settled with done(). It runs with the socket locked, reopened first if an earlier
  // failure dropped it, and only while the netns path still names the namespace the handle
  // opened (op "netns gone" otherwise). The call holds the socket and the namespace fd, so a
  // close() meanwhile closes neither under it.
  template <typename T, typename Work>
  Napi::Value Run(const char* op, Work work, typename PromiseWorker<T>::Done done);

 private:
  using Shared = LockedSocket<Socket>;

  Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  // A rejected promise when closed or not opened yet, else nothing.
  std::optional<Napi::Promise> Unusable(Napi::Env env);
  std::string WorkerName(const char* op) const { return std::string(Derived::kWorkerPrefix) + op; }

  std::string netns_path_;
  std::shared_ptr<core::NetnsFd> netns_;
  std::shared_ptr<Shared> shared_;
  std::shared_ptr<HandleThread> thread_;  // kOwnThread: started by the first call
  bool opened_ = false;
  bool closed_ = false;
};

template <typename Derived, typename Socket>
Napi::Function SocketHandle<Derived, Socket>::Define(Napi::Env env, std::vector<Descriptor> own) {
  // The non-template InstanceMethod: the template one wants a member pointer of Derived itself,
  // and these are members of this base.
  using Wrap = Napi::ObjectWrap<Derived>;
  std::vector<Descriptor> methods = {
      Wrap::InstanceMethod("open", &SocketHandle::Open),
      Wrap::InstanceMethod("close", &SocketHandle::Close),
  };
  methods.insert(methods.end(), own.begin(), own.end());
  return Wrap::DefineClass(env, Derived::kClassName, methods);
}

// new Derived({ netnsPath })
template <typename Derived, typename Socket>
SocketHandle<Derived, Socket>::SocketHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Derived>(info) {
  Guarded(info.Env(), [&]() -> Napi::Value {
    if (!info[0].IsObject()) throw Napi::TypeError::New(info.Env(), std::string("connlimit internal: ") + Derived::kClassName + " options");
    auto ns = info[0].As<Napi::Object>().Get("netnsPath");
    if (ns.IsString()) netns_path_ = ns.As<Napi::String>().Utf8Value();
    return Napi::Value();
  });
}

// Collected without close(): the thread ends once its queue is empty.
template <typename Derived, typename Socket>
SocketHandle<Derived, Socket>::~SocketHandle() {
  if (thread_) thread_->Stop();
}

template <typename Derived, typename Socket>
std::optional<Napi::Promise> SocketHandle<Derived, Socket>::Unusable(Napi::Env env) {
  if (usable()) return std::nullopt;
  auto deferred = Napi::Promise::Deferred::New(env);
  auto kind = closed_ ? core::ErrorKind::kClosed : core::ErrorKind::kNone;
  deferred.Reject(ErrorFromKernel(env, core::KernelError{closed_ ? "closed" : "not open", EBADF, Derived::kSubject, -1, kind}).Value());
  return deferred.Promise();
}

template <typename Derived, typename Socket>
template <typename F>
Napi::Value SocketHandle<Derived, Socket>::IfOpen(const Napi::CallbackInfo& info, F call) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    if (auto p = Unusable(info.Env())) return *p;
    return call();
  });
}

template <typename Derived, typename Socket>
template <typename T, typename Work>
Napi::Value SocketHandle<Derived, Socket>::Run(const char* op, Work work, typename PromiseWorker<T>::Done done) {
  auto locked = [work = std::move(work), shared = shared_, netns = netns_]() -> core::Result<T> {
    auto named = core::CheckNetnsPath(netns);
    if (!named.ok()) return named.error();
    std::lock_guard<std::mutex> lock(shared->mu);
    if (!shared->socket) {
      auto s = Socket::Open(netns);
      if (!s.ok()) return s.error();
      shared->socket = s.take();
    }
    return work(*shared->socket);
  };
  if constexpr (Derived::kOwnThread)
    return RunOnThread<T>(this->Env(), thread_, WorkerName("Thread"), std::move(locked), std::move(done));
  else
    return PromiseWorker<T>::Start(this->Value(), WorkerName(op).c_str(), std::move(locked), std::move(done));
}

template <typename Derived, typename Socket>
Napi::Value SocketHandle<Derived, Socket>::Open(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    if (closed_) return *Unusable(info.Env());
    struct Opened {
      std::shared_ptr<core::NetnsFd> netns;
      std::shared_ptr<Shared> shared;
    };
    return PromiseWorker<Opened>::Start(
        this->Value(), WorkerName("Open").c_str(),
        [path = netns_path_]() -> core::Result<Opened> {
          Opened o;
          auto opened = core::OpenNetns(path);
          if (!opened.ok()) return opened.error();
          o.netns = opened.take();
          auto s = Socket::Open(o.netns);
          if (!s.ok()) return s.error();
          o.shared = std::make_shared<Shared>();
          o.shared->socket = s.take();
          return o;
        },
        [this](Napi::Env e, Opened& o) -> Napi::Value {
          if (!closed_) {
            netns_ = std::move(o.netns);
            shared_ = std::move(o.shared);
            opened_ = true;
          }
          return e.Undefined();
        });
  });
}

template <typename Derived, typename Socket>
Napi::Value SocketHandle<Derived, Socket>::Close(const Napi::CallbackInfo& info) {
  closed_ = true;
  if (thread_) thread_->Stop();
  thread_.reset();
  shared_.reset();
  netns_.reset();
  return info.Env().Undefined();
}

}  // namespace connlimit::js
