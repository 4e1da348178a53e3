// SPDX-License-Identifier: GPL-2.0-or-later
#include "js/ruleset_watch.h"

#include <linux/netfilter.h>
#include <linux/netlink.h>

#include <string>
#include <utility>

#include "core/nft/native/nftables_sets.h"
#include "js/errors.h"
#include "js/ipset_convert.h"
#include "js/thread_delivery.h"

namespace connlimit::js {

namespace nft = core::nft;

namespace {

// The options object of src/apply/keep.ts (NativeRulesetWatchOptions in src/native-types.ts).
nft::RulesetWatcherOptions OptionsFromJs(Napi::Env env, const Napi::Value& v) {
  if (!v.IsObject()) throw Napi::TypeError::New(env, "ruleset watch options");
  auto o = v.As<Napi::Object>();
  nft::RulesetWatcherOptions w;
  auto netns = o.Get("netns");
  if (netns.IsString()) w.netns_path = netns.As<Napi::String>().Utf8Value();
  w.family = o.Get("family").As<Napi::String>().Utf8Value() == "ipv6" ? NFPROTO_IPV6 : NFPROTO_IPV4;
  w.table = o.Get("table").As<Napi::String>().Utf8Value();
  w.table_prefix = o.Get("tablePrefix").ToBoolean();
  auto set = o.Get("set");
  if (set.IsString()) w.set = set.As<Napi::String>().Utf8Value();
  return w;
}

const char* KindName(nft::Generation::Kind k) {
  switch (k) {
    case nft::Generation::Kind::kReady: return "ready";
    case nft::Generation::Kind::kOverrun: return "overrun";
    case nft::Generation::Kind::kCommit: break;
  }
  return "commit";
}

napi_value GenerationToJs(RawBuilder& r, const nft::Generation& g) {
  napi_value ports = r.Array(g.ports.size());
  for (uint32_t i = 0; i < g.ports.size() && r.ok(); i++) r.Set(ports, i, r.Number(g.ports[i]));
  napi_value o = r.Object();
  r.Set(o, "kind", r.String(KindName(g.kind)));
  r.Set(o, "genid", r.Number(g.genid));
  r.Set(o, "messages", r.Number(g.messages));
  r.Set(o, "ports", ports);
  r.Set(o, "added", g.added.empty() ? r.Null() : r.Buffer(g.added));
  r.Set(o, "deleted", g.deleted.empty() ? r.Null() : r.Buffer(g.deleted));
  r.Set(o, "setChanged", r.Bool(g.set_changed));
  return o;
}

}  // namespace

void CallRulesetJs(Napi::Env env, Napi::Function callback, std::nullptr_t*, RulesetDelivery* delivery) {
  std::unique_ptr<RulesetDelivery> owned(delivery);
  if (env == nullptr || callback.IsEmpty()) return;  // tearing down: drop it
  RawBuilder r(env);
  napi_value err = delivery->failed ? r.Error(delivery->error) : r.Null();
  napi_value generation = delivery->failed ? r.Null() : GenerationToJs(r, delivery->generation);
  if (r.ok()) CallListener(env, callback, err, generation);
}

Napi::Function RulesetWatch::Define(Napi::Env env) {
  return DefineClass(env, "RulesetWatch",
                     {InstanceMethod<&RulesetWatch::Close>("close"), StaticMethod<&RulesetWatch::DecodeElements>("decodeElements")});
}

// new RulesetWatch(options, callback(err, generation)): starts at once; the first delivery is
// { kind: 'ready' } once subscribed, or the error opening the socket.
RulesetWatch::RulesetWatch(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RulesetWatch>(info) {
  Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "ruleset watch callback");
    auto options = OptionsFromJs(env, info[0]);
    auto tsfn = RulesetTsfn::New(env, info[1].As<Napi::Function>(), "connlimit:ruleset-watch", 0, 1);
    auto watcher = std::make_shared<nft::RulesetWatcher>(
        std::move(options), [tsfn](nft::Generation&& g) mutable { return Deliver(tsfn, new RulesetDelivery{std::move(g), false, {}}); },
        [tsfn](const core::KernelError& e) mutable { Deliver(tsfn, new RulesetDelivery{{}, true, e}); });
    thread_.Start(env, std::move(watcher), tsfn);
    return Napi::Value();
  });
}

// RulesetWatch.decodeElements(family, type, timeout, bytes) -> the entries of a set notice's
// messages (a Generation's `added` or `deleted`) as list() gives them for a set of that type:
// an interval's start paired with its end, each of which came in a message of its own.
Napi::Value RulesetWatch::DecodeElements(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!info[0].IsString() || !info[1].IsString() || !info[3].IsBuffer()) throw Napi::TypeError::New(env, "decodeElements(family, type, timeout, bytes)");
    core::ipset::ListedSet set;
    set.header.family = info[0].As<Napi::String>().Utf8Value() == "ipv6" ? core::ipset::kNfprotoIpv6 : core::ipset::kNfprotoIpv4;
    set.header.type = info[1].As<Napi::String>().Utf8Value();
    if (info[2].ToBoolean().Value()) set.header.timeout = 0;
    auto bytes = info[3].As<Napi::Buffer<uint8_t>>();
    std::vector<nft::RawElement> raw;
    int left = static_cast<int>(bytes.Length());
    for (auto* nlh = reinterpret_cast<const struct nlmsghdr*>(bytes.Data()); NLMSG_OK(nlh, left); nlh = NLMSG_NEXT(nlh, left)) {
      auto decoded = nft::DecodeSetElements(reinterpret_cast<const uint8_t*>(nlh), nlh->nlmsg_len, raw);
      if (!decoded.ok()) throw ErrorFromKernel(env, decoded.error());
    }
    set.entries = nft::ElementsOf(set.header, std::move(raw));
    return ListedSetToJs(env, set).Get("entries");
  });
}

Napi::Value RulesetWatch::Close(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    return thread_.Close(info.Env(), info.This().As<Napi::Object>(), "connlimit:ruleset-watch-close");
  });
}

}  // namespace connlimit::js
