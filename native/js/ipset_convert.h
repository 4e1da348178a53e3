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
// One-element calls packed by src/sets/packed-calls.ts: `records` holds kPackedCallBytes per call,
// `names` the set names the records point into, `objects` the elements that are more than an
// IPv4 address (read as ElementFromJs reads them). Reading a record is a few loads where an
// element object was a dozen property reads, the most of an add in flight's time in C++.
constexpr size_t kPackedCallBytes = 20;
std::vector<core::ipset::ElementCall> ElementCallsFromPacked(Napi::Env env, const Napi::Value& records, const Napi::Value& names,
                                                             const Napi::Value& objects);
// An addMany's or deleteMany's elements, packed the same way (src/sets/packed-calls.ts
// packElements): an address alone stays as its record has it, only the objects become Elements.
core::ipset::ElementBatch ElementsFromPacked(Napi::Env env, const Napi::Value& records, const Napi::Value& objects);

Napi::Object ListedSetToJs(Napi::Env env, const core::ipset::ListedSet& set);
Napi::Object HeaderToJs(Napi::Env env, const core::ipset::SetHeader& h);

}  // namespace connlimit::js
