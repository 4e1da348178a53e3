// SPDX-License-Identifier: GPL-2.0-or-later
// IpsetHandle: the ipset sets of one network namespace as a JS object (the socket's lifecycle
// in js/socket_handle). Every kernel call after open() runs on the handle's own thread
// (js/handle_thread; core/ipset/ipset_socket) under the socket's mutex; the JS thread only converts.
#pragma once

#include <napi.h>

#include "core/ipset/ipset_socket.h"
#include "js/socket_handle.h"

namespace connlimit::js {

class IpsetHandle : public SocketHandle<IpsetHandle, core::ipset::IpsetSocket> {
 public:
  static constexpr const char* kClassName = "IpsetHandle";
  static constexpr const char* kWorkerPrefix = "connlimit:ipset";
  static constexpr bool kOwnThread = true;
  static constexpr const char* kSubject = "ipset";

  using SocketHandle::SocketHandle;
  static Napi::Function Define(Napi::Env env);

 private:
  Napi::Value Create(const Napi::CallbackInfo& info);
  Napi::Value Elements(const Napi::CallbackInfo& info);
  Napi::Value Test(const Napi::CallbackInfo& info);
  Napi::Value Each(const Napi::CallbackInfo& info);
  Napi::Value Header(const Napi::CallbackInfo& info);
  Napi::Value Named(const Napi::CallbackInfo& info);
  Napi::Value List(const Napi::CallbackInfo& info);
  Napi::Value Names(const Napi::CallbackInfo& info);
  Napi::Value SetIndex(const Napi::CallbackInfo& info);
  Napi::Value SetName(const Napi::CallbackInfo& info);
  // Test only: the pure encoder on structs.
  static Napi::Value EncodeCreate(const Napi::CallbackInfo& info);
  static Napi::Value EncodeElement(const Napi::CallbackInfo& info);
  // Bench only: the messages of one addMany or deleteMany, as Elements() packs them.
  static Napi::Value EncodeElements(const Napi::CallbackInfo& info);
};

// Compiled once, in ipset.cc, not in every file that includes this header.
extern template class SocketHandle<IpsetHandle, core::ipset::IpsetSocket>;

}  // namespace connlimit::js
