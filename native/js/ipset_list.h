// SPDX-License-Identifier: GPL-2.0-or-later
// IpsetList: one streamed listing of a set, with its own socket (a dump in progress owns its
// socket until NLMSG_DONE), so a slow `for await` body can call the Sets handle meanwhile.
// Each next() is a PromiseWorker in the libuv pool; the JS thread only converts one batch.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "core/ipset/ipset_socket.h"
#include "js/socket_handle.h"

namespace connlimit::js {

class IpsetList : public Napi::ObjectWrap<IpsetList> {
 public:
  static Napi::Function Define(Napi::Env env);
  // new IpsetList(owner: IpsetHandle, set, batchSize)
  explicit IpsetList(const Napi::CallbackInfo& info);

 private:
  // next() -> { header, entries, done }; null after the batch that said done.
  Napi::Value Next(const Napi::CallbackInfo& info);
  // Abandons the listing: closing the socket mid-dump ends it in the kernel.
  Napi::Value Close(const Napi::CallbackInfo& info);

  std::shared_ptr<core::NetnsFd> netns_;
  std::string set_;
  size_t batch_ = 4096;
  std::shared_ptr<LockedSocket<core::ipset::IpsetSocket>> shared_;  // socket made by the first next()
  bool started_ = false;
  bool done_ = false;
  bool closed_ = false;
};

}  // namespace connlimit::js
