// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/compat/native_xt.h"

#include <string>

#include "core/nft/native_limit.h"
#include "core/nft/compat/native_mark.h"
#include "core/nft/compat/native_nflog.h"

namespace connlimit::core::nft {
namespace {

// One module iptables-nft writes natively: match or target, its kernel name and revision (as the
// blob carries them), the blob -> expressions encoder, and the expressions -> blob reader (0: not its form).
struct NativeForm {
  bool target;
  const char* name;
  uint8_t revision;
  Result<Unit> (*encode)(struct nftnl_rule* r, const std::vector<uint8_t>& blob);
  size_t (*read)(const std::vector<Expr>& ex, size_t i, OpaqueExtension* blob);
};

constexpr NativeForm kForms[] = {
    {false, "limit", 0, EncodeNativeLimit, ReadNativeLimit},
    {false, "mark", 1, EncodeNativeMark, ReadNativeMark},
    {true, "NFLOG", 0, EncodeNativeNflog, ReadNativeNflog},
};

std::optional<Result<Unit>> Add(struct nftnl_rule* r, bool target, const OpaqueExtension& o) {
  for (const auto& f : kForms)
    if (f.target == target && o.name == f.name && o.revision == f.revision) return f.encode(r, o.data);
  return std::nullopt;
}

// How many expressions from ex[i] a form of this type read into `*blob` (0: none).
size_t Read(const std::vector<Expr>& ex, size_t i, bool target, OpaqueExtension* blob) {
  for (const auto& f : kForms) {
    if (f.target != target) continue;
    if (size_t used = f.read(ex, i, blob)) {
      blob->name = f.name;
      blob->revision = f.revision;
      return used;
    }
  }
  return 0;
}

}  // namespace

std::optional<Result<Unit>> AddNativeXtMatch(struct nftnl_rule* r, Family /*family*/, const Match& m) {
  const auto* o = std::get_if<OpaqueExtension>(&m);
  return o ? Add(r, false, *o) : std::nullopt;
}

size_t ReadNativeXtMatch(const std::vector<Expr>& ex, size_t i, Family /*family*/, RuleSpec* rule) {
  OpaqueExtension blob;
  size_t used = Read(ex, i, false, &blob);
  if (used) rule->matches.push_back(std::move(blob));
  return used;
}

std::optional<Result<Unit>> AddNativeXtTarget(struct nftnl_rule* r, Family /*family*/, const Target& t) {
  return t.kind == Target::Kind::kOpaque ? Add(r, true, t.opaque) : std::nullopt;
}

size_t ReadNativeXtTarget(const std::vector<Expr>& ex, size_t i, Family /*family*/, RuleSpec* rule) {
  OpaqueExtension blob;
  size_t used = Read(ex, i, true, &blob);
  if (used) {
    rule->target.kind = Target::Kind::kOpaque;
    rule->target.opaque = std::move(blob);
  }
  return used;
}

}  // namespace connlimit::core::nft
