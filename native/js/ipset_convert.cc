// SPDX-License-Identifier: GPL-2.0-or-later
#include "js/ipset_convert.h"

#include <arpa/inet.h>

#include <cstring>
#include <string>

namespace connlimit::js {

namespace ips = core::ipset;

namespace {

Napi::TypeError Shape(Napi::Env env, const std::string& what) { return Napi::TypeError::New(env, "ipset: bad " + what); }

uint8_t FamilyOf(Napi::Env env, const Napi::Object& o) {
  auto f = o.Get("family");
  if (!f.IsString()) throw Shape(env, "family");
  auto s = f.As<Napi::String>().Utf8Value();
  if (s == "ipv4") return ips::kNfprotoIpv4;
  if (s == "ipv6") return ips::kNfprotoIpv6;
  throw Shape(env, "family");
}

template <typename T>
std::optional<T> OptNumber(Napi::Env env, const Napi::Object& o, const char* key, double max) {
  auto v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return std::nullopt;
  if (!v.IsNumber()) throw Shape(env, key);
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= max) || d != static_cast<double>(static_cast<uint64_t>(d))) throw Shape(env, key);
  return static_cast<T>(d);
}

bool Flag(const Napi::Object& o, const char* key) { return o.Get(key).ToBoolean().Value(); }

std::string AddrText(uint8_t family, const std::array<uint8_t, 16>& a) {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == ips::kNfprotoIpv6 ? AF_INET6 : AF_INET, a.data(), text, sizeof(text));
  return text;
}

}  // namespace

ips::CreateSpec CreateSpecFromJs(Napi::Env env, const Napi::Value& v) {
  if (!v.IsObject()) throw Shape(env, "create options");
  auto o = v.As<Napi::Object>();
  ips::CreateSpec s;
  if (!o.Get("name").IsString() || !o.Get("type").IsString()) throw Shape(env, "name or type");
  s.name = o.Get("name").As<Napi::String>().Utf8Value();
  s.type = o.Get("type").As<Napi::String>().Utf8Value();
  s.family = FamilyOf(env, o);
  s.timeout = OptNumber<uint32_t>(env, o, "timeout", 4294967295.0);
  s.hashsize = OptNumber<uint32_t>(env, o, "hashsize", 4294967295.0);
  s.maxelem = OptNumber<uint32_t>(env, o, "maxelem", 4294967295.0);
  s.counters = Flag(o, "counters");
  s.comment = Flag(o, "comment");
  s.exist = Flag(o, "exist");
  return s;
}

namespace {

// The property names of an element, made once per call: a Get by a C string makes a new JS
// string each time, which for 100k entries was most of the conversion.
struct ElementKeys {
  explicit ElementKeys(Napi::Env env)
      : family(Napi::String::New(env, "family")),
        address(Napi::String::New(env, "address")),
        cidr(Napi::String::New(env, "cidr")),
        port(Napi::String::New(env, "port")),
        proto(Napi::String::New(env, "proto")),
        timeout(Napi::String::New(env, "timeout")),
        comment(Napi::String::New(env, "comment")),
        address2(Napi::String::New(env, "address2")),
        iface(Napi::String::New(env, "iface")),
        physdev(Napi::String::New(env, "physdev")),
        wildcard(Napi::String::New(env, "wildcard")),
        nomatch(Napi::String::New(env, "nomatch")) {}
  Napi::String family, address, cidr, port, proto, timeout, comment, address2, iface, physdev, wildcard, nomatch;
};

template <typename T>
std::optional<T> OptNumberAt(Napi::Env env, const Napi::Object& o, const Napi::String& key, const char* what, double max) {
  auto v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return std::nullopt;
  if (!v.IsNumber()) throw Shape(env, what);
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= max) || d != static_cast<double>(static_cast<uint64_t>(d))) throw Shape(env, what);
  return static_cast<T>(d);
}

