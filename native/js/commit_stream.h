// SPDX-License-Identifier: GPL-2.0-or-later
// A streamed commit as a JS object (src/firewall.ts drives it; core/commit_stream.h is the
// work): { push(part), finish(), abort() }. Made when a big transaction's turn comes, before
// its ops are all packed; the pool starts on the backend's start (legacy: lock and table read)
// at once. push() only queues a copy of a packed part on the main thread; a pool job decodes and
// applies the parts queued so far and ends when none is left (it never waits for the next one),
// and the next push() starts a new job. At most one job runs at a time, so the backend's state
// is used by one thread at a time. finish() resolves with the commit's results (an
// Int32Array, as commit()); abort() drops everything in the pool (lock released, snapshot
// freed) and resolves once that is done.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>

#include "core/commit_stream.h"
#include "core/netns_guard.h"
#include "core/result.h"
#include "core/table_ops.h"

namespace connlimit::js {

using StreamStart = std::function<core::Result<std::unique_ptr<core::CommitStream>>(const core::TableTarget&)>;

// `receiver` (the table object) is kept alive until the stream ends, and so is the namespace
// fd; `name` is the async_hooks resource name of its jobs.
Napi::Object StartCommitStream(const Napi::Object& receiver, const char* name, const core::TableTarget& target,
                               std::shared_ptr<core::NetnsFd> keep, StreamStart start);

}  // namespace connlimit::js
