// SPDX-License-Identifier: GPL-2.0-or-later
// IpsetHandle: the ipset sets of one network namespace as a JS object. Every kernel call is a
// PromiseWorker in the libuv pool (core/ipset/ipset_socket) under the socket's mutex; the JS
// thread only converts. close() drops this object's hold on the socket; workers in flight
// keep theirs, and the last holder closes it (the finalizer too).
#pragma once

#include <napi.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/ipset/ipset_socket.h"
#include "core/netns_guard.h"

namespace connlimit::js {

struct IpsetShared {
  std::mutex mu;
  std::unique_ptr<core::ipset::IpsetSocket> socket;
};

class IpsetHandle : public Napi::ObjectWrap<IpsetHandle> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit IpsetHandle(const Napi::CallbackInfo& info);

 private:
  Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value Create(const Napi::CallbackInfo& info);
  Napi::Value Elements(const Napi::CallbackInfo& info);
  Napi::Value Test(const Napi::CallbackInfo& info);
  Napi::Value Header(const Napi::CallbackInfo& info);
  Napi::Value Named(const Napi::CallbackInfo& info);
  Napi::Value List(const Napi::CallbackInfo& info);
  Napi::Value Names(const Napi::CallbackInfo& info);
  Napi::Value SetIndex(const Napi::CallbackInfo& info);
  Napi::Value SetName(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  // Test only: the pure encoder on structs.
  static Napi::Value EncodeCreate(const Napi::CallbackInfo& info);
  static Napi::Value EncodeElement(const Napi::CallbackInfo& info);

  std::optional<Napi::Promise> Unusable(Napi::Env env);
  // Run `work` on the socket in the pool: reopened first if a failure closed it, and only
  // while the netns path still names the namespace the handle opened.
  template <typename T, typename Work, typename Done>
  Napi::Value Run(Napi::Env env, const char* name, Work work, Done done);

  std::string netns_path_;
  std::shared_ptr<core::NetnsFd> netns_;
  std::shared_ptr<IpsetShared> shared_;
  bool opened_ = false;
  bool closed_ = false;
};

}  // namespace connlimit::js
