// SPDX-License-Identifier: GPL-2.0-or-later
// I/O: the one nf_tables commit driver, for both forms. It owns the session's socket, the
// generation id and what the last commit learned (the cache), and the retry loop: each attempt
// has the planner (planner.h) plan the ops from the cache or a fresh read, sends the batch under
// the generation id the plan was made at, and redoes it when the kernel says another writer
// committed in between (ERESTART), bounded by lockTimeoutMs. The I/O goes through a Link: the
// socket here, recorded replies in a test, so the loop itself runs without a kernel.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/nft/form.h"
#include "core/nft/nl_socket.h"
#include "core/nft/plan_reader.h"
#include "core/nft/planner.h"
#include "core/result.h"
#include "core/table_ops.h"

namespace connlimit::core::nft {

// What a commit learned of the form's tables, valid only at the generation id it was learned
// at: the next commit sends its batch under that id without reading anything, so the kernel
// itself refuses it if anybody committed since.
struct Cache {
  bool valid = false;
  uint32_t genid = 0;
  Knowledge known;
};

// What the commit loop does on the kernel.
class Link {
 public:
  virtual ~Link() = default;
  virtual uint32_t NextSeq() = 0;
  // A reader for one attempt: it asks afresh, and keeps what it read for that attempt only.
  virtual std::unique_ptr<PlanReader> NewReader(const Form& form) = 0;
  // As Socket::SendBatch.
  virtual Result<Unit> SendBatch(const Message& batch, const std::function<KernelError(uint32_t, int, const std::string&)>& error_for,
                                 std::vector<EchoedRule>* echoed, uint32_t* new_gen) = 0;
  // Resets the rule counters of `chain` (every chain when empty); a missing one is no error.
  virtual Result<Unit> ResetCounters(Family family, const std::string& table, const std::string& chain) = 0;
  // The netlink port that owns `table` (NFT_TABLE_F_OWNER), if any.
  virtual std::optional<uint32_t> TableOwner(Family family, const std::string& table) = 0;
};

// Every op in one batch, all or nothing (the failing op's index in the error). `cache` is used
// and refreshed. `stale_attempts` (tests only): send a wrong generation
// id in that many first attempts; `attempts` tells how many were made.
Result<std::vector<OpResult>> CommitOps(const Form& form, Link& link, Cache& cache, const std::vector<Op>& ops, int lock_timeout_ms,
                                        int stale_attempts = 0, int* attempts = nullptr);

// The index of the first rule of `chain` equal in meaning to `normalized` (as it reads back),
// or -1, from the cache, when it holds that whole chain and one GETGEN shows nobody committed
// since; nullopt when the cache cannot tell (then read the kernel). Our own committed rules
// are normalized here, when first compared (kept in the cache: the caller holds its mutex).
Result<std::optional<int>> FindCached(Socket& s, const Form& form, Cache& cache, const std::string& chain, const RuleSpec& normalized);

// Deletes every table of the form, whatever it holds, in one batch; how many.
Result<int> DestroyTables(const Form& form, Link& link, int lock_timeout_ms);

// The kernel through one socket.
class SocketLink : public Link {
 public:
  explicit SocketLink(Socket& s) : s_(s) {}
  uint32_t NextSeq() override { return s_.NextSeq(); }
  std::unique_ptr<PlanReader> NewReader(const Form& form) override;
  Result<Unit> SendBatch(const Message& batch, const std::function<KernelError(uint32_t, int, const std::string&)>& error_for,
                         std::vector<EchoedRule>* echoed, uint32_t* new_gen) override {
    return s_.SendBatch(batch, error_for, echoed, new_gen);
  }
  Result<Unit> ResetCounters(Family family, const std::string& table, const std::string& chain) override;
  std::optional<uint32_t> TableOwner(Family family, const std::string& table) override;

 private:
  Socket& s_;
};

// One handle's session: the socket, opened in the table's namespace by the first call (the
// only one that enters it: the socket stays bound there), and the cache. Calls on one session
// are serialized (the mutex; the TS queue already orders them). Freed (socket closed) with its
// last user.
struct TableSession {
  std::mutex mu;  // held for the whole of each call
  std::unique_ptr<Socket> sock;
  Cache cache;
  // The socket's port id (0 before the first call), readable without the mutex: fw.keep() tells
  // its own commits from others' by it (core/nft/ruleset_watcher.h).
  std::atomic<uint32_t> port{0};
  // The generation id the last commit produced, as the kernel's echo of it said (0: unknown, or
  // the commit failed). Read without the mutex, right after the commit, in the same turn of the
  // handle's queue: fw.apply() knows the table as its commit left it, valid at that generation.
  std::atomic<uint32_t> committed{0};
};
std::shared_ptr<TableSession> NewTableSession();

// The session's socket; one that failed is replaced. The caller holds the session's mutex.
Result<Socket*> Connect(int netns_fd, TableSession& session);

// What the session's socket has sent so far (zeros before its first call); waits for the call
// in flight.
SocketCounts CountsOf(TableSession& session);

// The kernel's generation id, through the session's socket: fw.apply() skips reading a table
// when nothing was committed since it last found the table as wanted.
Result<uint32_t> SessionGeneration(int netns_fd, TableSession& session);

// Opens the session's socket in the namespace and reads the generation id: fails early on
// permissions or a kernel without nf_tables. The table need not exist.
Result<Unit> ProbeTable(const TableTarget& target, TableSession& session);

}  // namespace connlimit::core::nft
