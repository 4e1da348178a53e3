// SPDX-License-Identifier: GPL-2.0-or-later
// I/O: the reads both nf_tables writers run, one request (requests.h) on the caller's socket,
// the replies decoded. The socket's owner serializes the calls.
#pragma once

#include <linux/netfilter/nf_tables.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/nft/chain_codec.h"
#include "core/nft/nl_socket.h"
#include "core/nft/plan_reader.h"
#include "core/nft/requests.h"
#include "core/result.h"
#include "core/rule_spec.h"

namespace connlimit::core::nft {

// The chain as the kernel has it (one GETCHAIN); nullopt when it or its table is missing.
Result<std::optional<DecodedChain>> GetChain(Socket& s, Family family, const std::string& table, const std::string& chain);

// The names of every set in `table` but rules' anonymous ones (one GETSET dump); none when the table is missing.
Result<std::vector<std::string>> SetNames(Socket& s, Family family, const std::string& table);

// Whether `table` holds a set named `set` (one GETSET); false when the table is missing.
Result<bool> SetExists(Socket& s, Family family, const std::string& table, const std::string& set);

// The GETSETELEM dump of one set of `table` (its elements, as NEWSETELEM messages).
Result<std::vector<Message>> SetElementMessages(Socket& s, Family family, const std::string& table, const std::string& set);

// SetLacks on `s`: a GETSETELEM get of each probe's elements, a run of them per send.
Result<std::vector<bool>> SetsLacking(Socket& s, Family family, const std::vector<SetProbe>& probes);

// The rules of one chain (or of the table, chain empty) decoded by `decode`, in chain order;
// none when the table is missing. A message naming another table is skipped.
template <typename Decoded>
Result<std::vector<Decoded>> DumpRules(Socket& s, Family family, const std::string& table, const std::string& chain,
                                       Result<Decoded> (*decode)(Family, const uint8_t*, size_t)) {
  auto msgs = s.Dump([&](uint32_t seq) { return GetRulesRequest(family, table, chain, NFT_MSG_GETRULE, seq); }, "nft list rules");
  if (!msgs.ok()) {
    if (msgs.error().errnum == ENOENT) return std::vector<Decoded>{};
    return msgs.error();
  }
  std::vector<Decoded> out;
  for (const auto& m : msgs.value()) {
    auto r = decode(family, m.data(), m.size());
    if (!r.ok()) return r.error();
    if (r.value().table != table) continue;
    out.push_back(r.take());
  }
  return out;
}

}  // namespace connlimit::core::nft
