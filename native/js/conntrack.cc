// SPDX-License-Identifier: GPL-2.0-or-later
#include "js/conntrack.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstring>
#include <utility>
#include <vector>

#include "core/ct/counter.h"
#include "core/ct/ct_decoder.h"
#include "core/ct/ct_encoder.h"
#include "js/ct_convert.h"
#include "js/errors.h"
#include "js/promise_worker.h"

namespace connlimit::js {

namespace ct = core::ct;

namespace {

Napi::Object TupleToJs(Napi::Env env, uint8_t family, uint8_t protocol, const ct::Tuple& t) {
  auto o = Napi::Object::New(env);
  o.Set("src", AddrText(family, t.src));
  o.Set("dst", AddrText(family, t.dst));
  if (protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6) {
    o.Set("icmpType", t.icmp_type);
    o.Set("icmpCode", t.icmp_code);
    o.Set("icmpId", t.sport);
  } else {
    o.Set("sport", t.sport);
    o.Set("dport", t.dport);
  }
  return o;
}

Napi::Object EntryToJs(Napi::Env env, const ct::Entry& e) {
  auto o = Napi::Object::New(env);
  o.Set("family", e.family == AF_INET6 ? "ipv6" : "ipv4");
  o.Set("protocol", e.protocol);
  o.Set("orig", TupleToJs(env, e.family, e.protocol, e.orig));
  o.Set("reply", e.has_reply ? Napi::Value(TupleToJs(env, e.family, e.protocol, e.reply)) : env.Null());
  o.Set("tcpState", e.tcp_state == ct::Entry::kNoState ? Napi::Value(env.Null()) : Napi::Number::New(env, e.tcp_state));
  o.Set("status", e.status);
  o.Set("timeout", e.has_timeout ? Napi::Value(Napi::Number::New(env, e.timeout)) : env.Null());
  o.Set("mark", e.mark);
  o.Set("zone", e.zone);
  o.Set("id", e.id);
  if (e.has_counters) {
    auto c = Napi::Object::New(env);
    c.Set("origPackets", Napi::BigInt::New(env, e.orig_packets));
    c.Set("origBytes", Napi::BigInt::New(env, e.orig_bytes));
    c.Set("replyPackets", Napi::BigInt::New(env, e.reply_packets));
    c.Set("replyBytes", Napi::BigInt::New(env, e.reply_bytes));
    o.Set("counters", c);
  } else {
    o.Set("counters", env.Null());
  }
  return o;
}

Napi::Array EntriesToJs(Napi::Env env, const std::vector<ct::Entry>& entries) {
  auto a = Napi::Array::New(env, entries.size());
  for (uint32_t i = 0; i < entries.size(); i++) a.Set(i, EntryToJs(env, entries[i]));
  return a;
}

struct CountByResult {
  std::vector<ct::KeyCount> keys;
  ct::DumpStats stats;
};

}  // namespace

Napi::Function Conntrack::Define(Napi::Env env) {
  return SocketHandle::Define(env, {
                                       InstanceMethod<&Conntrack::Count>("count"),
                                       InstanceMethod<&Conntrack::CountBy>("countBy"),
                                       InstanceMethod<&Conntrack::Delete>("delete"),
                                       InstanceMethod<&Conntrack::NetnsChanged>("netnsChanged"),
                                       StaticMethod<&Conntrack::DecodeMessages>("_decode"),
                                       StaticMethod<&Conntrack::EncodeDump>("_encodeDump"),
                                   });
}

Napi::Value Conntrack::Count(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&]() -> Napi::Value {
    return Run<ct::TableCount>(
        "Count", [](ct::CtSocket& s) { return s.Count(); },
        [](Napi::Env e, ct::TableCount& c) -> Napi::Value {
          auto o = Napi::Object::New(e);
          o.Set("entries", c.entries);
          o.Set("maxEntries", c.max_entries);
          return o;
        });
  });
}

// countBy(filter, key 'source'|'destination', prefix4, prefix6, top)
Napi::Value Conntrack::CountBy(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto filter = FilterFromJs(env, info[0]);
    auto field = info[1].As<Napi::String>().Utf8Value() == "destination" ? ct::KeyField::kDestination : ct::KeyField::kSource;
    auto prefix4 = static_cast<uint8_t>(U32(info[2]));
    auto prefix6 = static_cast<uint8_t>(U32(info[3]));
    size_t top = U32(info[4]);
    return Run<CountByResult>(
        "CountBy",
        [=](ct::CtSocket& s) -> core::Result<CountByResult> {
          ct::KeyCounter counter(field, prefix4, prefix6);
          auto st = s.Dump(filter, [&](const ct::Entry& e) { counter.Add(e); }, [&] { counter.Clear(); });
          if (!st.ok()) return st.error();
          return CountByResult{counter.Take(top), st.value()};
        },
        [](Napi::Env e, CountByResult& r) -> Napi::Value {
          auto keys = Napi::Array::New(e, r.keys.size() * 2);
          for (uint32_t i = 0; i < r.keys.size(); i++) {
            keys.Set(2 * i, KeyText(r.keys[i].family, r.keys[i].addr, r.keys[i].prefix_len));
            keys.Set(2 * i + 1, Napi::Number::New(e, static_cast<double>(r.keys[i].count)));
          }
          auto o = Napi::Object::New(e);
          o.Set("keys", keys);
          o.Set("scanned", Napi::Number::New(e, static_cast<double>(r.stats.messages)));
          o.Set("matched", Napi::Number::New(e, static_cast<double>(r.stats.matched)));
          o.Set("kernelFiltered", r.stats.kernel_filtered);
          o.Set("restarts", r.stats.restarts);
          return o;
        });
  });
}

