// SPDX-License-Identifier: GPL-2.0-or-later
#include "js/errors.h"

#include <cstring>
#include <string>

namespace connlimit::js {

Napi::Error ErrorFromKernel(Napi::Env env, const core::KernelError& e) {
  std::string message = e.op + ": " + strerror(e.errnum);
  if (!e.detail.empty()) message += " (" + e.detail + ")";
  auto error = Napi::Error::New(env, message);
  error.Set("errno", Napi::Number::New(env, e.errnum));
  error.Set("op", Napi::String::New(env, e.op));
  error.Set("detail", Napi::String::New(env, e.detail));
  if (e.op_index >= 0) error.Set("opIndex", Napi::Number::New(env, e.op_index));
  return error;
}

}  // namespace connlimit::js
