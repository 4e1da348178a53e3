// SPDX-License-Identifier: GPL-2.0-or-later
// KernelError -> a plain JS Error carrying {errno, kind, op, detail, opIndex}. Facts only: the
// meaning (class, code, hint) is given in src/errors.ts, in the awaiting frame, from the kind
// and the errno; the op is there for people.
#pragma once

#include <napi.h>

#include "core/result.h"

namespace connlimit::js {

Napi::Error ErrorFromKernel(Napi::Env env, const core::KernelError& e);

// The stable string JS sees for a kind (NativeErrorKind in src/native-types.ts); nullptr for a
// value that names no kind.
const char* ErrorKindName(core::ErrorKind kind);

// Every kind's string, in enum order (the addon's _errorKinds, for test/14).
Napi::Array ErrorKindNames(Napi::Env env);

// Runs the body of a method called from JS. A Napi::Error it throws goes to JS with napi_throw.
// Why not let node-addon-api rethrow it: when a Worker is being terminated every napi call
// fails, node-addon-api's own rethrow then throws a C++ exception out of the napi callback, and
// std::terminate aborts the whole process (seen in test/75-workers-teardown). There is nobody
// left to tell then, so a throw that fails is dropped.
template <typename F>
Napi::Value Guarded(Napi::Env env, F body) {
  try {
    return body();
  } catch (const Napi::Error& e) {
    napi_throw(env, e.Value());
    return Napi::Value();
  }
}

}  // namespace connlimit::js
