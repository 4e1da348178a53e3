// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: ipset replies from bytes. Acks and errors (an ipset error echoes the request, whose
// top-level LINENO the kernel rewrote to the failing element's line), TYPE replies, and LIST dumps, whose element DATA is read with the set's family (numbers 24-26
// mean counters and comment there, but references and memsize in the header's DATA).
#pragma once

#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/ipset/ipset_op.h"
#include "core/ipset/ipset_types.h"
#include "core/result.h"

namespace connlimit::core::ipset {

struct ChunkInfo {
  uint32_t answers = 0;  // acks and errors for requests in [seq_lo, seq_hi]
  bool done = false;     // NLMSG_DONE of a dump
  // The first refusal: op, the kernel's error number (IPSET_ERR_* are >= 4096), the set name
  // as detail, and op_index = line - 1 when the request carried line numbers.
  std::optional<KernelError> error;
  // Every refusal with the sequence number of its request, for calls sent side by side.
  std::vector<std::pair<uint32_t, KernelError>> refusals;
};

// Walk one receive buffer. Messages of other sequence numbers (stale answers) are skipped;
// ipset data messages go to `on_message`. A refusal has `op`'s text and kind. Malformed bytes:
// op "ipset decode", EBADMSG, kind kMalformed.
Result<ChunkInfo> DecodeChunk(const uint8_t* buf, size_t len, uint32_t seq_lo, uint32_t seq_hi, const IpsetOp& op,
                              const std::string& detail, const std::function<Result<Unit>(const nlmsghdr*)>& on_message);

// TYPE reply: the kernel's highest revision of the type.
Result<uint8_t> DecodeTypeReply(const nlmsghdr* nlh);

// A LIST dump, message by message: the first carries the header, every one elements.
class ListDecoder {
 public:
  Result<Unit> Feed(const nlmsghdr* nlh);
  const ListedSet& set() const { return set_; }
  ListedSet take() { return std::move(set_); }
  // A streamed listing hands its entries out batch by batch; the header stays.
  std::vector<Element> TakeEntries() { return std::exchange(set_.entries, {}); }
  // For a names-only dump (LIST_SETNAME): each set's name in dump order.
  const std::vector<std::string>& names() const { return names_; }

 private:
  ListedSet set_;
  std::vector<std::string> names_;
  bool have_header_ = false;
};

}  // namespace connlimit::core::ipset
