// SPDX-License-Identifier: GPL-2.0-or-later
#include "js/convert.h"

#include <string>

#include "core/packed_ops.h"

namespace connlimit::js {
namespace {

using core::Family;

[[noreturn]] void Bad(Napi::Env env, const std::string& what) {
  throw Napi::TypeError::New(env, "connlimit internal: malformed " + what);
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

std::shared_ptr<const std::vector<uint8_t>> PackedFromJs(const Napi::Value& v) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) Bad(v.Env(), "packed ops (Uint8Array)");
  auto a = v.As<Napi::Uint8Array>();
  return std::make_shared<const std::vector<uint8_t>>(a.Data(), a.Data() + a.ElementLength());
}

core::RuleSpec RuleFromJs(const Napi::Value& v, Family family) {
  auto packed = PackedFromJs(v);
  auto rule = core::DecodePackedRule(packed->data(), packed->size(), family);
  if (!rule.ok()) Bad(v.Env(), "packed rule: " + rule.error().detail);
  return rule.take();
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
