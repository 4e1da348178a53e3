// SPDX-License-Identifier: GPL-2.0-or-later
#include "js/legacy_table.h"

#include <memory>
#include <utility>

#include "core/legacy/staged_image.h"
#include "js/convert.h"
#include "js/errors.h"

namespace connlimit::js {
namespace {

using Staged = std::shared_ptr<core::legacy::StagedImage>;

// The staged replace a JS value made by stageReplace() holds.
Staged StagedFromJs(const Napi::Value& v) {
  if (!v.IsExternal()) throw Napi::TypeError::New(v.Env(), "connlimit internal: staged replace");
  return *v.As<Napi::External<Staged>>().Data();
}

// Applies a staged replace's queued ops in the pool; nothing to settle (Finish() reports).
class DrainWorker : public Napi::AsyncWorker {
 public:
  DrainWorker(Napi::Env env, Staged staged) : Napi::AsyncWorker(env, "connlimit:stageOps"), staged_(std::move(staged)) {}
  void Execute() override { staged_->Drain(); }
  void OnOK() override {}

 private:
  Staged staged_;
};

}  // namespace

Napi::Function LegacyTable::Define(Napi::Env env) {
  return TableWrap::Define(env, {
                                    InstanceMethod<&LegacyTable::StageReplace>("stageReplace"),
                                    InstanceMethod<&LegacyTable::StageOps>("stageOps"),
                                    InstanceMethod<&LegacyTable::CommitStaged>("commitStaged"),
                                });
}

Napi::Value LegacyTable::StageReplace(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    if (!info[0].IsString() || !info[1].IsNumber()) throw Napi::TypeError::New(info.Env(), "connlimit internal: stageReplace");
    auto table = info[0].As<Napi::String>().Utf8Value();
    const size_t rules = info[1].As<Napi::Number>().Uint32Value();
    auto staged = std::make_unique<Staged>(std::make_shared<core::legacy::StagedImage>(family(), table, rules));
    auto external = Napi::External<Staged>::New(info.Env(), staged.get(), [](Napi::Env, Staged* s) { delete s; });
    staged.release();
    return external;
  });
}

Napi::Value LegacyTable::StageOps(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Staged staged = StagedFromJs(info[0]);
    if (!info[1].IsTypedArray() || !info[2].IsNumber() || !info[3].IsNumber()) throw Napi::TypeError::New(info.Env(), "connlimit internal: stageOps");
    auto packed = info[1].As<Napi::Uint8Array>();
    const size_t from = info[2].As<Napi::Number>().Uint32Value();
    const size_t to = info[3].As<Napi::Number>().Uint32Value();
    if (packed.ElementLength() < 2 || from < 2 || from > to || to > packed.ElementLength()) throw Napi::RangeError::New(info.Env(), "connlimit internal: stageOps range");
    // The batch's header (version, family), then the slice's ops: a batch of its own to the reader.
    std::vector<uint8_t> chunk(packed.Data(), packed.Data() + 2);
    chunk.insert(chunk.end(), packed.Data() + from, packed.Data() + to);
    if (staged->Add(std::move(chunk))) (new DrainWorker(info.Env(), std::move(staged)))->Queue();
    return info.Env().Undefined();
  });
}

Napi::Value LegacyTable::CommitStaged(const Napi::CallbackInfo& info) {
  return IfOpen(info, [&] {
    Staged staged = StagedFromJs(info[0]);
    return Run<std::vector<core::OpResult>>(
        "commit", [staged](const core::TableTarget& t) { return core::legacy::CommitStaged(t, *staged); },
        [](Napi::Env e, std::vector<core::OpResult>& r) -> Napi::Value { return OpResultsToJs(e, r); });
  });
}

void LegacyBackend::ReadOptions(const Napi::Object& o, core::TableTarget& target) {
  target.table = o.Get("table").As<Napi::String>().Utf8Value();
  target.lock_path = o.Get("lockPath").As<Napi::String>().Utf8Value();
  target.lock_timeout_ms = o.Get("lockTimeoutMs").As<Napi::Number>().Int32Value();
}

template class TableWrap<LegacyTable, LegacyBackend>;

}  // namespace connlimit::js
