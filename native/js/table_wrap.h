// SPDX-License-Identifier: GPL-2.0-or-later
// TableWrap: the lifecycle every firewall table object shares (LegacyTable, IptablesNftTable,
// NftablesTable), written once. One table (family, name, network namespace) as a JS object
// with the methods src/firewall.ts drives on every backend: open() enters the namespace and
// probes the table, commit()/list()/check() run the backend's core/ functions. Each returns a
// promise and does its kernel work in the libuv pool (PromiseWorker) or, after open(), on the
// handle's own thread (kOwnThread below), never on the main thread.
// The object holds the namespace fd and the backend's own state; close() releases both (calls
// in flight keep their own references until they finish), and so does the finalizer if close()
// was forgotten.
//
// Derived is the JS class (ObjectWrap needs the most derived type); it adds methods of its own
// with IfOpen() and Run(). Backend is what differs, a small copyable struct, one per object and
// one copy per call in flight:
//   kClassName, kWorkerPrefix      the JS class; async_hooks names are the prefix + "open", ...
//   static ReadOptions(o, target)  its fields of the constructor's options object
//   ProbeTable(target)             const; the core/ calls, run off the main thread
//   CommitOps(target, ops)         or CommitPacked(target, bytes, size), which reads the
//                                  packed ops itself instead of taking them decoded
//   ListTable(target, listing)
//   FindRule(target, chain, rule)
//   kOwnThread (optional, true)    the calls after open() run in order on a thread of the
//                                  handle's own (js/handle_thread), not in the pool
#pragma once

#include <napi.h>

#include <cerrno>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/netns_guard.h"
#include "core/packed_ops.h"
#include "core/table_ops.h"
#include "js/convert.h"
#include "js/errors.h"
#include "js/handle_thread.h"
#include "js/promise_worker.h"

namespace connlimit::js {

// Whether Backend reads a commit's packed ops itself (CommitPacked) rather than decoded (CommitOps).
template <typename Backend, typename = void>
constexpr bool kReadsPackedOps = false;
template <typename Backend>
constexpr bool kReadsPackedOps<Backend, std::void_t<decltype(&Backend::CommitPacked)>> = true;

// Whether Backend's calls run on a thread of the handle's own.
template <typename Backend, typename = void>
constexpr bool kOwnThread = false;
template <typename Backend>
constexpr bool kOwnThread<Backend, std::void_t<decltype(Backend::kOwnThread)>> = Backend::kOwnThread;

template <typename Derived, typename Backend>
class TableWrap : public Napi::ObjectWrap<Derived> {
 public:
  using Descriptor = typename Napi::ObjectWrap<Derived>::PropertyDescriptor;

  // The JS class: open, commit, list, check, close, then Derived's `own` methods.
  static Napi::Function Define(Napi::Env env, std::vector<Descriptor> own = {});
  explicit TableWrap(const Napi::CallbackInfo& info);
  ~TableWrap();

 protected:
  // Runs `call` (main thread: read the arguments, then Run() the work) when the handle is open;
  // else returns a promise rejected with op 'closed' or 'not open'.
  template <typename F>
  Napi::Value IfOpen(const Napi::CallbackInfo& info, F call);

  // Queues work(target) on the handle's thread or in the pool (kOwnThread) and returns its
  // promise, settled with done(). The call pins the namespace fd: a close() while it runs
  // must not close the fd under it. `work` holds by value what of backend() it uses, so that
  // outlives close() too. It runs only while the netns path still names the namespace the
  // handle opened (op "netns gone" otherwise).
  template <typename T, typename Work>
  Napi::Value Run(const char* op, Work work, typename PromiseWorker<T>::Done done);

  core::Family family() const { return target_.family; }
  // Only while open (inside IfOpen): close() drops it.
  const Backend& backend() const { return *backend_; }
  // Null once closed: for the synchronous getters that may be called then.
  const Backend* open_backend() const { return backend_ ? &*backend_ : nullptr; }

