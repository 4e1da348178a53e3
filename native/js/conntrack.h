// SPDX-License-Identifier: GPL-2.0-or-later
// Conntrack: the conntrack table of one network namespace as a JS object (the socket's
// lifecycle in js/socket_handle), and ConntrackList, one streamed listing (js/streamed_list).
// Every kernel call runs in the libuv pool (core/ct/ct_socket) under the socket's mutex; the JS thread only
// converts. close() drops the object's hold on its socket; workers in flight keep theirs,
// and the last holder closes it (the finalizer too).
#pragma once

#include <napi.h>

#include <memory>
#include <vector>

#include "core/ct/ct_socket.h"
#include "core/netns_guard.h"
#include "js/socket_handle.h"
#include "js/streamed_list.h"

namespace connlimit::js {

class Conntrack : public SocketHandle<Conntrack, core::ct::CtSocket> {
 public:
  static constexpr const char* kClassName = "Conntrack";
  static constexpr const char* kWorkerPrefix = "connlimit:ct";
  static constexpr bool kOwnThread = false;  // a dump may be long; one pool worker per call
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

// One streamed listing (the lifecycle in js/streamed_list.h), so a slow consumer never blocks
// count() or countBy() on the Conntrack object.
class ConntrackList : public StreamedList<ConntrackList, core::ct::CtSocket, core::ct::Filter, std::vector<core::ct::Entry>> {
 public:
  static constexpr const char* kClassName = "ConntrackList";
  static constexpr const char* kWorkerName = "connlimit:ctList";
  static constexpr const char* kSubject = "conntrack listing";

  // new ConntrackList(conntrack, filter, batchSize)
  explicit ConntrackList(const Napi::CallbackInfo& info);

  static core::Result<core::Unit> StartDump(core::ct::CtSocket& s, const core::ct::Filter& filter) { return s.StartDump(filter); }
  static core::Result<bool> ReadBatch(core::ct::CtSocket& s, size_t want, std::vector<core::ct::Entry>& out) {
    return s.ReadDump(want, out);
  }
  // The batch's entries; null for an empty last batch.
  static Napi::Value BatchToJs(Napi::Env env, std::vector<core::ct::Entry>& entries, bool done);
};

}  // namespace connlimit::js
