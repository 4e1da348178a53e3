// SPDX-License-Identifier: GPL-2.0-or-later
#include "js/convert.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace connlimit::js {
namespace {

using core::Family;

[[noreturn]] void Bad(Napi::Env env, const std::string& what) {
  throw Napi::TypeError::New(env, "connlimit internal: malformed " + what);
}

Napi::Value Field(const Napi::Object& o, const char* key) { return o.Get(key); }

std::string Str(const Napi::Object& o, const char* key) {
  auto v = Field(o, key);
  if (!v.IsString()) Bad(o.Env(), std::string(key) + " (string)");
  return v.As<Napi::String>().Utf8Value();
}

bool Bool(const Napi::Object& o, const char* key) {
  auto v = Field(o, key);
  if (!v.IsBoolean()) Bad(o.Env(), std::string(key) + " (boolean)");
  return v.As<Napi::Boolean>().Value();
}

double Num(const Napi::Object& o, const char* key, double lo, double hi) {
  auto v = Field(o, key);
  if (!v.IsNumber()) Bad(o.Env(), std::string(key) + " (number)");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= lo && d <= hi) || d != static_cast<double>(static_cast<int64_t>(d))) Bad(o.Env(), std::string(key) + " (range)");
  return d;
}

Napi::Object Obj(const Napi::Value& v, const char* what) {
  if (!v.IsObject()) Bad(v.Env(), what);
  return v.As<Napi::Object>();
}

bool IsNullish(const Napi::Value& v) { return v.IsNull() || v.IsUndefined(); }

void CopyBytes(const Napi::Value& v, uint8_t* out, size_t n, const char* what) {
  if (!v.IsBuffer()) Bad(v.Env(), what);
  auto b = v.As<Napi::Buffer<uint8_t>>();
  if (b.Length() != n) Bad(v.Env(), std::string(what) + " length");
  memcpy(out, b.Data(), n);
}

std::optional<core::Address> AddressFromJs(const Napi::Value& v, Family f) {
  if (IsNullish(v)) return std::nullopt;
  auto o = Obj(v, "address");
  core::Address a;
  size_t n = core::AddressBytes(f);
  CopyBytes(Field(o, "addr"), a.addr, n, "address.addr");
  CopyBytes(Field(o, "mask"), a.mask, n, "address.mask");
  a.invert = Bool(o, "invert");
  return a;
}

std::optional<core::Interface> InterfaceFromJs(const Napi::Value& v) {
  if (IsNullish(v)) return std::nullopt;
  auto o = Obj(v, "interface");
  return core::Interface{Str(o, "name"), Bool(o, "wildcard"), Bool(o, "invert")};
}

core::PortRange PortsFromJs(const Napi::Value& v) {
  if (!v.IsArray() || v.As<Napi::Array>().Length() != 2) Bad(v.Env(), "port range");
  auto a = v.As<Napi::Array>();
  auto get = [&](uint32_t i) {
    auto x = a.Get(i);
    if (!x.IsNumber()) Bad(v.Env(), "port");
    double d = x.As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d <= 65535)) Bad(v.Env(), "port");
    return static_cast<uint16_t>(d);
  };
  return core::PortRange{get(0), get(1)};
}

core::OpaqueExtension OpaqueFromJs(const Napi::Object& o) {
  core::OpaqueExtension x;
  x.name = Str(o, "name");
  x.revision = static_cast<uint8_t>(Num(o, "revision", 0, 255));
  auto data = Field(o, "data");
  if (!data.IsBuffer()) Bad(o.Env(), "opaque data");
  auto b = data.As<Napi::Buffer<uint8_t>>();
  x.data.assign(b.Data(), b.Data() + b.Length());
  // `sets`: the names a `set` match refers to, which the native nftables form writes (ipset's
  // blobs carry their indexes, written by src/rule/set-refs.ts, and need no names here).
  auto sets = o.Get("sets");
  if (sets.IsArray()) {
    auto a = sets.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      auto n = a.Get(i);
      if (!n.IsString()) Bad(o.Env(), "opaque sets");
      x.sets.push_back(n.As<Napi::String>().Utf8Value());
    }
  }
  return x;
}