 private:
  Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value Commit(const Napi::CallbackInfo& info);
  Napi::Value List(const Napi::CallbackInfo& info);
  Napi::Value Check(const Napi::CallbackInfo& info);
  // A number that changes when the table may have (fw.apply() skips planning when it did not).
  Napi::Value Version(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value NetnsChanged(const Napi::CallbackInfo& info);
  Napi::Value NetnsId(const Napi::CallbackInfo& info);

  // A rejected promise when closed or not opened yet, else nothing.
  std::optional<Napi::Promise> Unusable(Napi::Env env);
  core::TableTarget Target() const;
  std::string WorkerName(const char* op) const { return std::string(Backend::kWorkerPrefix) + op; }

  core::TableTarget target_;
  std::string netns_path_;
  std::shared_ptr<core::NetnsFd> netns_;
  std::optional<Backend> backend_{std::in_place};  // reset by close(), as netns_ is
  std::shared_ptr<HandleThread> thread_;          // kOwnThread: started by the first call
  bool opened_ = false;
  bool closed_ = false;
};

template <typename Derived, typename Backend>
Napi::Function TableWrap<Derived, Backend>::Define(Napi::Env env, std::vector<Descriptor> own) {
  // The non-template InstanceMethod: the template one wants a member pointer of Derived itself,
  // and these are members of this base.
  using Wrap = Napi::ObjectWrap<Derived>;
  std::vector<Descriptor> methods = {
      Wrap::InstanceMethod("open", &TableWrap::Open),
      Wrap::InstanceMethod("commit", &TableWrap::Commit),
      Wrap::InstanceMethod("list", &TableWrap::List),
      Wrap::InstanceMethod("check", &TableWrap::Check),
      Wrap::InstanceMethod("version", &TableWrap::Version),
      Wrap::InstanceMethod("close", &TableWrap::Close),
      Wrap::InstanceMethod("netnsChanged", &TableWrap::NetnsChanged),
      Wrap::InstanceMethod("netnsId", &TableWrap::NetnsId),
  };
  methods.insert(methods.end(), own.begin(), own.end());
  return Wrap::DefineClass(env, Backend::kClassName, methods);
}

template <typename Derived, typename Backend>
TableWrap<Derived, Backend>::TableWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Derived>(info) {
  Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, std::string("connlimit internal: ") + Backend::kClassName + " options");
    auto o = info[0].As<Napi::Object>();
    target_.family = FamilyFromJs(o.Get("family"));
    Backend::ReadOptions(o, target_);
    auto ns = o.Get("netnsPath");
    if (ns.IsString()) netns_path_ = ns.As<Napi::String>().Utf8Value();
    return Napi::Value();
  });
}

template <typename Derived, typename Backend>
core::TableTarget TableWrap<Derived, Backend>::Target() const {
  core::TableTarget t = target_;
  t.netns_fd = netns_ ? netns_->fd() : -1;
  return t;
}

// Collected without close(): the thread ends once its queue is empty.
template <typename Derived, typename Backend>
TableWrap<Derived, Backend>::~TableWrap() {
  if (thread_) thread_->Stop();
}

template <typename Derived, typename Backend>
std::optional<Napi::Promise> TableWrap<Derived, Backend>::Unusable(Napi::Env env) {
  if (!closed_ && opened_) return std::nullopt;
  auto deferred = Napi::Promise::Deferred::New(env);
  auto kind = closed_ ? core::ErrorKind::kClosed : core::ErrorKind::kNone;
  deferred.Reject(ErrorFromKernel(env, core::KernelError{closed_ ? "closed" : "not open", EBADF, target_.table, -1, kind}).Value());
  return deferred.Promise();
}

template <typename Derived, typename Backend>
template <typename F>
Napi::Value TableWrap<Derived, Backend>::IfOpen(const Napi::CallbackInfo& info, F call) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    if (auto p = Unusable(info.Env())) return *p;
    return call();
  });
}

template <typename Derived, typename Backend>
template <typename T, typename Work>
Napi::Value TableWrap<Derived, Backend>::Run(const char* op, Work work, typename PromiseWorker<T>::Done done) {
  auto checked = [work = std::move(work), target = Target(), keep = netns_]() -> core::Result<T> {
    auto named = core::CheckNetnsPath(keep);
    if (!named.ok()) return named.error();
    return work(target);
  };
  if constexpr (kOwnThread<Backend>)
    return RunOnThread<T>(this->Env(), thread_, WorkerName("thread"), std::move(checked), std::move(done));
  else
    return PromiseWorker<T>::Start(this->Value(), WorkerName(op).c_str(), std::move(checked), std::move(done));
}

