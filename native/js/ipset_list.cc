// SPDX-License-Identifier: GPL-2.0-or-later
#include "js/ipset_list.h"

#include "js/errors.h"
#include "js/ipset.h"
#include "js/ipset_convert.h"

namespace connlimit::js {

IpsetList::IpsetList(const Napi::CallbackInfo& info) : StreamedList(info) {
  Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "ipset: bad list owner");
    IpsetHandle* owner = Napi::ObjectWrap<IpsetHandle>::Unwrap(info[0].As<Napi::Object>());
    if (!owner || !owner->usable()) throw Napi::TypeError::New(env, "ipset: list owner not open");
    if (!info[1].IsString()) throw Napi::TypeError::New(env, "ipset: bad set name");
    Init(owner->netns(), info[1].As<Napi::String>().Utf8Value(), info[2].IsNumber() ? info[2].As<Napi::Number>().Uint32Value() : 4096);
    return Napi::Value();
  });
}

Napi::Value IpsetList::BatchToJs(Napi::Env env, core::ipset::ListedSet& part, bool done) {
  auto o = ListedSetToJs(env, part);
  o.Set("done", done);
  return o;
}

}  // namespace connlimit::js
