// SPDX-License-Identifier: GPL-2.0-or-later
// Conntrack: the conntrack table of one network namespace as a JS object (the socket's
// lifecycle in js/socket_handle), and ConntrackList, one streamed listing. Every kernel call
// runs in the libuv pool (core/ct/ct_socket) under the socket's mutex; the JS thread only
// converts. close() drops the object's hold on its socket; workers in flight keep theirs,
// and the last holder closes it (the finalizer too).
#pragma once

#include <napi.h>

#include <memory>

#include "core/ct/ct_socket.h"
#include "core/netns_guard.h"
#include "js/socket_handle.h"

namespace connlimit::js {

class Conntrack : public SocketHandle<Conntrack, core::ct::CtSocket> {
 public:
  static constexpr const char* kClassName = "Conntrack";
  static constexpr const char* kWorkerPrefix = "connlimit:ct";
  static constexpr const char* kSubject = "conntrack";

  using SocketHandle::SocketHandle;
  static Napi::Function Define(Napi::Env env);

 private:
  Napi::Value Count(const Napi::CallbackInfo& info);
  Napi::Value CountBy(const Napi::CallbackInfo& info);
  Napi::Value Delete(const Napi::CallbackInfo& info);
  // Whether the netns path now names another namespace, or nothing (one stat in the pool).
  Napi::Value NetnsChanged(const Napi::CallbackInfo& info);
  // Test only: pure decoder and encoder on bytes.
  static Napi::Value DecodeMessages(const Napi::CallbackInfo& info);
  static Napi::Value EncodeDump(const Napi::CallbackInfo& info);
};

// Compiled once, in conntrack.cc, not in every file that includes this header.
extern template class SocketHandle<Conntrack, core::ct::CtSocket>;

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
  std::shared_ptr<LockedSocket<core::ct::CtSocket>> shared_;  // socket created by the first next()
  bool started_ = false;
  bool done_ = false;
  bool closed_ = false;
};

}  // namespace connlimit::js
