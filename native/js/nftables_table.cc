// SPDX-License-Identifier: GPL-2.0-or-later
#include "js/nftables_table.h"

#include <cerrno>

#include "core/nft/nft_table.h"
#include "core/nft/nftables_codec.h"
#include "core/nft/nftables_table.h"
#include "js/convert.h"
#include "js/op_batch.h"
#include "js/promise_worker.h"

namespace connlimit::js {

namespace nft = core::nft;

Napi::Function NftablesTable::Define(Napi::Env env) {
  return DefineClass(env, "NftablesTable",
                     {
                         InstanceMethod<&NftablesTable::Open>("open"),
                         InstanceMethod<&NftablesTable::Commit>("commit"),
                         InstanceMethod<&NftablesTable::List>("list"),
                         InstanceMethod<&NftablesTable::Check>("check"),
                         InstanceMethod<&NftablesTable::Close>("close"),
                     });
}

NftablesTable::NftablesTable(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NftablesTable>(info) {
  Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "connlimit internal: NftablesTable options");
    auto o = info[0].As<Napi::Object>();
    target_.family = FamilyFromJs(o.Get("family"));
    target_.table = nft::kNftablesTable;
    // No lock, as on the nft backend: the generation id guards the batch, and the timeout
    // bounds how long a commit retries while other writers keep changing the ruleset.
    auto timeout = o.Get("lockTimeoutMs");
    if (timeout.IsNumber()) target_.lock_timeout_ms = timeout.As<Napi::Number>().Int32Value();
    auto ns = o.Get("netnsPath");
    if (ns.IsString()) netns_path_ = ns.As<Napi::String>().Utf8Value();
    return Napi::Value();
  });
}

core::TableTarget NftablesTable::Target() const {
  core::TableTarget t = target_;
  t.netns_fd = netns_ ? netns_->fd() : -1;
  return t;
}

std::optional<Napi::Promise> NftablesTable::Unusable(Napi::Env env) {
  if (!closed_ && opened_) return std::nullopt;
  auto deferred = Napi::Promise::Deferred::New(env);
  deferred.Reject(ErrorFromKernel(env, core::KernelError{closed_ ? "closed" : "not open", EBADF, target_.table}).Value());
  return deferred.Promise();
}

Napi::Value NftablesTable::Open(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (closed_) return *Unusable(env);
    auto target = target_;
    auto path = netns_path_;
    using Opened = std::shared_ptr<core::NetnsFd>;
    return PromiseWorker<Opened>::Start(
        Value(), "connlimit:nftables-open",
        [target, path]() mutable -> core::Result<Opened> {
          auto opened = core::OpenNetns(path);
          if (!opened.ok()) return opened.error();
          Opened ns = opened.take();
          target.netns_fd = ns ? ns->fd() : -1;
          auto probe = nft::ProbeTable(target, *nft::NewTableSession());  // a socket for this probe only
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

Napi::Value NftablesTable::Commit(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (auto p = Unusable(env)) return *p;
    auto ops = OpBatch::Take(info[0], target_.family);
    auto target = Target();
    auto keep = netns_;  // the fd stays open while the worker runs, even if close() comes first
    return PromiseWorker<std::vector<core::OpResult>>::Start(
        Value(), "connlimit:nftables-commit", [target, ops, keep]() { return nft::CommitNftablesOps(target, *ops); },
        [](Napi::Env e, std::vector<core::OpResult>& r) -> Napi::Value { return OpResultsToJs(e, r); });
  });
}

Napi::Value NftablesTable::List(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (auto p = Unusable(env)) return *p;
    auto target = Target();
    auto keep = netns_;
    auto family = target_.family;
    return PromiseWorker<std::vector<core::ListedChain>>::Start(
        Value(), "connlimit:nftables-list", [target, keep]() { return nft::ListNftablesTable(target); },
        [family](Napi::Env e, std::vector<core::ListedChain>& chains) -> Napi::Value { return ChainsToJs(e, chains, family); });
  });
}

Napi::Value NftablesTable::Check(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (auto p = Unusable(env)) return *p;
    if (!info[0].IsString()) throw Napi::TypeError::New(env, "connlimit internal: check chain");
    auto chain = info[0].As<Napi::String>().Utf8Value();
    auto rule = std::make_shared<core::RuleSpec>(RuleFromJs(info[1], target_.family));
    auto target = Target();
    auto keep = netns_;
    return PromiseWorker<int>::Start(
        Value(), "connlimit:nftables-check", [target, chain, rule, keep]() { return nft::FindNftablesRule(target, chain, *rule); },
        [](Napi::Env e, int& index) -> Napi::Value { return Napi::Number::New(e, index); });
  });
}

Napi::Value NftablesTable::Close(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    closed_ = true;
    netns_.reset();
    return info.Env().Undefined();
  });
}

}  // namespace connlimit::js
