// SPDX-License-Identifier: GPL-2.0-or-later
// ipset: JS values (already validated and normalized by src/sets/) <-> the plain structs of
// core/ipset, on the JS thread. A value of the wrong shape is a TypeError: src/sets/ never
// sends one, so it means a caller bypassed the facade.
#pragma once

#include <napi.h>

#include <vector>

#include "core/ipset/ipset_types.h"

namespace connlimit::js {

// { name, type, family: 'ipv4'|'ipv6', timeout?, hashsize?, maxelem?, counters, comment, exist }
core::ipset::CreateSpec CreateSpecFromJs(Napi::Env env, const Napi::Value& v);
// { family: 'ipv4'|'ipv6', address, cidr?, port?, proto?, timeout?, comment? }
core::ipset::Element ElementFromJs(Napi::Env env, const Napi::Value& v);
std::vector<core::ipset::Element> ElementsFromJs(Napi::Env env, const Napi::Value& v);
// [[cmd: 'add'|'del'|'test', set, element, exist], ...]
std::vector<core::ipset::ElementCall> ElementCallsFromJs(Napi::Env env, const Napi::Value& v);

Napi::Object ListedSetToJs(Napi::Env env, const core::ipset::ListedSet& set);
Napi::Object HeaderToJs(Napi::Env env, const core::ipset::SetHeader& h);

}  // namespace connlimit::js
