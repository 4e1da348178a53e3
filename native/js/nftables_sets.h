// SPDX-License-Identifier: GPL-2.0-or-later
// NftablesSetHandle: client sets on the native nftables form (nf_tables named sets in our
// table of one family) as a JS object with IpsetHandle's calls (js/ipset.h), so src/sets/
// drives either. Every kernel call after open() runs on the handle's own thread
// (js/handle_thread; core/nft/native/nftables_set_socket) under the socket's mutex; the JS
// thread only converts (js/ipset_convert, shared with ipset).
#pragma once

#include <napi.h>

#include "core/nft/native/nftables_set_socket.h"
#include "core/rule_spec.h"
#include "js/socket_handle.h"

namespace connlimit::js {

class NftablesSetHandle : public SocketHandle<NftablesSetHandle, core::nft::NftablesSetSocket> {
 public:
  static constexpr const char* kClassName = "NftablesSetHandle";
  static constexpr const char* kWorkerPrefix = "connlimit:nftset";
  static constexpr bool kOwnThread = true;
  static constexpr const char* kSubject = "nftables sets";

  // new NftablesSetHandle({ netnsPath, family: 'ipv4'|'ipv6' }): the family picks the table (ip or ip6).
  explicit NftablesSetHandle(const Napi::CallbackInfo& info);
  static Napi::Function Define(Napi::Env env);
  core::Family family() const { return family_; }

 private:
  Napi::Value Create(const Napi::CallbackInfo& info);
  Napi::Value Elements(const Napi::CallbackInfo& info);
  Napi::Value Each(const Napi::CallbackInfo& info);
  Napi::Value Test(const Napi::CallbackInfo& info);
  Napi::Value Header(const Napi::CallbackInfo& info);
  Napi::Value Named(const Napi::CallbackInfo& info);
  Napi::Value List(const Napi::CallbackInfo& info);
  Napi::Value Names(const Napi::CallbackInfo& info);
  // Test only: the pure encoder on structs.
  static Napi::Value EncodeCreate(const Napi::CallbackInfo& info);
  static Napi::Value EncodeElement(const Napi::CallbackInfo& info);
  static Napi::Value EncodeEach(const Napi::CallbackInfo& info);

  core::Family family_ = core::Family::kIpv4;
};

extern template class SocketHandle<NftablesSetHandle, core::nft::NftablesSetSocket>;

}  // namespace connlimit::js
