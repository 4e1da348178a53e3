// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: the read requests (GETTABLE, GETCHAIN, GETRULE) and the batch framing both nf_tables
// writers send: core/nft/compat (iptables-nft's form) and core/nft/native (nft's
// own). Running them on a socket is socket_reads.h's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/nft/message.h"
#include "core/rule_spec.h"

namespace connlimit::core::nft {

// NFT_MSG_GETTABLE of one table (a get: ENOENT when it is missing).
Message GetTableRequest(Family family, const std::string& table, uint32_t seq);
// NFT_MSG_GETTABLE, NLM_F_DUMP: every table of the family.
Message GetTablesRequest(Family family, uint32_t seq);
// NFT_MSG_GETCHAIN of one chain, or a dump of the table's chains when `chain` is empty.
Message GetChainRequest(Family family, const std::string& table, const std::string& chain, uint32_t seq);
// A rule dump (`type` NFT_MSG_GETRULE, or NFT_MSG_GETRULE_RESET to zero the counters too) of one
// chain, or of the whole table when `chain` is empty: the kernel filters by table and chain.
Message GetRulesRequest(Family family, const std::string& table, const std::string& chain, uint16_t type, uint32_t seq);

// One nfnetlink batch: NFNL_MSG_BATCH_BEGIN (sequence `begin_seq`) carrying `genid`, so the
// kernel refuses the batch with ERESTART if anybody committed since that generation (network
// order; 0 would disable the check, NOTES §4.2); then every message of `msgs` that is not empty,
// each padded to NLMSG_ALIGNTO; then NFNL_MSG_BATCH_END (`end_seq`).
Message FrameBatch(uint32_t begin_seq, uint32_t genid, const std::vector<Message>& msgs, uint32_t end_seq);

// The same batch written message by message as they are built, so a large one (10,000 rules:
// about 6 MB) is copied once and holds no message of its own per rule.
class BatchWriter {
 public:
  BatchWriter(uint32_t begin_seq, uint32_t genid);
  // Appends `m` (not empty), padded; where it starts in the batch. `expected` (how many messages
  // will follow, this one included) sizes the batch once, from the first message.
  size_t Add(const Message& m, size_t expected);
  // The message that starts at `offset` (Add's answer), to adjust its header.
  uint8_t* At(size_t offset) { return batch_.data() + offset; }
  Message End(uint32_t end_seq);

 private:
  void Put(const void* p, size_t n);
  Message batch_;
};

// Whether the rule holds expressions read back opaque (kOpaqueExprPrefix): it came from a
// listing and can be compared as it is, but never re-encoded.
bool HasNativeExpr(const RuleSpec& rule);

}  // namespace connlimit::core::nft
