// SPDX-License-Identifier: GPL-2.0-or-later
#include "js/legacy_table.h"

#include <cerrno>

#include "js/convert.h"
#include "js/op_batch.h"
#include "js/promise_worker.h"

namespace connlimit::js {

namespace legacy = core::legacy;

Napi::Function LegacyTable::Define(Napi::Env env) {
  return DefineClass(env, "LegacyTable",
                     {
                         InstanceMethod<&LegacyTable::Open>("open"),
                         InstanceMethod<&LegacyTable::Commit>("commit"),
                         InstanceMethod<&LegacyTable::List>("list"),
                         InstanceMethod<&LegacyTable::Check>("check"),
                         InstanceMethod<&LegacyTable::Close>("close"),
                     });
}

LegacyTable::LegacyTable(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LegacyTable>(info) {
  Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "connlimit internal: LegacyTable options");
    auto o = info[0].As<Napi::Object>();
    target_.family = FamilyFromJs(o.Get("family"));
    target_.table = o.Get("table").As<Napi::String>().Utf8Value();
    target_.lock_path = o.Get("lockPath").As<Napi::String>().Utf8Value();
    target_.lock_timeout_ms = o.Get("lockTimeoutMs").As<Napi::Number>().Int32Value();
    auto ns = o.Get("netnsPath");
    if (ns.IsString()) netns_path_ = ns.As<Napi::String>().Utf8Value();
    return Napi::Value();
  });
}

legacy::TableTarget LegacyTable::Target() const {
  legacy::TableTarget t = target_;
  t.netns_fd = netns_ ? netns_->fd() : -1;
  return t;
}

std::optional<Napi::Promise> LegacyTable::Unusable(Napi::Env env) {
  if (!closed_ && opened_) return std::nullopt;
  auto deferred = Napi::Promise::Deferred::New(env);
  deferred.Reject(ErrorFromKernel(env, core::KernelError{closed_ ? "closed" : "not open", EBADF, target_.table}).Value());
  return deferred.Promise();
}

Napi::Value LegacyTable::Open(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (closed_) return *Unusable(env);
    auto target = target_;
    auto path = netns_path_;
    using Opened = std::shared_ptr<core::NetnsFd>;
    return PromiseWorker<Opened>::Start(
        Value(), "connlimit:open",
        [target, path]() mutable -> core::Result<Opened> {
          auto opened = core::OpenNetns(path);
          if (!opened.ok()) return opened.error();
          Opened ns = opened.take();
          target.netns_fd = ns ? ns->fd() : -1;
          auto probe = legacy::ProbeTable(target);
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

Napi::Value LegacyTable::Commit(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (auto p = Unusable(env)) return *p;
    auto ops = OpBatch::Take(info[0], target_.family);
    auto target = Target();
    auto keep = netns_;  // the fd stays open while the worker runs, even if close() comes first
    return PromiseWorker<std::vector<legacy::OpResult>>::Start(
        Value(), "connlimit:commit",
        [target, ops, keep]() { return legacy::CommitOps(target, *ops); },
        [](Napi::Env e, std::vector<legacy::OpResult>& r) -> Napi::Value { return OpResultsToJs(e, r); });
  });
}

Napi::Value LegacyTable::List(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (auto p = Unusable(env)) return *p;
    auto target = Target();
    auto keep = netns_;
    auto family = target_.family;
    return PromiseWorker<std::vector<legacy::ListedChain>>::Start(
        Value(), "connlimit:list",
        [target, keep]() { return legacy::ListTable(target); },
        [family](Napi::Env e, std::vector<legacy::ListedChain>& chains) -> Napi::Value { return ChainsToJs(e, chains, family); });
  });
}

Napi::Value LegacyTable::Check(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (auto p = Unusable(env)) return *p;
    if (!info[0].IsString()) throw Napi::TypeError::New(env, "connlimit internal: check chain");
    auto chain = info[0].As<Napi::String>().Utf8Value();
    auto rule = std::make_shared<core::RuleSpec>(RuleFromJs(info[1], target_.family));
    auto target = Target();
    auto keep = netns_;
    return PromiseWorker<int>::Start(
        Value(), "connlimit:check",
        [target, chain, rule, keep]() { return legacy::FindRule(target, chain, *rule); },
        [](Napi::Env e, int& index) -> Napi::Value { return Napi::Number::New(e, index); });
  });
}

Napi::Value LegacyTable::Close(const Napi::CallbackInfo& info) {
  closed_ = true;
  netns_.reset();
  return info.Env().Undefined();
}

}  // namespace connlimit::js
