// SPDX-License-Identifier: GPL-2.0-or-later
#include "js/ipset.h"

#include <cstdint>
#include <utility>
#include <vector>

#include "core/ipset/ipset_encoder.h"
#include "core/ipset/ipset_sockopt.h"
#include "js/errors.h"
#include "js/ipset_convert.h"

namespace connlimit::js {

namespace ips = core::ipset;

namespace {

std::string Str(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsString()) throw Napi::TypeError::New(env, std::string("ipset: bad ") + what);
  return v.As<Napi::String>().Utf8Value();
}

ips::Adt AdtFromJs(Napi::Env env, const Napi::Value& v) {
  auto s = Str(env, v, "command");
  if (s == "add") return ips::Adt::kAdd;
  if (s == "del") return ips::Adt::kDel;
  if (s == "test") return ips::Adt::kTest;
  throw Napi::TypeError::New(env, "ipset: bad command");
}

Napi::Value Undefined(Napi::Env e, core::Unit&) { return e.Undefined(); }

}  // namespace

Napi::Function IpsetHandle::Define(Napi::Env env) {
  return SocketHandle::Define(env, {
                                       InstanceMethod<&IpsetHandle::Create>("create"),
                                       InstanceMethod<&IpsetHandle::Elements>("elements"),
                                       InstanceMethod<&IpsetHandle::Test>("test"),
                                       InstanceMethod<&IpsetHandle::Each>("each"),
                                       InstanceMethod<&IpsetHandle::Header>("header"),
                                       InstanceMethod<&IpsetHandle::Named>("named"),
                                       InstanceMethod<&IpsetHandle::List>("list"),
                                       InstanceMethod<&IpsetHandle::Names>("names"),
                                       InstanceMethod<&IpsetHandle::SetIndex>("setIndex"),
                                       InstanceMethod<&IpsetHandle::SetName>("setName"),
                                       StaticMethod<&IpsetHandle::EncodeCreate>("_encodeCreate"),
                                       StaticMethod<&IpsetHandle::EncodeElement>("_encodeElement"),
                                       StaticMethod<&IpsetHandle::EncodeElements>("_encodeElements"),
                                   });
}

// create(spec)
Napi::Value IpsetHandle::Create(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&]() -> Napi::Value {
    auto spec = CreateSpecFromJs(info.Env(), info[0]);
    return Run<core::Unit>("Create", [spec](ips::IpsetSocket& s) { return s.Create(spec); }, Undefined);
  });
}

// elements('add'|'del', set, records, objects, exist): the elements packed (ipset_convert.h).
Napi::Value IpsetHandle::Elements(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto cmd = AdtFromJs(env, info[0]);
    if (cmd == ips::Adt::kTest) throw Napi::TypeError::New(env, "ipset: test goes through test()");
    auto set = Str(env, info[1], "set name");
    auto elements = ElementsFromPacked(env, info[2], info[3]);
    bool exist = info[4].ToBoolean().Value();
    return Run<core::Unit>(
        "Elements",
        [cmd, set, elements = std::move(elements), exist](ips::IpsetSocket& s) { return s.Elements(cmd, set, elements, exist); },
        Undefined);
  });
}

// each(records, names, objects) -> null | (Error | null)[]: independent calls, packed
// (ipset_convert.h), in one trip to the handle's thread (AnswersToJs).
Napi::Value IpsetHandle::Each(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto calls = ElementCallsFromPacked(env, info[0], info[1], info[2]);
    using Answers = std::vector<std::optional<core::KernelError>>;
    return Run<Answers>("Each", [calls = std::move(calls)](ips::IpsetSocket& s) { return s.Each(calls); }, AnswersToJs);
  });
}

// test(set, element) -> boolean
Napi::Value IpsetHandle::Test(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto set = Str(env, info[0], "set name");
    auto e = ElementFromJs(env, info[1]);
    return Run<bool>(
        "Test", [set, e](ips::IpsetSocket& s) { return s.Test(set, e); },
        [](Napi::Env en, bool& in) -> Napi::Value { return Napi::Boolean::New(en, in); });
  });
}

// header(set) -> { name, type, family, revision, ... }
Napi::Value IpsetHandle::Header(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&]() -> Napi::Value {
    auto set = Str(info.Env(), info[0], "set name");
    return Run<ips::SetHeader>(
        "Header", [set](ips::IpsetSocket& s) { return s.Header(set); },
        [](Napi::Env en, ips::SetHeader& h) -> Napi::Value { return HeaderToJs(en, h); });
  });
}