ips::Element ElementWithKeys(Napi::Env env, const ElementKeys& k, const Napi::Value& v) {
  if (!v.IsObject()) throw Shape(env, "element");
  auto o = v.As<Napi::Object>();
  ips::Element e;
  auto f = o.Get(k.family);
  if (!f.IsString()) throw Shape(env, "family");
  auto fs = f.As<Napi::String>().Utf8Value();
  if (fs == "ipv4") {
    e.family = ips::kNfprotoIpv4;
  } else if (fs == "ipv6") {
    e.family = ips::kNfprotoIpv6;
  } else {
    throw Shape(env, "family");
  }
  auto addr = o.Get(k.address);
  if (!addr.IsString()) throw Shape(env, "address");
  if (inet_pton(e.family == ips::kNfprotoIpv6 ? AF_INET6 : AF_INET, addr.As<Napi::String>().Utf8Value().c_str(), e.addr.data()) != 1)
    throw Shape(env, "address");
  e.cidr = OptNumberAt<uint8_t>(env, o, k.cidr, "cidr", 128);
  e.port = OptNumberAt<uint16_t>(env, o, k.port, "port", 65535);
  if (e.port) e.proto = OptNumberAt<uint8_t>(env, o, k.proto, "proto", 255).value_or(IPPROTO_TCP);
  auto addr2 = o.Get(k.address2);
  if (!addr2.IsUndefined()) {
    if (!addr2.IsString()) throw Shape(env, "address2");
    e.addr2.emplace();
    if (inet_pton(e.family == ips::kNfprotoIpv6 ? AF_INET6 : AF_INET, addr2.As<Napi::String>().Utf8Value().c_str(), e.addr2->data()) != 1)
      throw Shape(env, "address2");
  }
  auto iface = o.Get(k.iface);
  if (!iface.IsUndefined()) {
    if (!iface.IsString()) throw Shape(env, "iface");
    e.iface = iface.As<Napi::String>().Utf8Value();
    if (e.iface->empty() || e.iface->size() > ips::kMaxIfaceLen || e.iface->find('\0') != std::string::npos) throw Shape(env, "iface");
    e.physdev = o.Get(k.physdev).ToBoolean().Value();
    e.wildcard = o.Get(k.wildcard).ToBoolean().Value();
  }
  e.nomatch = o.Get(k.nomatch).ToBoolean().Value();
  e.timeout = OptNumberAt<uint32_t>(env, o, k.timeout, "timeout", 4294967295.0);
  auto comment = o.Get(k.comment);
  if (comment.IsString()) e.comment = comment.As<Napi::String>().Utf8Value();
  return e;
}

}  // namespace

ips::Element ElementFromJs(Napi::Env env, const Napi::Value& v) { return ElementWithKeys(env, ElementKeys(env), v); }

namespace {

// A packed call's record, as src/sets/packed-calls.ts writes it (numbers in host order):
//   [0] command: 0 add, 1 del, 2 test
//   [1] flags: kExist, kNomatch, kTimeout, kObject (the element is objects[u32 at 12])
//   [2..3] zero
//   [4..7] timeout, seconds (with kTimeout)
//   [8..11] the IPv4 address, network order (without kObject)
//   [12..15] the element's index in `objects` (with kObject)
//   [16..19] the set: an index into `names`
// An addMany's elements are records too, their command, kExist and set left zero.
constexpr uint8_t kExist = 1, kNomatch = 2, kTimeout = 4, kObject = 8;

uint32_t Word(const uint8_t* p) {
  uint32_t w;
  std::memcpy(&w, p, sizeof(w));
  return w;
}

// The element of the record at `r`: from its bytes, or from `objects` (kObject).
ips::Element ElementFromRecord(Napi::Env env, const ElementKeys& keys, const Napi::Array& objects, const uint8_t* r) {
  uint8_t flags = r[1];
  if (flags & kObject) {
    uint32_t at = Word(r + 12);
    if (at >= objects.Length()) throw Shape(env, "element");
    return ElementWithKeys(env, keys, objects.Get(at));
  }
  ips::Element e;
  e.family = ips::kNfprotoIpv4;
  std::copy(r + 8, r + 12, e.addr.begin());
  e.nomatch = flags & kNomatch;
  if (flags & kTimeout) e.timeout = Word(r + 4);
  return e;
}

size_t RecordCount(Napi::Env env, const Napi::Value& records, const Napi::Value& objects) {
  if (!records.IsBuffer() || !objects.IsArray()) throw Shape(env, "packed elements");
  size_t len = records.As<Napi::Buffer<uint8_t>>().Length();
  if (len % kPackedCallBytes != 0) throw Shape(env, "packed elements");
  return len / kPackedCallBytes;
}

}  // namespace

