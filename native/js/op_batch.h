// SPDX-License-Identifier: GPL-2.0-or-later
// OpBatch: the ops of one commit, converted to their core form on the main thread a few at a
// time and then handed whole to a table's commit(), whose pool worker consumes them. Every
// table wrapper (LegacyTable, IptablesNftTable, NftablesTable) takes its ops this way.
//
// Why not one array converted when commit() is called: reading 10,000 rules at the boundary
// is one synchronous stretch of tens of milliseconds on the main thread. src/firewall.ts
// instead adds ops in slices and yields to the event loop between them.
#pragma once

#include <napi.h>

#include <memory>
#include <vector>

#include "core/rule_spec.h"
#include "core/table_ops.h"

namespace connlimit::js {

using OpList = std::shared_ptr<const std::vector<core::Op>>;

class OpBatch : public Napi::ObjectWrap<OpBatch> {
 public:
  static Napi::Function Define(Napi::Env env);
  // new OpBatch(family)
  explicit OpBatch(const Napi::CallbackInfo& info);

  // The ops of the OpBatch `v`, moved out: the batch is empty afterwards, so a batch commits
  // once. Anything but an OpBatch of `family` is an internal bug (TypeError).
  static OpList Take(const Napi::Value& v, core::Family family);

 private:
  // add(op): one NativeOp, converted now.
  Napi::Value Add(const Napi::CallbackInfo& info);

  core::Family family_ = core::Family::kIpv4;
  std::vector<core::Op> ops_;
};

}  // namespace connlimit::js