// named('destroy'|'flush'|'rename'|'swap', name, name2, exist)
Napi::Value IpsetHandle::Named(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto what = Str(env, info[0], "command");
    auto name = Str(env, info[1], "set name");
    auto name2 = info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : std::string();
    bool exist = info[3].ToBoolean().Value();
    uint8_t cmd;
    const ips::IpsetOp* op;
    bool excl = false;
    if (what == "destroy") {
      cmd = IPSET_CMD_DESTROY, op = &ips::kOpDestroy, excl = !exist;  // without EXCL an absent set is no error
    } else if (what == "flush") {
      cmd = IPSET_CMD_FLUSH, op = &ips::kOpFlush;
    } else if (what == "rename") {
      cmd = IPSET_CMD_RENAME, op = &ips::kOpRename;
    } else if (what == "swap") {
      cmd = IPSET_CMD_SWAP, op = &ips::kOpSwap;
    } else {
      throw Napi::TypeError::New(env, "ipset: bad command");
    }
    return Run<core::Unit>(
        "Named", [cmd, op, name, name2, excl](ips::IpsetSocket& s) { return s.Named(cmd, *op, name, name2, excl); },
        Undefined);
  });
}

// list(set) -> { header, entries }
Napi::Value IpsetHandle::List(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&]() -> Napi::Value {
    auto set = Str(info.Env(), info[0], "set name");
    return Run<ips::ListedSet>(
        "List", [set](ips::IpsetSocket& s) { return s.List(set); },
        [](Napi::Env en, ips::ListedSet& l) -> Napi::Value { return ListedSetToJs(en, l); });
  });
}

// names() -> string[]
Napi::Value IpsetHandle::Names(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&]() -> Napi::Value {
    return Run<std::vector<std::string>>(
        "Names", [](ips::IpsetSocket& s) { return s.Names(); },
        [](Napi::Env en, std::vector<std::string>& names) -> Napi::Value {
          auto a = Napi::Array::New(en, names.size());
          for (uint32_t i = 0; i < names.size(); i++) a.Set(i, names[i]);
          return a;
        });
  });
}

// setIndex(name) -> { index, family } | null: the kernel index a `-m set` rule holds for the set.
Napi::Value IpsetHandle::SetIndex(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&]() -> Napi::Value {
    auto set = Str(info.Env(), info[0], "set name");
    using Found = std::optional<ips::SetIndex>;
    return Run<Found>(
        "SetIndex", [set](ips::IpsetSocket& s) { return ips::SetIndexByName(s.netns(), set); },
        [](Napi::Env en, Found& f) -> Napi::Value {
          if (!f) return en.Null();
          auto o = Napi::Object::New(en);
          o.Set("index", f->index);
          o.Set("family", f->family);
          return o;
        });
  });
}

// setName(index) -> string | null: the set a `-m set` rule's index names.
Napi::Value IpsetHandle::SetName(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&]() -> Napi::Value {
    if (!info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "ipset: bad set index");
    auto index = static_cast<uint16_t>(info[0].As<Napi::Number>().Uint32Value());
    using Found = std::optional<std::string>;
    return Run<Found>(
        "SetName", [index](ips::IpsetSocket& s) { return ips::SetNameByIndex(s.netns(), index); },
        [](Napi::Env en, Found& f) -> Napi::Value { return f ? Napi::Value(Napi::String::New(en, *f)) : en.Null(); });
  });
}

// _encodeCreate(spec, revision, seq)
Napi::Value IpsetHandle::EncodeCreate(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto spec = CreateSpecFromJs(env, info[0]);
    auto bytes = ips::EncodeCreate(spec, static_cast<uint8_t>(info[1].As<Napi::Number>().Uint32Value()), info[2].As<Napi::Number>().Uint32Value());
    return Napi::Buffer<uint8_t>::Copy(env, bytes.data(), bytes.size());
  });
}

// _encodeElement('add'|'del'|'test', set, element, exist, seq)
Napi::Value IpsetHandle::EncodeElement(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto bytes = ips::EncodeElement(AdtFromJs(env, info[0]), Str(env, info[1], "set name"), ElementFromJs(env, info[2]),
                                    info[3].ToBoolean().Value(), info[4].As<Napi::Number>().Uint32Value());
    return Napi::Buffer<uint8_t>::Copy(env, bytes.data(), bytes.size());
  });
}

// _encodeElements('add'|'del', set, records, objects, exist, seq): every message of elements()'s
// packed elements, back to back.
Napi::Value IpsetHandle::EncodeElements(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto elements = ElementsFromPacked(env, info[2], info[3]);
    std::vector<uint8_t> bytes;
    size_t end = 0;
    ips::AppendElementBatch(bytes, AdtFromJs(env, info[0]), Str(env, info[1], "set name"), elements, 0, end, info[4].ToBoolean().Value(),
                            info[5].As<Napi::Number>().Uint32Value(), ips::IpsetSocket::kBatchMessage, SIZE_MAX);
    return Napi::Buffer<uint8_t>::Copy(env, bytes.data(), bytes.size());
  });
}

template class SocketHandle<IpsetHandle, ips::IpsetSocket>;

}  // namespace connlimit::js
