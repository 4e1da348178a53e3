// SPDX-License-Identifier: GPL-2.0-or-later
// Result<T>: a value or a KernelError. core/ reports every failure this way; it never prints,
// throws or exits. src/errors.ts gives the facts their meaning.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "core/error_kind.h"

namespace connlimit::core {

struct KernelError {
  std::string op;      // what failed, for people: "iptc_init", "iptc_commit", "xtables lock", "setns", "chain", "rule"
  int errnum = 0;      // positive errno
  std::string detail;  // the chain, path or libiptc's own text
  int op_index = -1;   // which op of a commit failed, -1 when not tied to one
  ErrorKind kind = ErrorKind::kNone;  // what the failure is about: the only thing code decides on
};

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}             // NOLINT(google-explicit-constructor)
  Result(KernelError error) : v_(std::move(error)) {}   // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(v_); }
  T& value() { return std::get<T>(v_); }
  const T& value() const { return std::get<T>(v_); }
  const KernelError& error() const { return std::get<KernelError>(v_); }
  T take() { return std::move(std::get<T>(v_)); }

 private:
  std::variant<T, KernelError> v_;
};

// For operations with nothing to return.
struct Unit {};

}  // namespace connlimit::core