template <typename Derived, typename Backend>
Napi::Value TableWrap<Derived, Backend>::Open(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    if (closed_) return *Unusable(info.Env());
    using Opened = std::shared_ptr<core::NetnsFd>;
    return PromiseWorker<Opened>::Start(
        this->Value(), WorkerName("open").c_str(),
        [target = target_, path = netns_path_, backend = *backend_]() mutable -> core::Result<Opened> {
          auto opened = core::OpenNetns(path);
          if (!opened.ok()) return opened.error();
          Opened ns = opened.take();
          target.netns_fd = ns ? ns->fd() : -1;
          auto probe = backend.ProbeTable(target);
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

template <typename Derived, typename Backend>
Napi::Value TableWrap<Derived, Backend>::Commit(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&] {
    auto packed = PackedFromJs(info[0]);
    return Run<std::vector<core::OpResult>>(
        "commit",
        [packed, backend = *backend_](const core::TableTarget& t) -> core::Result<std::vector<core::OpResult>> {
          if constexpr (kReadsPackedOps<Backend>) {
            return backend.CommitPacked(t, packed->data(), packed->size());
          } else {
            auto ops = core::DecodePackedOps(packed->data(), packed->size(), t.family);
            if (!ops.ok()) return ops.error();
            return backend.CommitOps(t, ops.value());
          }
        },
        [](Napi::Env e, std::vector<core::OpResult>& r) -> Napi::Value { return OpResultsToJs(e, r); });
  });
}

template <typename Derived, typename Backend>
Napi::Value TableWrap<Derived, Backend>::List(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&] {
    // list(true): the chains alone (core::Listing).
    const auto listing = info[0].IsBoolean() && info[0].As<Napi::Boolean>().Value() ? core::Listing::kChainsOnly : core::Listing::kRules;
    return Run<std::vector<core::ListedChain>>(
        "list", [listing, backend = *backend_](const core::TableTarget& t) { return backend.ListTable(t, listing); },
        [family = target_.family](Napi::Env e, std::vector<core::ListedChain>& chains) -> Napi::Value {
          return ChainsToJs(e, chains, family);
        });
  });
}

template <typename Derived, typename Backend>
Napi::Value TableWrap<Derived, Backend>::Check(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&] {
    if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "connlimit internal: check chain");
    auto chain = info[0].As<Napi::String>().Utf8Value();
    auto rule = std::make_shared<core::RuleSpec>(RuleFromJs(info[1], target_.family));
    return Run<int>(
        "check", [chain, rule, backend = *backend_](const core::TableTarget& t) { return backend.FindRule(t, chain, *rule); },
        [](Napi::Env e, int& index) -> Napi::Value { return Napi::Number::New(e, index); });
  });
}

// As a decimal string: a 64-bit hash on legacy does not fit a JS number.
template <typename Derived, typename Backend>
Napi::Value TableWrap<Derived, Backend>::Version(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&] {
    return Run<uint64_t>(
        "version", [backend = *backend_](const core::TableTarget& t) { return backend.Version(t); },
        [](Napi::Env e, uint64_t& v) -> Napi::Value { return Napi::String::New(e, std::to_string(v)); });
  });
}

// Whether the netns path now names another namespace, or nothing: one stat in the pool, not
// queued behind the table's calls.
template <typename Derived, typename Backend>
Napi::Value TableWrap<Derived, Backend>::NetnsChanged(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&] {
    return PromiseWorker<bool>::Start(
        this->Value(), WorkerName("netnsChanged").c_str(), [ns = netns_]() -> core::Result<bool> { return ns && !ns->StillNamed(); },
        [](Napi::Env e, bool& changed) -> Napi::Value { return Napi::Boolean::New(e, changed); });
  });
}

// The opened namespace's identity as "dev:ino" of its nsfs inode ("" for the caller's own, or
// before open()): synchronous, no I/O, taken when open() opened the namespace.
template <typename Derived, typename Backend>
Napi::Value TableWrap<Derived, Backend>::NetnsId(const Napi::CallbackInfo& info) {
  std::string id = netns_ ? std::to_string(netns_->dev()) + ":" + std::to_string(netns_->ino()) : "";
  return Napi::String::New(info.Env(), id);
}

template <typename Derived, typename Backend>
Napi::Value TableWrap<Derived, Backend>::Close(const Napi::CallbackInfo& info) {
  closed_ = true;
  if (thread_) thread_->Stop();
  thread_.reset();
  netns_.reset();
  backend_.reset();  // what it holds goes now, or when the last call in flight ends
  return info.Env().Undefined();
}

}  // namespace connlimit::js
