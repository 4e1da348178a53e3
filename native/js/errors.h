// SPDX-License-Identifier: GPL-2.0-or-later
// KernelError -> a plain JS Error carrying {errno, kind, op, detail, opIndex}. Facts only: the
// meaning (class, code, hint) is given in src/errors.ts, in the awaiting frame, from the kind
// and the errno; the op is there for people.
#pragma once

#include <napi.h>

#include <optional>
#include <vector>

#include "core/result.h"

// Once a Worker's terminate() has begun (the parent sets the environment "stopping" at once,
// while the Worker's JS may still be running), every Node-API call that may run JS fails with
// napi_pending_exception, and napi_throw does too. node-addon-api calls napi_wrap in every
// ObjectWrap constructor and napi_unwrap before every method, outside our code; it turns the
// failure into a Napi::Error, catches it in its wrapper and rethrows it as a JS exception, and
// when that napi_throw fails it throws a C++ exception out of the Node-API callback:
// "terminate called after throwing an instance of 'Napi::Error'" (test/75 aborted that way
// under load; its tight-loop case provokes it within a few terminations). This switch makes
// that rethrow return quietly when the environment can no longer run JS, and nothing else.
#ifndef NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS
#error "build with NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS defined (binding.gyp): without it a Worker terminated mid-call aborts the process"
#endif

namespace connlimit::js {

Napi::Error ErrorFromKernel(Napi::Env env, const core::KernelError& e);

// The answers of calls sent side by side (the set handles' each()): null when every call went
// in, the common case, which spares an array of a thousand nulls; else per call null or its error.
Napi::Value AnswersToJs(Napi::Env env, std::vector<std::optional<core::KernelError>>& answers);

// The stable string JS sees for a kind (NativeErrorKind in src/native-types.ts); nullptr for a
// value that names no kind.
const char* ErrorKindName(core::ErrorKind kind);

// Every kind's string, in enum order (the addon's _errorKinds, for test/14).
Napi::Array ErrorKindNames(Napi::Env env);

// Runs the body of a method called from JS. A Napi::Error it throws goes to JS with napi_throw;
// when the Worker is being terminated that fails and the error is dropped: nobody is left to
// tell. Not left to node-addon-api's rethrow: with an exception already pending (JS that a napi
// call ran was cut off) it still throws in C++, switch or not.
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