Napi::Value Conntrack::Delete(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&]() -> Napi::Value {
    auto filter = FilterFromJs(info.Env(), info[0]);
    return Run<ct::DeleteStats>(
        "Delete", [filter](ct::CtSocket& s) { return s.Delete(filter); },
        [](Napi::Env e, ct::DeleteStats& st) -> Napi::Value {
          auto o = Napi::Object::New(e);
          o.Set("matched", Napi::Number::New(e, static_cast<double>(st.matched)));
          o.Set("deleted", Napi::Number::New(e, static_cast<double>(st.deleted)));
          o.Set("vanished", Napi::Number::New(e, static_cast<double>(st.vanished)));
          o.Set("kernelSide", st.kernel_side);
          return o;
        });
  });
}

Napi::Value Conntrack::NetnsChanged(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&]() -> Napi::Value {
    return PromiseWorker<bool>::Start(
        Value(), "connlimit:ctNetnsChanged", [ns = netns()]() -> core::Result<bool> { return ns && !ns->StillNamed(); },
        [](Napi::Env e, bool& changed) -> Napi::Value { return Napi::Boolean::New(e, changed); });
  });
}

// _decode(buffer, seq | -1): { entries, done, interrupted, filtered, acks, notFound, stale, stats }
Napi::Value Conntrack::DecodeMessages(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!info[0].IsBuffer()) throw CtShape(env, "bytes");
    auto b = info[0].As<Napi::Buffer<uint8_t>>();
    // A copy, so nlmsghdr reads are aligned whatever offset the Buffer has in its pool.
    std::vector<uint8_t> bytes(b.Data(), b.Data() + b.Length());
    int64_t seq = info[1].IsNumber() ? info[1].As<Napi::Number>().Int64Value() : -1;
    std::vector<ct::Entry> entries;
    std::vector<ct::EntryKind> kinds;
    auto r = ct::DecodeChunk(bytes.data(), bytes.size(), seq < 0 ? ct::kAnySeq : static_cast<uint64_t>(seq), "ct dump", true,
                             [&](const ct::Entry& e, ct::EntryKind k) {
                               entries.push_back(e);
                               kinds.push_back(k);
                             });
    if (!r.ok()) throw ErrorFromKernel(env, r.error());
    auto o = Napi::Object::New(env);
    auto list = EntriesToJs(env, entries);
    for (uint32_t i = 0; i < entries.size(); i++) {
      const char* k = kinds[i] == ct::EntryKind::kNew ? "new" : kinds[i] == ct::EntryKind::kDestroy ? "destroy" : "entry";
      list.Get(i).As<Napi::Object>().Set("kind", k);
    }
    const auto& i = r.value();
    o.Set("entries", list);
    o.Set("done", i.done);
    o.Set("interrupted", i.interrupted);
    o.Set("filtered", i.filtered);
    o.Set("acks", i.acks);
    o.Set("notFound", i.not_found);
    o.Set("stale", Napi::Number::New(env, static_cast<double>(i.stale)));
    if (i.has_stats) {
      auto s = Napi::Object::New(env);
      s.Set("entries", i.stats_entries);
      s.Set("maxEntries", i.stats_max_entries);
      o.Set("stats", s);
    } else {
      o.Set("stats", env.Null());
    }
    return o;
  });
}

// _encodeDump(filter, seq): the request bytes a dump with this filter sends.
Napi::Value Conntrack::EncodeDump(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto bytes = ct::EncodeDumpRequest(FilterFromJs(env, info[0]), U32(info[1]));
    return Napi::Buffer<uint8_t>::Copy(env, bytes.data(), bytes.size());
  });
}

ConntrackList::ConntrackList(const Napi::CallbackInfo& info) : StreamedList(info) {
  Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw CtShape(env, "list owner");
    Conntrack* owner = Napi::ObjectWrap<Conntrack>::Unwrap(info[0].As<Napi::Object>());
    if (!owner || !owner->usable()) throw CtShape(env, "list owner not open");
    Init(owner->netns(), FilterFromJs(env, info[1]), info[2].IsNumber() ? U32(info[2]) : 256);
    return Napi::Value();
  });
}

Napi::Value ConntrackList::BatchToJs(Napi::Env env, std::vector<ct::Entry>& entries, bool done) {
  if (entries.empty() && done) return env.Null();
  return EntriesToJs(env, entries);
}

template class SocketHandle<Conntrack, ct::CtSocket>;

}  // namespace connlimit::js
