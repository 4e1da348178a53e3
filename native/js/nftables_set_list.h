// SPDX-License-Identifier: GPL-2.0-or-later
// NftablesSetList: one streamed listing of a native-form set (GETSETELEM dump), with its own
// socket (a dump in progress owns its socket until NLMSG_DONE), so a slow `for await` body can
// call the Sets handle meanwhile. Each next() is a PromiseWorker in the libuv pool; the JS
// thread only converts one batch. The native form's twin of js/ipset_list.h.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "core/nft/native/nftables_set_socket.h"
#include "core/rule_spec.h"
#include "js/socket_handle.h"

namespace connlimit::js {

class NftablesSetList : public Napi::ObjectWrap<NftablesSetList> {
 public:
  static Napi::Function Define(Napi::Env env);
  // new NftablesSetList(owner: NftablesSetHandle, set, batchSize)
  explicit NftablesSetList(const Napi::CallbackInfo& info);

 private:
  // next() -> { header, entries, done }; null after the batch that said done.
  Napi::Value Next(const Napi::CallbackInfo& info);
  // Abandons the listing: closing the socket mid-dump ends it in the kernel.
  Napi::Value Close(const Napi::CallbackInfo& info);

  std::shared_ptr<core::NetnsFd> netns_;
  core::Family family_ = core::Family::kIpv4;
  std::string set_;
  size_t batch_ = 4096;
  std::shared_ptr<LockedSocket<core::nft::NftablesSetSocket>> shared_;  // socket made by the first next()
  bool started_ = false;
  bool done_ = false;
  bool closed_ = false;
};

}  // namespace connlimit::js
