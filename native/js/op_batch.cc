// SPDX-License-Identifier: GPL-2.0-or-later
#include "js/op_batch.h"

#include <utility>

#include "js/convert.h"
#include "js/errors.h"

namespace connlimit::js {
namespace {

// Marks our objects, so Take() never unwraps some other object as an OpBatch.
constexpr napi_type_tag kOpBatchTag = {0x636f6e6e6c696d69ULL, 0x742d6f7062617463ULL};

}  // namespace

Napi::Function OpBatch::Define(Napi::Env env) {
  return DefineClass(env, "OpBatch", {InstanceMethod<&OpBatch::Add>("add")});
}

OpBatch::OpBatch(const Napi::CallbackInfo& info) : Napi::ObjectWrap<OpBatch>(info) {
  Guarded(info.Env(), [&]() -> Napi::Value {
    family_ = FamilyFromJs(info[0]);
    info.This().As<Napi::Object>().TypeTag(&kOpBatchTag);
    return Napi::Value();
  });
}

Napi::Value OpBatch::Add(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    ops_.push_back(OpFromJs(info[0], family_));
    return Napi::Value();
  });
}

OpList OpBatch::Take(const Napi::Value& v, core::Family family) {
  Napi::Env env = v.Env();
  if (!v.IsObject() || !v.As<Napi::Object>().CheckTypeTag(&kOpBatchTag)) throw Napi::TypeError::New(env, "connlimit internal: not an OpBatch");
  OpBatch* batch = Unwrap(v.As<Napi::Object>());
  if (batch->family_ != family) throw Napi::TypeError::New(env, "connlimit internal: OpBatch of another family");
  return std::make_shared<const std::vector<core::Op>>(std::exchange(batch->ops_, {}));
}

}  // namespace connlimit::js
