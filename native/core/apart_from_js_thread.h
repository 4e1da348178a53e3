// SPDX-License-Identifier: GPL-2.0-or-later
// Keeps a long kernel call of a pool thread off the CPU the JavaScript thread runs on. The
// kernel here runs without preemption ("Dynamic Preempt: none", as most server kernels run
// none or voluntary): replacing a legacy table of 10,000 rules is one setsockopt that holds
// its CPU for ~13 ms, and a JavaScript thread woken on that CPU (a timer, a collection's
// helper) waits all of it, runnable, although the other core may be free. The pool thread is
// usually on that CPU: the scheduler wakes it beside the thread that queued its work.
#pragma once

#include <sched.h>

namespace connlimit::core {

// Remembers the calling (JavaScript) thread; called as it hands work to the pool.
void NoteJsThread();

// While alive, the calling thread may run anywhere it could before but on the CPU the thread
// last noted by NoteJsThread() last ran on, when it is on that CPU now and has another to go
// to; the destructor gives back the CPUs it had. Otherwise (not on that CPU, one CPU allowed,
// nothing noted, /proc unreadable) it does nothing. One read of /proc/self/task/TID/stat and two
// sched_setaffinity calls; none waits.
class ApartFromJsThread {
 public:
  ApartFromJsThread();
  ~ApartFromJsThread();
  ApartFromJsThread(const ApartFromJsThread&) = delete;
  ApartFromJsThread& operator=(const ApartFromJsThread&) = delete;

 private:
  cpu_set_t allowed_;
  bool moved_ = false;
};

}  // namespace connlimit::core
