// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: ctnetlink replies (bytes as recv() returned them) -> Entry values and facts about the
// stream. Never trusts the bytes: a short, overlong or malformed message is a KernelError with
// op "ct decode" and EBADMSG, never a read past the buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "core/ct/ct_types.h"
#include "core/result.h"

namespace connlimit::core::ct {

// What one recv() buffer said besides its entries.
struct ChunkInfo {
  bool done = false;         // NLMSG_DONE, or an NLMSG_ERROR ending the request
  bool interrupted = false;  // NLM_F_DUMP_INTR: the table changed during the dump
  bool filtered = false;     // NLM_F_DUMP_FILTERED: the kernel applied our dump filter
  int acks = 0;              // NLMSG_ERROR with error 0
  int not_found = 0;         // NLMSG_ERROR ENOENT (a delete whose entry was already gone)
  uint64_t entries = 0;
  uint64_t stale = 0;        // messages of another request (other nlmsg_seq), skipped
  bool has_stats = false;    // an IPCTNL_MSG_CT_GET_STATS reply
  uint32_t stats_entries = 0, stats_max_entries = 0;
};

// Decode the attributes of one IPCTNL_MSG_CT_NEW (payload after the nlmsghdr, starting with
// struct nfgenmsg). Fails on malformed attributes; unknown attributes are skipped.
Result<Entry> DecodeEntry(const uint8_t* payload, size_t len);

using EntrySink = std::function<void(const Entry&, EntryKind)>;

// Walk every netlink message of one recv() buffer. `on_entry` gets each conntrack entry with
// what kind of message carried it. Messages whose nlmsg_seq differs from `seq` are skipped
// (leftovers of an earlier request); pass kAnySeq for multicast events, which carry seq 0.
// An NLMSG_ERROR other than 0/ENOENT becomes a KernelError{op, errno, extack-or-empty} of kind
// kConntrack; bytes that don't read are kind kMalformed. ENOENT is counted (deletes race with
// expiry) unless `enoent_is_error`.
constexpr uint64_t kAnySeq = ~0ull;
Result<ChunkInfo> DecodeChunk(const uint8_t* buf, size_t len, uint64_t seq, const std::string& op, bool enoent_is_error,
                              const EntrySink& on_entry);

}  // namespace connlimit::core::ct
