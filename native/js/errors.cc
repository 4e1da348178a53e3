// SPDX-License-Identifier: GPL-2.0-or-later
#include "js/errors.h"

#include <cstring>
#include <string>

namespace connlimit::js {

const char* ErrorKindName(core::ErrorKind kind) {
  using K = core::ErrorKind;
  // No default: a kind added without a name here fails the build (-Wswitch, -Werror).
  switch (kind) {
    case K::kNone: return "none";
    case K::kClosed: return "closed";
    case K::kNetnsPathInvalid: return "netnsPathInvalid";
    case K::kLockPathInvalid: return "lockPathInvalid";
    case K::kNetnsOpen: return "netnsOpen";
    case K::kNetnsEnter: return "netnsEnter";
    case K::kNetnsGone: return "netnsGone";
    case K::kXtablesLock: return "xtablesLock";
    case K::kTableInit: return "tableInit";
    case K::kLegacyCommit: return "legacyCommit";
    case K::kNftSocket: return "nftSocket";
    case K::kNftCommit: return "nftCommit";
    case K::kNftCommitRule: return "nftCommitRule";
    case K::kTableOwned: return "tableOwned";
    case K::kChainNotFound: return "chainNotFound";
    case K::kRuleNotFound: return "ruleNotFound";
    case K::kPositionNotFound: return "positionNotFound";
    case K::kCtSocket: return "ctSocket";
    case K::kConntrack: return "conntrack";
    case K::kCtDumpInterrupted: return "ctDumpInterrupted";
    case K::kMalformed: return "malformed";
    case K::kIpsetSocket: return "ipsetSocket";
    case K::kIpsetHandshake: return "ipsetHandshake";
    case K::kIpsetType: return "ipsetType";
    case K::kIpset: return "ipset";
    case K::kIpsetDelete: return "ipsetDelete";
    case K::kIpsetSwap: return "ipsetSwap";
    case K::kNftSet: return "nftSet";
    case K::kNftSetElement: return "nftSetElement";
    case K::kSetOutsideTable: return "setOutsideTable";
    case K::kMeterNameTaken: return "meterNameTaken";
  }
  return nullptr;
}

Napi::Array ErrorKindNames(Napi::Env env) {
  auto names = Napi::Array::New(env);
  // The enum's values are contiguous from 0 (core/error_kind.h): count up to the first unnamed.
  for (int i = 0; const char* name = ErrorKindName(static_cast<core::ErrorKind>(i)); i++) names.Set(i, name);
  return names;
}

Napi::Value AnswersToJs(Napi::Env env, std::vector<std::optional<core::KernelError>>& answers) {
  bool refused = false;
  for (const auto& a : answers) refused = refused || a.has_value();
  if (!refused) return env.Null();
  auto out = Napi::Array::New(env, answers.size());
  for (uint32_t i = 0; i < answers.size(); i++) out.Set(i, answers[i] ? ErrorFromKernel(env, *answers[i]).Value() : env.Null());
  return out;
}

Napi::Error ErrorFromKernel(Napi::Env env, const core::KernelError& e) {
  std::string message = e.op + ": " + strerror(e.errnum);
  if (!e.detail.empty()) message += " (" + e.detail + ")";
  auto error = Napi::Error::New(env, message);
  error.Set("errno", Napi::Number::New(env, e.errnum));
  error.Set("kind", Napi::String::New(env, ErrorKindName(e.kind)));
  error.Set("op", Napi::String::New(env, e.op));
  error.Set("detail", Napi::String::New(env, e.detail));
  if (e.op_index >= 0) error.Set("opIndex", Napi::Number::New(env, e.op_index));
  return error;
}

}  // namespace connlimit::js
