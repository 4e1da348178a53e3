// SPDX-License-Identifier: GPL-2.0-or-later
// NftablesSetList: one streamed listing of a native-form set (GETSETELEM dump; the lifecycle in
// js/streamed_list.h), so a slow `for await` body can call the Sets handle meanwhile. The
// native form's twin of js/ipset_list.h.
#pragma once

#include <napi.h>

#include <string>

#include "core/nft/native/nftables_set_socket.h"
#include "core/rule_spec.h"
#include "js/streamed_list.h"

namespace connlimit::js {

// Which set a listing reads: its family picks the table.
struct NftablesSetRef {
  core::Family family = core::Family::kIpv4;
  std::string name;
};

class NftablesSetList : public StreamedList<NftablesSetList, core::nft::NftablesSetSocket, NftablesSetRef, core::ipset::ListedSet> {
 public:
  static constexpr const char* kClassName = "NftablesSetList";
  static constexpr const char* kWorkerName = "connlimit:nftsetList";
  static constexpr const char* kSubject = "nftables set listing";

  // new NftablesSetList(owner: NftablesSetHandle, set, batchSize)
  explicit NftablesSetList(const Napi::CallbackInfo& info);

  static core::Result<core::Unit> StartDump(core::nft::NftablesSetSocket& s, const NftablesSetRef& set) {
    return s.StartList(set.family, set.name);
  }
  static core::Result<bool> ReadBatch(core::nft::NftablesSetSocket& s, size_t want, core::ipset::ListedSet& out) {
    return s.ReadList(want, out);
  }
  // { header, entries, done }; next() gives null after the batch that said done.
  static Napi::Value BatchToJs(Napi::Env env, core::ipset::ListedSet& part, bool done);
};

}  // namespace connlimit::js
