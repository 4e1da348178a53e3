// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/socket_reads.h"

namespace connlimit::core::nft {

Result<std::optional<DecodedChain>> GetChain(Socket& s, Family family, const std::string& table, const std::string& chain) {
  auto r = s.Request(GetChainRequest(family, table, chain, s.NextSeq()), false, "nft get chain");
  if (!r.ok()) {
    if (r.error().errnum != ENOENT) return r.error();
    return std::optional<DecodedChain>{};
  }
  if (r.value().empty()) return std::optional<DecodedChain>{};
  auto d = DecodeChainMessage(r.value()[0].data(), r.value()[0].size());
  if (!d.ok()) return d.error();
  return std::optional<DecodedChain>{d.take()};
}

}  // namespace connlimit::core::nft
