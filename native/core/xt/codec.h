// SPDX-License-Identifier: GPL-2.0-or-later
// What one xt module file provides, and what the two framings get back: a module turns its
// typed part of RuleSpec into the data an xt_entry_match / xt_entry_target carries after its
// 32-byte header (exactly as the CLI's extension writes it) and back. A module knows nothing
// of the ipt_entry or nf_tables message around that data, nor of other modules; registry.cc
// binds it to its kernel name, revision and families. Pure: no I/O.
#pragma once

#include <linux/netfilter/x_tables.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "core/result.h"
#include "core/rule_spec.h"

namespace connlimit::core::xt {

using Bytes = std::vector<uint8_t>;

// One xt extension's name, revision and data (after the 32-byte header, padded to XT_ALIGN as
// the header's size says). The legacy framing puts a header before it; the nf_tables compat
// form sends it as NFTA_MATCH_INFO / NFTA_TARGET_INFO, exactly as iptables-nft takes it from
// the same xt_entry_match (iptables/nft.c __add_match: data length = match_size - header).
struct XtBlob {
  std::string name;
  uint8_t revision = 0;
  Bytes data;
};

// The blob for a module's data: padded with zeros to XT_ALIGN, as the header's size will say.
inline XtBlob PaddedBlob(std::string name, uint8_t revision, Bytes data) {
  data.resize(XT_ALIGN(data.size()), 0);
  return XtBlob{std::move(name), revision, std::move(data)};
}

// The index of model type M in the Match variant: what Match::index() returns for an M.
template <typename M, size_t I = 0>
constexpr size_t MatchModel() {
  if constexpr (std::is_same_v<M, std::variant_alternative_t<I, Match>>)
    return I;
  else
    return MatchModel<M, I + 1>();
}

// A match module. `encode` and `same` are only given matches holding the `model` alternative.
struct MatchCodec {
  size_t model;  // MatchModel<TheMatch>()
  // The data without its padding, or EINVAL for what the module cannot say.
  Result<Bytes> (*encode)(Family family, const Match& match);
  // The typed part, or nullopt when the data says what the model cannot: the match then stays
  // an OpaqueExtension, byte for byte.
  std::optional<Match> (*decode)(Family family, const uint8_t* data, size_t len);
  // Equal in meaning, as the kernel would match them.
  bool (*same)(Family family, const Match& a, const Match& b);
};

// A target module, for targets of kind `model`; the same contract as MatchCodec. Two targets
// of a modelled kind are equal when their names are (SameRule).
struct TargetCodec {
  Target::Kind model;
  Result<Bytes> (*encode)(Family family, const Target& target);
  std::optional<Target> (*decode)(Family family, const uint8_t* data, size_t len);
};

// EINVAL, op "encode": what the module cannot say.
inline KernelError EncodeError(const std::string& what) { return KernelError{"encode", EINVAL, what, -1}; }

// The kernel struct's bytes, as a module's data.
template <typename Info>
Bytes StructBytes(const Info& info) {
  Bytes out(sizeof info);
  std::memcpy(out.data(), &info, sizeof info);
  return out;
}

// Reads the kernel struct when the data is exactly its padded size, the size the kernel itself
// insists on (xt_check_match: XT_ALIGN(matchsize)); anything else stays opaque.
template <typename Info>
bool ReadStruct(const uint8_t* data, size_t len, Info* out) {
  if (len != XT_ALIGN(sizeof(Info))) return false;
  std::memcpy(out, data, sizeof(Info));
  return true;
}

}  // namespace connlimit::core::xt
