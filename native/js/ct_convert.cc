// SPDX-License-Identifier: GPL-2.0-or-later
#include "js/ct_convert.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstring>

namespace connlimit::js {

namespace ct = core::ct;

namespace {
ct::Prefix PrefixFromJs(Napi::Env env, const Napi::Value& v, uint8_t family) {
  auto o = v.As<Napi::Object>();
  ct::Prefix p;
  p.family = family;
  auto addr = o.Get("addr");
  if (!addr.IsBuffer()) throw CtShape(env, "address");
  auto b = addr.As<Napi::Buffer<uint8_t>>();
  if (b.Length() != ct::AddrLen(family)) throw CtShape(env, "address length");
  std::memcpy(p.addr.data(), b.Data(), b.Length());
  p.prefix_len = static_cast<uint8_t>(U32(o.Get("prefix")));
  p.invert = o.Get("invert").ToBoolean();
  return p;
}

ct::PortRange PortsFromJs(const Napi::Value& v) {
  ct::PortRange r;
  if (!v.IsArray()) return r;
  auto a = v.As<Napi::Array>();
  r.lo = static_cast<uint16_t>(U32(a.Get(0u)));
  r.hi = static_cast<uint16_t>(U32(a.Get(1u)));
  r.invert = a.Get(2u).ToBoolean();
  r.active = true;
  return r;
}

}  // namespace

Napi::TypeError CtShape(Napi::Env env, const char* what) {
  return Napi::TypeError::New(env, std::string("connlimit internal: conntrack ") + what);
}

uint32_t U32(const Napi::Value& v) { return v.As<Napi::Number>().Uint32Value(); }

ct::Filter FilterFromJs(Napi::Env env, const Napi::Value& v) {
  if (!v.IsObject()) throw CtShape(env, "filter");
  auto o = v.As<Napi::Object>();
  ct::Filter f;
  f.family = static_cast<uint8_t>(U32(o.Get("family")));
  f.protocol = o.Get("protocol").As<Napi::Number>().Int32Value();
  f.invert_protocol = o.Get("invertProtocol").ToBoolean();
  auto src = o.Get("src"), dst = o.Get("dst");
  if ((src.IsObject() || dst.IsObject()) && f.family != AF_INET && f.family != AF_INET6) throw CtShape(env, "address without family");
  if (src.IsObject()) {
    f.has_src = true;
    f.src = PrefixFromJs(env, src, f.family);
  }
  if (dst.IsObject()) {
    f.has_dst = true;
    f.dst = PrefixFromJs(env, dst, f.family);
  }
  f.sport = PortsFromJs(o.Get("sport"));
  f.dport = PortsFromJs(o.Get("dport"));
  f.tcp_states = U32(o.Get("tcpStates"));
  f.tcp_states_excluded = U32(o.Get("tcpStatesExcluded"));
  auto mark = o.Get("mark");
  if (mark.IsArray()) {
    f.has_mark = true;
    f.mark = U32(mark.As<Napi::Array>().Get(0u));
    f.mark_mask = U32(mark.As<Napi::Array>().Get(1u));
  }
  auto zone = o.Get("zone");
  if (zone.IsNumber()) {
    f.has_zone = true;
    f.zone = static_cast<uint16_t>(U32(zone));
  }
  auto status = o.Get("status");
  if (status.IsArray()) {
    f.has_status = true;
    f.status_value = U32(status.As<Napi::Array>().Get(0u));
    f.status_mask = U32(status.As<Napi::Array>().Get(1u));
  }
  return f;
}

std::string AddrText(uint8_t family, const ct::Addr& a) {
  char text[INET6_ADDRSTRLEN];
  inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, a.data(), text, sizeof(text));
  return text;
}

std::string KeyText(uint8_t family, const ct::Addr& addr, uint8_t prefix_len) {
  std::string s = AddrText(family, addr);
  if (prefix_len != ct::AddrLen(family) * 8) s += "/" + std::to_string(prefix_len);
  return s;
}

}  // namespace connlimit::js