core::Match MatchFromJs(const Napi::Value& v) {
  auto o = Obj(v, "match");
  std::string kind = Str(o, "kind");
  if (kind == "tcp") {
    core::TcpMatch t;
    t.sport = PortsFromJs(Field(o, "sport"));
    t.dport = PortsFromJs(Field(o, "dport"));
    t.option = static_cast<uint8_t>(Num(o, "option", 0, 255));
    t.flag_mask = static_cast<uint8_t>(Num(o, "flagMask", 0, 255));
    t.flag_compare = static_cast<uint8_t>(Num(o, "flagCompare", 0, 255));
    t.inv_sport = Bool(o, "invSport");
    t.inv_dport = Bool(o, "invDport");
    t.inv_flags = Bool(o, "invFlags");
    t.inv_option = Bool(o, "invOption");
    return t;
  }
  if (kind == "udp") {
    core::UdpMatch u;
    u.sport = PortsFromJs(Field(o, "sport"));
    u.dport = PortsFromJs(Field(o, "dport"));
    u.inv_sport = Bool(o, "invSport");
    u.inv_dport = Bool(o, "invDport");
    return u;
  }
  if (kind == "connlimit") {
    core::ConnlimitMatch c;
    c.limit = static_cast<uint32_t>(Num(o, "limit", 0, 4294967295.0));
    c.invert = Bool(o, "invert");
    c.daddr = Bool(o, "daddr");
    auto bits = Field(o, "maskBits");
    c.mask_bits = IsNullish(bits) ? -1 : static_cast<int>(Num(o, "maskBits", 0, 128));
    return c;
  }
  if (kind == "comment") return core::CommentMatch{Str(o, "comment")};
  if (kind == "opaque") return OpaqueFromJs(o);
  Bad(o.Env(), "match kind " + kind);
}

core::Target TargetFromJs(const Napi::Value& v) {
  auto o = Obj(v, "target");
  std::string kind = Str(o, "kind");
  core::Target t;
  using K = core::Target::Kind;
  if (kind == "none") {
    t.kind = K::kNone;
  } else if (kind == "verdict") {
    t.kind = K::kVerdict;
    t.name = Str(o, "verdict");
  } else if (kind == "jump" || kind == "goto") {
    t.kind = kind == "jump" ? K::kJump : K::kGoto;
    t.name = Str(o, "chain");
  } else if (kind == "reject") {
    t.kind = K::kReject;
    t.name = Str(o, "with");
  } else if (kind == "opaque") {
    t.kind = K::kOpaque;
    t.opaque = OpaqueFromJs(o);
  } else {
    Bad(o.Env(), "target kind " + kind);
  }
  return t;
}

// ---- to JS ----

Napi::Buffer<uint8_t> Bytes(Napi::Env env, const uint8_t* p, size_t n) { return Napi::Buffer<uint8_t>::Copy(env, p, n); }

Napi::Value AddressToJs(Napi::Env env, const std::optional<core::Address>& a, Family f) {
  if (!a) return env.Null();
  auto o = Napi::Object::New(env);
  size_t n = core::AddressBytes(f);
  o.Set("addr", Bytes(env, a->addr, n));
  o.Set("mask", Bytes(env, a->mask, n));
  o.Set("invert", a->invert);
  return o;
}

Napi::Value InterfaceToJs(Napi::Env env, const std::optional<core::Interface>& i) {
  if (!i) return env.Null();
  auto o = Napi::Object::New(env);
  o.Set("name", i->name);
  o.Set("wildcard", i->wildcard);
  o.Set("invert", i->invert);
  return o;
}

Napi::Array PortsToJs(Napi::Env env, const core::PortRange& p) {
  auto a = Napi::Array::New(env, 2);
  a.Set(0u, Napi::Number::New(env, p.lo));
  a.Set(1u, Napi::Number::New(env, p.hi));
  return a;
}

void OpaqueToJs(Napi::Env env, Napi::Object& o, const core::OpaqueExtension& x) {
  o.Set("kind", "opaque");
  o.Set("name", x.name);
  o.Set("revision", Napi::Number::New(env, x.revision));
  o.Set("data", Bytes(env, x.data.data(), x.data.size()));
  if (!x.sets.empty()) {
    auto a = Napi::Array::New(env, x.sets.size());
    for (uint32_t i = 0; i < x.sets.size(); i++) a.Set(i, x.sets[i]);
    o.Set("sets", a);
  }
}

