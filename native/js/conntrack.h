// SPDX-License-Identifier: GPL-2.0-or-later
// Conntrack: the conntrack table of one network namespace as a JS object, and ConntrackList,
// one streamed listing. Every kernel call runs in the libuv pool (core/ct/ct_socket) under the
// socket's mutex; the JS thread only converts. close() drops this object's hold on the
// socket; workers in flight keep theirs, and the last holder closes it (the finalizer too).
#pragma once

#include <napi.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/ct/ct_socket.h"
#include "core/netns_guard.h"

namespace connlimit::js {

// The socket and the lock every call takes around it.
struct CtShared {
  std::mutex mu;
  std::unique_ptr<core::ct::CtSocket> socket;
};

class Conntrack : public Napi::ObjectWrap<Conntrack> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Conntrack(const Napi::CallbackInfo& info);
  std::shared_ptr<core::NetnsFd> netns() const { return netns_; }
  bool usable() const { return opened_ && !closed_; }

 private:
  Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value Count(const Napi::CallbackInfo& info);
  Napi::Value CountBy(const Napi::CallbackInfo& info);
  Napi::Value Delete(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  // Whether the netns path now names another namespace, or nothing (one stat in the pool).
  Napi::Value NetnsChanged(const Napi::CallbackInfo& info);
  // Test only: pure decoder and encoder on bytes.
  static Napi::Value DecodeMessages(const Napi::CallbackInfo& info);
  static Napi::Value EncodeDump(const Napi::CallbackInfo& info);

  std::optional<Napi::Promise> Unusable(Napi::Env env);

  std::string netns_path_;
  std::shared_ptr<core::NetnsFd> netns_;
  std::shared_ptr<CtShared> shared_;
  bool opened_ = false;
  bool closed_ = false;
};

// One listing with its own socket (a dump in progress owns its socket until NLMSG_DONE), so a
// slow consumer never blocks count() or countBy() on the Conntrack object.
class ConntrackList : public Napi::ObjectWrap<ConntrackList> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit ConntrackList(const Napi::CallbackInfo& info);

 private:
  Napi::Value Next(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  std::shared_ptr<core::NetnsFd> netns_;
  core::ct::Filter filter_;
  size_t batch_ = 256;
  std::shared_ptr<CtShared> shared_;  // socket created by the first next()
  bool started_ = false;
  bool done_ = false;
  bool closed_ = false;
};

}  // namespace connlimit::js
