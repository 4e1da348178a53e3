// SPDX-License-Identifier: GPL-2.0-or-later
// KernelError -> a plain JS Error carrying {errno, op, detail, opIndex}. Facts only: the
// meaning (class, code, hint) is given in src/errors.ts, in the awaiting frame.
#pragma once

#include <napi.h>

#include "core/result.h"

namespace connlimit::js {

Napi::Error ErrorFromKernel(Napi::Env env, const core::KernelError& e);

}  // namespace connlimit::js