Napi::Object MatchToJs(Napi::Env env, const core::Match& m) {
  auto o = Napi::Object::New(env);
  if (const auto* t = std::get_if<core::TcpMatch>(&m)) {
    o.Set("kind", "tcp");
    o.Set("sport", PortsToJs(env, t->sport));
    o.Set("dport", PortsToJs(env, t->dport));
    o.Set("option", Napi::Number::New(env, t->option));
    o.Set("flagMask", Napi::Number::New(env, t->flag_mask));
    o.Set("flagCompare", Napi::Number::New(env, t->flag_compare));
    o.Set("invSport", t->inv_sport);
    o.Set("invDport", t->inv_dport);
    o.Set("invFlags", t->inv_flags);
    o.Set("invOption", t->inv_option);
  } else if (const auto* u = std::get_if<core::UdpMatch>(&m)) {
    o.Set("kind", "udp");
    o.Set("sport", PortsToJs(env, u->sport));
    o.Set("dport", PortsToJs(env, u->dport));
    o.Set("invSport", u->inv_sport);
    o.Set("invDport", u->inv_dport);
  } else if (const auto* c = std::get_if<core::ConnlimitMatch>(&m)) {
    o.Set("kind", "connlimit");
    o.Set("limit", Napi::Number::New(env, c->limit));
    o.Set("invert", c->invert);
    o.Set("daddr", c->daddr);
    o.Set("maskBits", c->mask_bits < 0 ? env.Null() : Napi::Number::New(env, c->mask_bits));
  } else if (const auto* k = std::get_if<core::CommentMatch>(&m)) {
    o.Set("kind", "comment");
    o.Set("comment", k->comment);
  } else {
    OpaqueToJs(env, o, std::get<core::OpaqueExtension>(m));
  }
  return o;
}

Napi::Object TargetToJs(Napi::Env env, const core::Target& t) {
  auto o = Napi::Object::New(env);
  using K = core::Target::Kind;
  switch (t.kind) {
    case K::kNone: o.Set("kind", "none"); break;
    case K::kVerdict: o.Set("kind", "verdict"); o.Set("verdict", t.name); break;
    case K::kJump: o.Set("kind", "jump"); o.Set("chain", t.name); break;
    case K::kGoto: o.Set("kind", "goto"); o.Set("chain", t.name); break;
    case K::kReject: o.Set("kind", "reject"); o.Set("with", t.name); break;
    case K::kOpaque: OpaqueToJs(env, o, t.opaque); break;
  }
  return o;
}

}  // namespace

Family FamilyFromJs(const Napi::Value& v) {
  if (v.IsString()) {
    std::string s = v.As<Napi::String>().Utf8Value();
    if (s == "ipv4") return Family::kIpv4;
    if (s == "ipv6") return Family::kIpv6;
  }
  Bad(v.Env(), "family");
}

core::RuleSpec RuleFromJs(const Napi::Value& v, Family family) {
  auto o = Obj(v, "rule");
  core::RuleSpec r;
  r.protocol = static_cast<uint16_t>(Num(o, "protocol", 0, 255));
  r.inv_protocol = Bool(o, "invProtocol");
  r.src = AddressFromJs(Field(o, "src"), family);
  r.dst = AddressFromJs(Field(o, "dst"), family);
  r.in_interface = InterfaceFromJs(Field(o, "inInterface"));
  r.out_interface = InterfaceFromJs(Field(o, "outInterface"));
  auto frag = Field(o, "fragment");
  if (!IsNullish(frag)) r.fragment = Bool(o, "fragment");
  auto matches = Field(o, "matches");
  if (!matches.IsArray()) Bad(o.Env(), "matches");
  auto arr = matches.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); i++) r.matches.push_back(MatchFromJs(arr.Get(i)));
  r.target = TargetFromJs(Field(o, "target"));
  return r;
}

