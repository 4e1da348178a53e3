// SPDX-License-Identifier: GPL-2.0-or-later
#include "js/nftables_sets.h"

#include <map>
#include <utility>
#include <vector>

#include "core/nft/native/nftables_codec.h"
#include "core/nft/native/nftables_sets.h"
#include "js/errors.h"
#include "js/ipset_convert.h"

namespace connlimit::js {

namespace nft = core::nft;
namespace ips = core::ipset;

namespace {

std::string Str(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsString()) throw Napi::TypeError::New(env, std::string("nftables sets: bad ") + what);
  return v.As<Napi::String>().Utf8Value();
}

core::Family FamilyFromJs(Napi::Env env, const Napi::Value& v) {
  auto s = Str(env, v, "family");
  if (s == "ipv4") return core::Family::kIpv4;
  if (s == "ipv6") return core::Family::kIpv6;
  throw Napi::TypeError::New(env, "nftables sets: bad family");
}

Napi::Value Undefined(Napi::Env e, core::Unit&) { return e.Undefined(); }

Napi::Value Bytes(Napi::Env env, const nft::Message& m) { return Napi::Buffer<uint8_t>::Copy(env, m.data(), m.size()); }

}  // namespace

NftablesSetHandle::NftablesSetHandle(const Napi::CallbackInfo& info) : SocketHandle(info) {
  Guarded(info.Env(), [&]() -> Napi::Value {
    if (info[0].IsObject()) family_ = FamilyFromJs(info.Env(), info[0].As<Napi::Object>().Get("family"));
    return Napi::Value();
  });
}

Napi::Function NftablesSetHandle::Define(Napi::Env env) {
  return SocketHandle::Define(env, {
                                       InstanceMethod<&NftablesSetHandle::Create>("create"),
                                       InstanceMethod<&NftablesSetHandle::Elements>("elements"),
                                       InstanceMethod<&NftablesSetHandle::Each>("each"),
                                       InstanceMethod<&NftablesSetHandle::Test>("test"),
                                       InstanceMethod<&NftablesSetHandle::Header>("header"),
                                       InstanceMethod<&NftablesSetHandle::Named>("named"),
                                       InstanceMethod<&NftablesSetHandle::List>("list"),
                                       InstanceMethod<&NftablesSetHandle::Names>("names"),
                                       StaticMethod<&NftablesSetHandle::EncodeCreate>("_encodeCreate"),
                                       StaticMethod<&NftablesSetHandle::EncodeElement>("_encodeElement"),
                                       StaticMethod<&NftablesSetHandle::EncodeEach>("_encodeEach"),
                                   });
}

// create(spec)
Napi::Value NftablesSetHandle::Create(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&]() -> Napi::Value {
    auto spec = CreateSpecFromJs(info.Env(), info[0]);
    return Run<core::Unit>("Create", [f = family_, spec](nft::NftablesSetSocket& s) { return s.Create(f, spec); }, Undefined);
  });
}

// elements('add'|'del', set, records, objects, exist): the elements packed (ipset_convert.h), as
// IpsetHandle takes them; one batch.
Napi::Value NftablesSetHandle::Elements(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto cmd = Str(env, info[0], "command");
    if (cmd != "add" && cmd != "del") throw Napi::TypeError::New(env, "nftables sets: bad command");
    auto set = Str(env, info[1], "set name");
    auto packed = ElementsFromPacked(env, info[2], info[3]);
    std::vector<ips::Element> elements;
    elements.reserve(packed.entries.size());
    for (size_t i = 0; i < packed.entries.size(); i++) elements.push_back(packed.At(i));
    bool exist = info[4].ToBoolean().Value();
    return Run<core::Unit>(
        "Elements",
        [f = family_, add = cmd == "add", set, elements = std::move(elements), exist](nft::NftablesSetSocket& s) {
          return s.Elements(f, add, set, elements, exist);
        },
        Undefined);
  });
}

// each(records, names, objects) -> null | (Error | null)[]: independent adds and deletes (no
// test), packed (ipset_convert.h), in one trip, side by side in one batch. null when every call
// went in, as IpsetHandle's.
Napi::Value NftablesSetHandle::Each(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto calls = ElementCallsFromPacked(env, info[0], info[1], info[2]);
    for (const auto& c : calls)
      if (c.cmd == ips::Adt::kTest) throw Napi::TypeError::New(env, "nftables sets: test goes through test()");
    using Answers = std::vector<std::optional<core::KernelError>>;
    return Run<Answers>("Each", [f = family_, calls = std::move(calls)](nft::NftablesSetSocket& s) { return s.Each(f, calls); }, AnswersToJs);
  });
}

// test(set, element) -> boolean
Napi::Value NftablesSetHandle::Test(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&]() -> Napi::Value {
    auto set = Str(info.Env(), info[0], "set name");
    auto e = ElementFromJs(info.Env(), info[1]);
    return Run<bool>(
        "Test", [f = family_, set, e](nft::NftablesSetSocket& s) { return s.Test(f, set, e); },
        [](Napi::Env en, bool& in) -> Napi::Value { return Napi::Boolean::New(en, in); });
  });
}

