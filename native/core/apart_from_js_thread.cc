// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/apart_from_js_thread.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace connlimit::core {
namespace {

// 0 until a call was queued.
std::atomic<pid_t> js_thread{0};

// The CPU thread `tid` of this process last ran on (field 39 of /proc/self/task/TID/stat), or
// -1. Read when the replace starts, not noted when the call was queued: by then (the table read,
// the ops applied: milliseconds for a big table) the JavaScript thread has often moved, and a
// stale CPU left the pool thread where it was, beside it (seen in a sched trace).
int LastCpuOf(pid_t tid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", static_cast<int>(tid));
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[1024];
  const ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  // The name (field 2) may hold spaces and ')': the fields after it start at its last ')'.
  const char* p = std::strrchr(buf, ')');
  if (!p) return -1;
  int field = 2;
  for (p++; *p && field < 39; p++)
    if (*p == ' ') field++;
  return field == 39 ? std::atoi(p) : -1;
}

}  // namespace

void NoteJsThread() { js_thread.store(gettid(), std::memory_order_relaxed); }

ApartFromJsThread::ApartFromJsThread() {
  const pid_t tid = js_thread.load(std::memory_order_relaxed);
  if (tid == 0) return;
  const int js_cpu = LastCpuOf(tid);
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
