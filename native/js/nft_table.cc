// SPDX-License-Identifier: GPL-2.0-or-later
#include "js/nft_table.h"

#include <cerrno>

#include "core/backend_probe.h"
#include "js/convert.h"
#include "js/op_batch.h"
#include "js/promise_worker.h"

namespace connlimit::js {

namespace nft = core::nft;

Napi::Function NftTable::Define(Napi::Env env) {
  return DefineClass(env, "NftTable",
                     {
                         InstanceMethod<&NftTable::Open>("open"),
                         InstanceMethod<&NftTable::Commit>("commit"),
                         InstanceMethod<&NftTable::List>("list"),
                         InstanceMethod<&NftTable::Check>("check"),
                         InstanceMethod<&NftTable::Close>("close"),
                         InstanceMethod<&NftTable::Usage>("usage"),
                         InstanceMethod<&NftTable::CommitStale>("_commitStale"),
                     });
}

NftTable::NftTable(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NftTable>(info) {
  Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "connlimit internal: NftTable options");
    auto o = info[0].As<Napi::Object>();
    target_.family = FamilyFromJs(o.Get("family"));
    target_.table = o.Get("table").As<Napi::String>().Utf8Value();
    // No xtables lock: nf_tables batches are atomic and the generation id catches concurrent
    // writers (iptables-nft takes no lock either). The timeout bounds how long a commit keeps
    // retrying while they keep changing the ruleset.
    auto timeout = o.Get("lockTimeoutMs");
    if (timeout.IsNumber()) target_.lock_timeout_ms = timeout.As<Napi::Number>().Int32Value();
    auto ns = o.Get("netnsPath");
    if (ns.IsString()) netns_path_ = ns.As<Napi::String>().Utf8Value();
    return Napi::Value();
  });
}

core::TableTarget NftTable::Target() const {
  core::TableTarget t = target_;
  t.netns_fd = netns_ ? netns_->fd() : -1;
  return t;
}

std::optional<Napi::Promise> NftTable::Unusable(Napi::Env env) {
  if (!closed_ && opened_) return std::nullopt;
  auto deferred = Napi::Promise::Deferred::New(env);
  deferred.Reject(ErrorFromKernel(env, core::KernelError{closed_ ? "closed" : "not open", EBADF, target_.table}).Value());
  return deferred.Promise();
}

Napi::Value NftTable::Open(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (closed_) return *Unusable(env);
    auto target = target_;
    auto path = netns_path_;
    using Opened = std::shared_ptr<core::NetnsFd>;
    return PromiseWorker<Opened>::Start(
        Value(), "connlimit:nft-open",
        [target, path, session = session_]() mutable -> core::Result<Opened> {
          auto opened = core::OpenNetns(path);
          if (!opened.ok()) return opened.error();
          Opened ns = opened.take();
          target.netns_fd = ns ? ns->fd() : -1;
          auto probe = nft::ProbeTable(target, *session);
          if (!probe.ok()) return probe.error();
          return ns;
        },
        [this](Napi::Env e, Opened& ns) -> Napi::Value {
          if (!closed_) {
            netns_ = std::move(ns);
            opened_ = true;
          }
          return e.Undefined();
        });
  });
}

Napi::Value NftTable::Commit(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (auto p = Unusable(env)) return *p;
    auto ops = OpBatch::Take(info[0], target_.family);
    auto target = Target();
    auto keep = netns_;  // the fd stays open while the worker runs, even if close() comes first
    return PromiseWorker<std::vector<core::OpResult>>::Start(
        Value(), "connlimit:nft-commit",
        [target, ops, keep, session = session_]() { return nft::CommitOps(target, *ops, *session); },
        [](Napi::Env e, std::vector<core::OpResult>& r) -> Napi::Value { return OpResultsToJs(e, r); });
  });
}

Napi::Value NftTable::List(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (auto p = Unusable(env)) return *p;
    auto target = Target();
    auto keep = netns_;
    auto family = target_.family;
    return PromiseWorker<std::vector<core::ListedChain>>::Start(
        Value(), "connlimit:nft-list",
        [target, keep, session = session_]() { return nft::ListTable(target, *session); },
        [family](Napi::Env e, std::vector<core::ListedChain>& chains) -> Napi::Value { return ChainsToJs(e, chains, family); });
  });
}

Napi::Value NftTable::Check(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (auto p = Unusable(env)) return *p;
    if (!info[0].IsString()) throw Napi::TypeError::New(env, "connlimit internal: check chain");
    auto chain = info[0].As<Napi::String>().Utf8Value();
    auto rule = std::make_shared<core::RuleSpec>(RuleFromJs(info[1], target_.family));
    auto target = Target();
    auto keep = netns_;
    return PromiseWorker<int>::Start(
        Value(), "connlimit:nft-check",
        [target, chain, rule, keep, session = session_]() { return nft::FindRule(target, *session, chain, *rule); },
        [](Napi::Env e, int& index) -> Napi::Value { return Napi::Number::New(e, index); });
  });
}

Napi::Value NftTable::Usage(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (auto p = Unusable(env)) return *p;
    auto target = Target();
    auto keep = netns_;
    return PromiseWorker<core::BackendUsage>::Start(
        Value(), "connlimit:nft-usage",
        [target, keep]() { return core::ProbeBackends(target); },
        [](Napi::Env e, core::BackendUsage& u) -> Napi::Value {
          auto o = Napi::Object::New(e);
          o.Set("legacyTable", u.legacy_table);
          o.Set("legacyRules", u.legacy_rules);
          o.Set("nftTable", u.nft_table);
          o.Set("nftRules", u.nft_rules);
          return o;
        });
  });
}

Napi::Value NftTable::CommitStale(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (auto p = Unusable(env)) return *p;
    auto ops = OpBatch::Take(info[0], target_.family);
    int stale = info[1].As<Napi::Number>().Int32Value();
    auto target = Target();
    auto keep = netns_;
    return PromiseWorker<int>::Start(
        Value(), "connlimit:nft-commit",
        [target, ops, keep, stale, session = session_]() -> core::Result<int> {
          int attempts = 0;
          auto r = nft::CommitOps(target, *ops, *session, stale, &attempts);
          if (!r.ok()) return r.error();
          return attempts;
        },
        [](Napi::Env e, int& attempts) -> Napi::Value { return Napi::Number::New(e, attempts); });
  });
}

Napi::Value NftTable::Close(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    closed_ = true;
    netns_.reset();
    session_.reset();  // closes the socket now, or when the last call in flight ends
    return info.Env().Undefined();
  });
}

}  // namespace connlimit::js