// header(set, withSize): `withSize` counts the entries (a dump), for Sets.header(); without
// it `elements` is 0, for callers that want the type only.
Napi::Value NftablesSetHandle::Header(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&]() -> Napi::Value {
    auto set = Str(info.Env(), info[0], "set name");
    bool with_size = info[1].ToBoolean().Value();
    return Run<ips::SetHeader>(
        "Header",
        [f = family_, set, with_size](nft::NftablesSetSocket& s) { return with_size ? s.HeaderWithSize(f, set) : s.Header(f, set); },
        [](Napi::Env en, ips::SetHeader& h) -> Napi::Value { return HeaderToJs(en, h); });
  });
}

// named('destroy'|'flush', name, null, exist); src/sets/ refuses rename and swap first.
Napi::Value NftablesSetHandle::Named(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto what = Str(env, info[0], "command");
    auto name = Str(env, info[1], "set name");
    bool exist = info[3].ToBoolean().Value();
    if (what == "destroy")
      return Run<core::Unit>("Destroy", [f = family_, name, exist](nft::NftablesSetSocket& s) { return s.Destroy(f, name, exist); }, Undefined);
    if (what == "flush") return Run<core::Unit>("Flush", [f = family_, name](nft::NftablesSetSocket& s) { return s.Flush(f, name); }, Undefined);
    throw Napi::TypeError::New(env, "nftables sets: bad command");
  });
}

// list(set) -> { header, entries }
Napi::Value NftablesSetHandle::List(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&]() -> Napi::Value {
    auto set = Str(info.Env(), info[0], "set name");
    return Run<ips::ListedSet>(
        "List", [f = family_, set](nft::NftablesSetSocket& s) { return s.List(f, set); },
        [](Napi::Env en, ips::ListedSet& l) -> Napi::Value { return ListedSetToJs(en, l); });
  });
}

// names() -> string[]
Napi::Value NftablesSetHandle::Names(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&]() -> Napi::Value {
    return Run<std::vector<std::string>>(
        "Names", [f = family_](nft::NftablesSetSocket& s) { return s.Names(f); },
        [](Napi::Env en, std::vector<std::string>& names) -> Napi::Value {
          auto a = Napi::Array::New(en, names.size());
          for (uint32_t i = 0; i < names.size(); i++) a.Set(i, names[i]);
          return a;
        });
  });
}

// _encodeCreate(family, spec, seq)
Napi::Value NftablesSetHandle::EncodeCreate(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto spec = CreateSpecFromJs(env, info[1]);
    return Bytes(env, nft::EncodeNamedSet(FamilyFromJs(env, info[0]), nft::kNftablesTable, spec, info[2].As<Napi::Number>().Uint32Value()));
  });
}

// _encodeElement(family, 'add'|'del'|'test', set, type, element, exist, seq)
Napi::Value NftablesSetHandle::EncodeElement(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto cmd = Str(env, info[1], "command");
    auto c = cmd == "add" ? nft::ElemCmd::kAdd : cmd == "del" ? nft::ElemCmd::kDelete : nft::ElemCmd::kGet;
    std::vector<ips::Element> one = {ElementFromJs(env, info[4])};
    return Bytes(env, nft::EncodeSetElements(c, FamilyFromJs(env, info[0]), nft::kNftablesTable, Str(env, info[2], "set name"),
                                             Str(env, info[3], "type"), one, 0, 1, info[5].ToBoolean().Value(),
                                             info[6].As<Napi::Number>().Uint32Value()));
  });
}

// _encodeEach(family, records, names, objects, types, seq): the messages each() puts in its
// batch for the packed calls (set names[i] of type types[i]), numbered from seq.
Napi::Value NftablesSetHandle::EncodeEach(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto family = FamilyFromJs(env, info[0]);
    auto calls = ElementCallsFromPacked(env, info[1], info[2], info[3]);
    auto names = info[2].As<Napi::Array>();
    auto types = info[4].As<Napi::Array>();
    std::map<std::string, std::string> type_of;
    for (uint32_t i = 0; i < names.Length(); i++) type_of[Str(env, names.Get(i), "set name")] = Str(env, types.Get(i), "type");
    uint32_t seq = info[5].As<Napi::Number>().Uint32Value();
    nft::Message body;
    for (const auto& c : calls) {
      auto cmd = c.cmd == ips::Adt::kAdd ? nft::ElemCmd::kAdd : nft::ElemCmd::kDelete;
      nft::AppendSetElement(body, cmd, family, nft::kNftablesTable, c.set, type_of[c.set], c.element, c.exist, seq++);
    }
    return Bytes(env, body);
  });
}

template class SocketHandle<NftablesSetHandle, nft::NftablesSetSocket>;

}  // namespace connlimit::js