core::Op OpFromJs(const Napi::Value& v, Family family) {
  using K = core::Op::Kind;
  auto o = Obj(v, "op");
  std::string name = Str(o, "op");
  core::Op op;
  auto chain = Field(o, "chain");
  if (!IsNullish(chain)) op.chain = Str(o, "chain");
  bool has_rule = false, has_index = false;
  if (name == "append") { op.kind = K::kAppend; has_rule = true; }
  else if (name == "insert") { op.kind = K::kInsert; has_rule = has_index = true; }
  else if (name == "replace") { op.kind = K::kReplace; has_rule = has_index = true; }
  else if (name == "delete") { op.kind = K::kDelete; has_rule = true; }
  else if (name == "deleteAt") { op.kind = K::kDeleteAt; has_index = true; }
  else if (name == "ensure") { op.kind = K::kEnsure; has_rule = true; }
  else if (name == "flush") op.kind = K::kFlush;
  else if (name == "zero") op.kind = K::kZero;
  else if (name == "createChain") op.kind = K::kCreateChain;
  else if (name == "deleteChain") op.kind = K::kDeleteChain;
  else if (name == "renameChain") { op.kind = K::kRenameChain; op.to = Str(o, "to"); }
  else if (name == "setPolicy") { op.kind = K::kSetPolicy; op.to = Str(o, "policy"); }
  else Bad(o.Env(), "op " + name);
  if (has_rule) op.rule = RuleFromJs(Field(o, "rule"), family);
  if (has_index) op.index = static_cast<unsigned>(Num(o, "index", 0, 4294967295.0));
  return op;
}

Napi::Object RuleToJs(Napi::Env env, const core::RuleSpec& r, Family family) {
  auto o = Napi::Object::New(env);
  o.Set("protocol", Napi::Number::New(env, r.protocol));
  o.Set("invProtocol", r.inv_protocol);
  o.Set("src", AddressToJs(env, r.src, family));
  o.Set("dst", AddressToJs(env, r.dst, family));
  o.Set("inInterface", InterfaceToJs(env, r.in_interface));
  o.Set("outInterface", InterfaceToJs(env, r.out_interface));
  o.Set("fragment", r.fragment ? Napi::Boolean::New(env, *r.fragment) : env.Null());
  auto matches = Napi::Array::New(env, r.matches.size());
  for (size_t i = 0; i < r.matches.size(); i++) matches.Set(static_cast<uint32_t>(i), MatchToJs(env, r.matches[i]));
  o.Set("matches", matches);
  o.Set("target", TargetToJs(env, r.target));
  return o;
}

Napi::Int32Array OpResultsToJs(Napi::Env env, const std::vector<core::OpResult>& results) {
  auto a = Napi::Int32Array::New(env, results.size() * 2);
  for (size_t i = 0; i < results.size(); i++) {
    a[2 * i] = results[i].changed ? 1 : 0;
    a[2 * i + 1] = results[i].index;
  }
  return a;
}

Napi::Array ChainsToJs(Napi::Env env, const std::vector<core::ListedChain>& chains, Family family) {
  auto a = Napi::Array::New(env, chains.size());
  for (size_t i = 0; i < chains.size(); i++) {
    const auto& c = chains[i];
    auto o = Napi::Object::New(env);
    o.Set("name", c.name);
    o.Set("builtin", c.builtin);
    o.Set("policy", c.policy.empty() ? env.Null() : Napi::String::New(env, c.policy));
    o.Set("packets", Napi::BigInt::New(env, c.packets));
    o.Set("bytes", Napi::BigInt::New(env, c.bytes));
    o.Set("references", Napi::Number::New(env, c.references));
    auto rules = Napi::Array::New(env, c.rules.size());
    for (size_t k = 0; k < c.rules.size(); k++) {
      auto r = Napi::Object::New(env);
      r.Set("rule", RuleToJs(env, c.rules[k].rule, family));
      r.Set("packets", Napi::BigInt::New(env, c.rules[k].packets));
      r.Set("bytes", Napi::BigInt::New(env, c.rules[k].bytes));
      rules.Set(static_cast<uint32_t>(k), r);
    }
    o.Set("rules", rules);
    a.Set(static_cast<uint32_t>(i), o);
  }
  return a;
}

}  // namespace connlimit::js
