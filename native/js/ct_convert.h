// SPDX-License-Identifier: GPL-2.0-or-later
// Conversions shared by the conntrack objects (Conntrack, ConntrackList, ConntrackWatch): the
// normalized filter of src/conntrack/filter.ts into core::ct::Filter, and addresses and keys as text.
#pragma once

#include <napi.h>

#include <string>

#include "core/ct/counter.h"
#include "core/ct/ct_types.h"

namespace connlimit::js {

Napi::TypeError CtShape(Napi::Env env, const char* what);
uint32_t U32(const Napi::Value& v);
// The validated, normalized filter of src/conntrack/filter.ts (NativeCtFilter in src/native-types.ts).
core::ct::Filter FilterFromJs(Napi::Env env, const Napi::Value& v);
std::string AddrText(uint8_t family, const core::ct::Addr& a);
// 'a.b.c.d/len', or the plain address when the prefix is the full width (issue #3).
std::string KeyText(uint8_t family, const core::ct::Addr& addr, uint8_t prefix_len);

}  // namespace connlimit::js
