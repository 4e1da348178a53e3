// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/compat/native_xt.h"

#include <string>

#include "core/nft/compat/native_limit.h"
#include "core/nft/compat/native_mark.h"

namespace connlimit::core::nft {
namespace {

// One module iptables-nft writes natively: its kernel name and revision (as the blob carries
// them), the blob -> expressions encoder, and the expressions -> blob reader (0: not its form).
struct NativeForm {
  const char* name;
  uint8_t revision;
  Result<Unit> (*encode)(struct nftnl_rule* r, const std::vector<uint8_t>& blob);
  size_t (*read)(const std::vector<Expr>& ex, size_t i, OpaqueExtension* blob);
};

constexpr NativeForm kForms[] = {
    {"limit", 0, EncodeNativeLimit, ReadNativeLimit},
    {"mark", 1, EncodeNativeMark, ReadNativeMark},
};

}  // namespace

std::optional<Result<Unit>> AddNativeXtMatch(struct nftnl_rule* r, Family /*family*/, const Match& m) {
  const auto* o = std::get_if<OpaqueExtension>(&m);
  if (!o) return std::nullopt;
  for (const auto& f : kForms)
    if (o->name == f.name && o->revision == f.revision) return f.encode(r, o->data);
  return std::nullopt;
}

size_t ReadNativeXtMatch(const std::vector<Expr>& ex, size_t i, Family /*family*/, RuleSpec* rule) {
  for (const auto& f : kForms) {
    OpaqueExtension blob;
    if (size_t used = f.read(ex, i, &blob)) {
      blob.name = f.name;
      blob.revision = f.revision;
      rule->matches.push_back(std::move(blob));
      return used;
    }
  }
  return 0;
}

}  // namespace connlimit::core::nft
