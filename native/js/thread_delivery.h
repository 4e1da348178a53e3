// SPDX-License-Identifier: GPL-2.0-or-later
// What a thread's delivery needs on the JS thread (ConntrackWatch's batches, RulesetWatch's
// commits), built with plain Node-API calls that stop at the first failure. While a Worker is
// being terminated every call that may run JS fails; node-addon-api would then throw, and
// building that exception fails too, which is a fatal error for the whole process (seen in
// test/75). A delivery that can no longer be made is simply dropped.
#pragma once

#include <node_api.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace connlimit::js {

class RawBuilder {
 public:
  explicit RawBuilder(napi_env env) : env_(env) {}
  bool ok() const { return ok_; }
  napi_value Object() { return Make([&](napi_value* v) { return napi_create_object(env_, v); }); }
  napi_value Array(size_t n) { return Make([&](napi_value* v) { return napi_create_array_with_length(env_, n, v); }); }
  napi_value Number(double d) { return Make([&](napi_value* v) { return napi_create_double(env_, d, v); }); }
  napi_value Bool(bool b) { return Make([&](napi_value* v) { return napi_get_boolean(env_, b, v); }); }
  napi_value Null() { return Make([&](napi_value* v) { return napi_get_null(env_, v); }); }
  napi_value Buffer(const std::vector<uint8_t>& bytes) {
    return Make([&](napi_value* v) { return napi_create_buffer_copy(env_, bytes.size(), bytes.data(), nullptr, v); });
  }
  napi_value String(const std::string& s) {
    return Make([&](napi_value* v) { return napi_create_string_utf8(env_, s.data(), s.size(), v); });
  }
  // The same facts as ErrorFromKernel (js/errors.cc): message, errno, kind, op, detail.
  napi_value Error(const core::KernelError& e);
  void Set(napi_value o, const char* key, napi_value v) {
    if (ok_) ok_ = napi_set_named_property(env_, o, key, v) == napi_ok;
  }
  void Set(napi_value a, uint32_t i, napi_value v) {
    if (ok_) ok_ = napi_set_element(env_, a, i, v) == napi_ok;
  }

 private:
  template <typename F>
  napi_value Make(F make) {
    napi_value v = nullptr;
    if (ok_) ok_ = make(&v) == napi_ok;
    return v;
  }
  napi_env env_;
  bool ok_ = true;
};

// Calls the listener with (err, value). A listener that throws raises the process's uncaught
// exception, as for any event emitter.
void CallListener(napi_env env, napi_value listener, napi_value err, napi_value value);

}  // namespace connlimit::js
