// SPDX-License-Identifier: GPL-2.0-or-later
// StreamedList: what every streamed listing (ConntrackList, IpsetList, NftablesSetList)
// shares, written once. A listing has a socket of its own (a dump in progress owns its socket
// until NLMSG_DONE), so a slow `for await` body never blocks the handle it came from. Each
// next() is a PromiseWorker in the libuv pool: it checks that the netns path still names the
// namespace, opens the socket and sends the request on the first call, reads one batch, and
// drops the socket once the dump is over or failed (its request refused too); the JS thread
// only converts the batch. close() abandons the listing (closing a socket mid-dump ends the
// dump in the kernel).
//
// Derived is the JS class (ObjectWrap needs the most derived type). Its constructor reads its
// arguments and calls Init(). It names itself and says how it reads:
//   kClassName, kWorkerName (async_hooks), kSubject (what the "closed" error names)
//   static Result<Unit> StartDump(Socket&, const Request&)      sends the dump request
//   static Result<bool> ReadBatch(Socket&, size_t want, Part&)  one batch; true once it is over
//   static Napi::Value BatchToJs(Napi::Env, Part&, bool done)   on the JS thread
#pragma once

#include <napi.h>

#include <cerrno>
#include <memory>
#include <mutex>
#include <utility>

#include "core/netns_guard.h"
#include "core/result.h"
#include "js/errors.h"
#include "js/promise_worker.h"
#include "js/socket_handle.h"

namespace connlimit::js {

template <typename Derived, typename Socket, typename Request, typename Part>
class StreamedList : public Napi::ObjectWrap<Derived> {
 public:
  // The JS class: next() -> a batch, or null once the listing is over; close().
  static Napi::Function Define(Napi::Env env) {
    // The non-template InstanceMethod: the template one wants a member pointer of Derived.
    using Wrap = Napi::ObjectWrap<Derived>;
    return Wrap::DefineClass(env, Derived::kClassName,
                             {
                                 Wrap::InstanceMethod("next", &StreamedList::Next),
                                 Wrap::InstanceMethod("close", &StreamedList::Close),
                             });
  }

 protected:
  explicit StreamedList(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Derived>(info) {}

  void Init(std::shared_ptr<core::NetnsFd> netns, Request request, size_t batch) {
    netns_ = std::move(netns);
    request_ = std::move(request);
    batch_ = batch == 0 ? 1 : batch;
    shared_ = std::make_shared<LockedSocket<Socket>>();
  }

 private:
  struct Batch {
    Part part;
    bool done = false;
  };

  static core::KernelError Closed() { return core::KernelError{"closed", EBADF, Derived::kSubject, -1, core::ErrorKind::kClosed}; }

  Napi::Value Next(const Napi::CallbackInfo& info) {
    return Guarded(info.Env(), [&]() -> Napi::Value {
      Napi::Env env = info.Env();
      auto settled = Napi::Promise::Deferred::New(env);
      if (closed_) {
        settled.Reject(ErrorFromKernel(env, Closed()).Value());
        return settled.Promise();
      }
      if (done_) {
        settled.Resolve(env.Null());
        return settled.Promise();
      }
      bool start = !started_;
      started_ = true;
      return PromiseWorker<Batch>::Start(
          this->Value(), Derived::kWorkerName,
          [shared = shared_, netns = netns_, request = request_, batch = batch_, start]() -> core::Result<Batch> {
            auto named = core::CheckNetnsPath(netns);
            if (!named.ok()) return named.error();
            std::lock_guard<std::mutex> lock(shared->mu);
            if (start) {
              auto s = Socket::Open(netns);
              if (!s.ok()) return s.error();
              shared->socket = s.take();
              auto st = Derived::StartDump(*shared->socket, request);
              if (!st.ok()) {
                shared->socket.reset();  // no dump to read: a later next() says "closed"
                return st.error();
              }
            }
            if (!shared->socket) return Closed();
            Batch b;
            auto done = Derived::ReadBatch(*shared->socket, batch, b.part);
            if (!done.ok()) {
              shared->socket.reset();
              return done.error();
            }
            b.done = done.value();
            // The dump is over: give the socket back now rather than at garbage collection.
            if (b.done) shared->socket.reset();
            return b;
          },
          [this](Napi::Env e, Batch& b) -> Napi::Value {
            if (b.done) {
              done_ = true;
              netns_.reset();  // nothing more to open: give the namespace fd back before GC does
            }
            return Derived::BatchToJs(e, b.part, b.done);
          });
    });
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    return Guarded(info.Env(), [&]() -> Napi::Value {
      closed_ = true;
      netns_.reset();
      // Dropping our hold closes the socket now, or when a next() in flight finishes. Never wait
      // for the lock on the JS thread.
      shared_.reset();
      return info.Env().Undefined();
    });
  }

  std::shared_ptr<core::NetnsFd> netns_;
  Request request_;
  size_t batch_ = 1;
  std::shared_ptr<LockedSocket<Socket>> shared_;  // its socket is made by the first next()
  bool started_ = false;
  bool done_ = false;
  bool closed_ = false;
};

}  // namespace connlimit::js
