// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: the table, chain and rule-deletion messages of the nf_tables backend, built with the
// libnftnl setters iptables-nft 1.8.9 uses (iptables/nft.c, nft-cmd.c), and the chain
// decoder for listings. The built-in chains iptables-nft expects are here too (NOTES §4.3).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/nft/message.h"
#include "core/result.h"
#include "core/rule_spec.h"

namespace connlimit::core::nft {

// One base chain as iptables-nft creates it (iptables/nft.c xtables_ipv4[]).
struct BuiltinChain {
  const char* name;
  uint32_t hooknum;  // NF_INET_*
  int32_t priority;
  const char* type;  // "filter", "route", "nat"
};

// The table's base chains in iptables-nft's order; empty for a table iptables does not know.
std::vector<BuiltinChain> BuiltinChainsOf(const std::string& table);
// nullptr when `chain` is not a built-in chain of `table`.
const BuiltinChain* FindBuiltin(const std::string& table, const std::string& chain);

// NFT_MSG_NEWTABLE, NLM_F_CREATE: creates the table or leaves it as it is.
std::vector<uint8_t> EncodeNewTable(Family family, const std::string& table, uint32_t seq);
// NFT_MSG_NEWCHAIN, NLM_F_CREATE, with hook, priority, type and policy (NF_ACCEPT / NF_DROP):
// creates the base chain, or sets the policy of the existing one (what `iptables-nft -P` sends).
std::vector<uint8_t> EncodeNewBaseChain(Family family, const std::string& table, const BuiltinChain& chain, uint32_t policy,
                                        uint32_t seq);
// NFT_MSG_NEWCHAIN, NLM_F_EXCL: a user chain (`iptables-nft -N`), EEXIST when present.
std::vector<uint8_t> EncodeNewUserChain(Family family, const std::string& table, const std::string& name, uint32_t seq);
// NFT_MSG_NEWCHAIN with NFTA_CHAIN_HANDLE and the new name: rename (`iptables-nft -E`).
std::vector<uint8_t> EncodeRenameChain(Family family, const std::string& table, uint64_t handle, const std::string& to, uint32_t seq);
std::vector<uint8_t> EncodeDelChain(Family family, const std::string& table, const std::string& name, uint32_t seq);
// NFT_MSG_DELRULE by handle, or by NFTA_RULE_ID (a rule added earlier in the same batch), or
// with neither: every rule of `chain` (every rule of the table when `chain` is empty).
std::vector<uint8_t> EncodeDelRule(Family family, const std::string& table, const std::string& chain, uint64_t handle,
                                   uint32_t id, uint32_t seq, Writing how = Writing::kDirect);

struct DecodedChain {
  std::string table, name;
  uint64_t handle = 0;
  bool base = false;
  uint32_t policy = 1;  // NF_ACCEPT
  uint64_t packets = 0, bytes = 0;
  uint32_t use = 0;  // how many rules refer to (jump to) this chain
};
Result<DecodedChain> DecodeChainMessage(const uint8_t* msg, size_t len);

// The owner of a table (NFT_MSG_NEWTABLE as GETTABLE returns it) that has the 'owner' flag
// (NFT_TABLE_F_OWNER: only that netlink port may change it); nullopt for any other table.
std::optional<uint32_t> DecodeTableOwner(const uint8_t* msg, size_t len);
// The name of the table in an NFT_MSG_NEWTABLE message (a table dump's reply).
Result<std::string> DecodeTableName(const uint8_t* msg, size_t len);

}  // namespace connlimit::core::nft
