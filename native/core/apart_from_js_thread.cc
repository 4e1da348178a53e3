// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/apart_from_js_thread.h"

#include <atomic>

namespace connlimit::core {
namespace {

// -1 until a call was queued. A stale value costs nothing but a move that was not needed.
std::atomic<int> js_thread_cpu{-1};

}  // namespace

void NoteJsThreadCpu() { js_thread_cpu.store(sched_getcpu(), std::memory_order_relaxed); }

ApartFromJsThread::ApartFromJsThread() {
  const int js_cpu = js_thread_cpu.load(std::memory_order_relaxed);
  if (js_cpu < 0 || sched_getcpu() != js_cpu) return;
  // pid 0: this thread only (Linux affinity is per thread).
  if (sched_getaffinity(0, sizeof allowed_, &allowed_) != 0) return;
  if (!CPU_ISSET(js_cpu, &allowed_) || CPU_COUNT(&allowed_) < 2) return;
  cpu_set_t elsewhere = allowed_;
  CPU_CLR(js_cpu, &elsewhere);
  moved_ = sched_setaffinity(0, sizeof elsewhere, &elsewhere) == 0;
}

ApartFromJsThread::~ApartFromJsThread() {
  if (moved_) sched_setaffinity(0, sizeof allowed_, &allowed_);
}

}  // namespace connlimit::core
