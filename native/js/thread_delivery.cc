// SPDX-License-Identifier: GPL-2.0-or-later
#include "js/thread_delivery.h"

#include <cstring>

#include "js/errors.h"

namespace connlimit::js {

napi_value RawBuilder::Error(const core::KernelError& e) {
  std::string message = e.op + ": " + strerror(e.errnum);
  if (!e.detail.empty()) message += " (" + e.detail + ")";
  napi_value text = String(message);
  napi_value error = nullptr;
  if (!ok_ || napi_create_error(env_, nullptr, text, &error) != napi_ok) {
    ok_ = false;
    return nullptr;
  }
  const char* kind = ErrorKindName(e.kind);
  Set(error, "errno", Number(e.errnum));
  Set(error, "kind", String(kind ? kind : ""));
  Set(error, "op", String(e.op));
  Set(error, "detail", String(e.detail));
  return error;
}

void CallListener(napi_env env, napi_value listener, napi_value err, napi_value value) {
  napi_value args[2] = {err, value};
  napi_value undefined = nullptr;
  if (napi_get_undefined(env, &undefined) != napi_ok) return;
  if (napi_call_function(env, undefined, listener, 2, args, nullptr) == napi_pending_exception) {
    napi_value exception = nullptr;
    napi_valuetype type = napi_undefined;
    // A terminating Worker reports no exception value: nothing to raise then.
    if (napi_get_and_clear_last_exception(env, &exception) == napi_ok && napi_typeof(env, exception, &type) == napi_ok &&
        type != napi_undefined && type != napi_null) {
      napi_fatal_exception(env, exception);
    }
  }
}

}  // namespace connlimit::js
