// SPDX-License-Identifier: GPL-2.0-or-later
#include "js/nftables_set_list.h"

#include <cerrno>
#include <mutex>

#include "js/errors.h"
#include "js/ipset_convert.h"
#include "js/nftables_sets.h"
#include "js/promise_worker.h"

namespace connlimit::js {

namespace nft = core::nft;
namespace ips = core::ipset;

namespace {

Napi::Promise Settled(Napi::Env env, const core::KernelError* error) {
  auto d = Napi::Promise::Deferred::New(env);
  if (error) {
    d.Reject(ErrorFromKernel(env, *error).Value());
  } else {
    d.Resolve(env.Null());
  }
  return d.Promise();
}

}  // namespace

Napi::Function NftablesSetList::Define(Napi::Env env) {
  return DefineClass(env, "NftablesSetList",
                     {
                         InstanceMethod<&NftablesSetList::Next>("next"),
                         InstanceMethod<&NftablesSetList::Close>("close"),
                     });
}

NftablesSetList::NftablesSetList(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NftablesSetList>(info) {
  Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "nftables sets: bad list owner");
    NftablesSetHandle* owner = Napi::ObjectWrap<NftablesSetHandle>::Unwrap(info[0].As<Napi::Object>());
    if (!owner || !owner->usable()) throw Napi::TypeError::New(env, "nftables sets: list owner not open");
    if (!info[1].IsString()) throw Napi::TypeError::New(env, "nftables sets: bad set name");
    netns_ = owner->netns();
    family_ = owner->family();
    set_ = info[1].As<Napi::String>().Utf8Value();
    if (info[2].IsNumber()) batch_ = info[2].As<Napi::Number>().Uint32Value();
    if (batch_ == 0) batch_ = 1;
    shared_ = std::make_shared<LockedSocket<nft::NftablesSetSocket>>();
    return Napi::Value();
  });
}

Napi::Value NftablesSetList::Next(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (closed_) {
      core::KernelError closed{"closed", EBADF, "nftables set listing", -1, core::ErrorKind::kClosed};
      return Settled(env, &closed);
    }
    if (done_) return Settled(env, nullptr);
    bool start = !started_;
    started_ = true;
    struct Batch {
      ips::ListedSet part;
      bool done = false;
    };
    return PromiseWorker<Batch>::Start(
        Value(), "connlimit:nftsetList",
        [shared = shared_, netns = netns_, family = family_, set = set_, batch = batch_, start]() -> core::Result<Batch> {
          auto named = core::CheckNetnsPath(netns);
          if (!named.ok()) return named.error();
          std::lock_guard<std::mutex> lock(shared->mu);
          if (start) {
            auto s = nft::NftablesSetSocket::Open(netns);
            if (!s.ok()) return s.error();
            shared->socket = s.take();
            auto st = shared->socket->StartList(family, set);
            if (!st.ok()) {
              shared->socket.reset();
              return st.error();
            }
          }
          if (!shared->socket) return core::KernelError{"closed", EBADF, "nftables set listing", -1, core::ErrorKind::kClosed};
          Batch b;
          auto done = shared->socket->ReadList(batch, b.part);
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
            netns_.reset();
          }
          auto o = ListedSetToJs(e, b.part);
          o.Set("done", b.done);
          return o;
        });
  });
}

Napi::Value NftablesSetList::Close(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    closed_ = true;
    netns_.reset();
    // Dropping our hold closes the socket now, or when a next() in flight finishes. Never wait
    // for the lock on the JS thread.
    shared_.reset();
    return info.Env().Undefined();
  });
}

}  // namespace connlimit::js
