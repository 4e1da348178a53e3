// SPDX-License-Identifier: GPL-2.0-or-later
// IpsetList: one streamed listing of a set (the lifecycle in js/streamed_list.h), so a slow
// `for await` body can call the Sets handle meanwhile.
#pragma once

#include <napi.h>

#include <string>

#include "core/ipset/ipset_socket.h"
#include "js/streamed_list.h"

namespace connlimit::js {

class IpsetList : public StreamedList<IpsetList, core::ipset::IpsetSocket, std::string, core::ipset::ListedSet> {
 public:
  static constexpr const char* kClassName = "IpsetList";
  static constexpr const char* kWorkerName = "connlimit:ipsetList";
  static constexpr const char* kSubject = "ipset listing";

  // new IpsetList(owner: IpsetHandle, set, batchSize)
  explicit IpsetList(const Napi::CallbackInfo& info);

  static core::Result<core::Unit> StartDump(core::ipset::IpsetSocket& s, const std::string& set) { return s.StartList(set); }
  static core::Result<bool> ReadBatch(core::ipset::IpsetSocket& s, size_t want, core::ipset::ListedSet& out) {
    return s.ReadList(want, out);
  }
  // { header, entries, done }; next() gives null after the batch that said done.
  static Napi::Value BatchToJs(Napi::Env env, core::ipset::ListedSet& part, bool done);
};

}  // namespace connlimit::js