std::vector<ips::ElementCall> ElementCallsFromPacked(Napi::Env env, const Napi::Value& records, const Napi::Value& names,
                                                     const Napi::Value& objects) {
  size_t count = RecordCount(env, records, objects);
  if (!names.IsArray()) throw Shape(env, "packed calls");
  auto name_array = names.As<Napi::Array>();
  std::vector<std::string> set_names(name_array.Length());
  for (uint32_t i = 0; i < set_names.size(); i++) {
    Napi::Value n = name_array.Get(i);
    if (!n.IsString()) throw Shape(env, "set name");
    set_names[i] = n.As<Napi::String>().Utf8Value();
  }
  const uint8_t* data = records.As<Napi::Buffer<uint8_t>>().Data();
  auto object_array = objects.As<Napi::Array>();
  ElementKeys keys(env);
  std::vector<ips::ElementCall> calls(count);
  for (size_t i = 0; i < count; i++) {
    const uint8_t* r = data + i * kPackedCallBytes;
    ips::ElementCall& c = calls[i];
    if (r[0] > 2) throw Shape(env, "command");
    c.cmd = r[0] == 0 ? ips::Adt::kAdd : r[0] == 1 ? ips::Adt::kDel : ips::Adt::kTest;
    c.exist = r[1] & kExist;
    uint32_t set = Word(r + 16);
    if (set >= set_names.size()) throw Shape(env, "set name");
    c.set = set_names[set];
    c.element = ElementFromRecord(env, keys, object_array, r);
  }
  return calls;
}

ips::ElementBatch ElementsFromPacked(Napi::Env env, const Napi::Value& records, const Napi::Value& objects) {
  size_t count = RecordCount(env, records, objects);
  const uint8_t* data = records.As<Napi::Buffer<uint8_t>>().Data();
  auto object_array = objects.As<Napi::Array>();
  ElementKeys keys(env);
  ips::ElementBatch out;
  out.entries.resize(count);
  for (size_t i = 0; i < count; i++) {
    const uint8_t* r = data + i * kPackedCallBytes;
    ips::BatchEntry& e = out.entries[i];
    if (r[1] & kObject) {
      e.flags = ips::BatchEntry::kFull;
      e.full = static_cast<uint32_t>(out.full.size());
      out.full.push_back(ElementFromRecord(env, keys, object_array, r));
      continue;
    }
    // Kept as the record has it: the handle's thread writes it into its message (ipset_encoder.cc).
    e.flags = (r[1] & kTimeout ? ips::BatchEntry::kTimeout : 0) | (r[1] & kNomatch ? ips::BatchEntry::kNomatch : 0);
    std::copy(r + 8, r + 12, e.addr.begin());
    e.timeout = Word(r + 4);
  }
  return out;
}

Napi::Object HeaderToJs(Napi::Env env, const ips::SetHeader& h) {
  auto o = Napi::Object::New(env);
  o.Set("name", h.name);
  o.Set("type", h.type);
  o.Set("family", h.family == ips::kNfprotoIpv6 ? "ipv6" : "ipv4");
  o.Set("revision", h.revision);
  o.Set("hashsize", h.hashsize);
  o.Set("maxelem", h.maxelem);
  o.Set("bucketsize", h.bucketsize);
  o.Set("timeout", h.timeout ? Napi::Value(Napi::Number::New(env, *h.timeout)) : env.Null());
  o.Set("counters", (h.cadt_flags & IPSET_FLAG_WITH_COUNTERS) != 0);
  o.Set("comment", (h.cadt_flags & IPSET_FLAG_WITH_COMMENT) != 0);
  o.Set("references", h.references);
  o.Set("memsize", h.memsize);
  o.Set("elements", h.elements);
  return o;
}

Napi::Object ListedSetToJs(Napi::Env env, const ips::ListedSet& set) {
  auto o = Napi::Object::New(env);
  o.Set("header", HeaderToJs(env, set.header));
  auto entries = Napi::Array::New(env, set.entries.size());
  for (uint32_t i = 0; i < set.entries.size(); i++) {
    const auto& e = set.entries[i];
    auto x = Napi::Object::New(env);
    x.Set("address", AddrText(e.family, e.addr));
    if (e.cidr) x.Set("cidr", *e.cidr);
    if (e.port) {
      x.Set("port", *e.port);
      x.Set("proto", e.proto);
    }
    if (e.addr2) x.Set("address2", AddrText(e.family, *e.addr2));
    if (e.iface) {
      x.Set("iface", *e.iface);
      if (e.physdev) x.Set("physdev", true);
      if (e.wildcard) x.Set("wildcard", true);
    }
    if (e.nomatch) x.Set("nomatch", true);
    if (e.timeout) x.Set("timeout", *e.timeout);
    if (e.packets) x.Set("packets", Napi::BigInt::New(env, *e.packets));
    if (e.bytes) x.Set("bytes", Napi::BigInt::New(env, *e.bytes));
    if (e.comment) x.Set("comment", *e.comment);
    entries.Set(i, x);
  }
  o.Set("entries", entries);
  return o;
}

}  // namespace connlimit::js
