// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/xt/registry.h"

#include "core/xt/modules.h"

namespace connlimit::core::xt {
namespace {

// Revisions as the kernel registers them (v6.x): connlimit has only 1 (NETFILTER-NOTES.md §1.5).
constexpr Module kModules[] = {
    // name       revision  families         codec
    {"connlimit", 1,        Families::kBoth, &kConnlimitMatch},
    {"tcp",       0,        Families::kBoth, &kTcpMatch},
    {"udp",       0,        Families::kBoth, &kUdpMatch},
    {"comment",   0,        Families::kBoth, &kCommentMatch},
    {"REJECT",    0,        Families::kIpv4, &kRejectIpv4Target},
    {"REJECT",    0,        Families::kIpv6, &kRejectIpv6Target},
};

bool Covers(Families families, Family family) {
  return static_cast<uint8_t>(families) & static_cast<uint8_t>(family == Family::kIpv4 ? Families::kIpv4 : Families::kIpv6);
}

// The first row holding a `Codec` in `family` that `wanted` accepts.
template <typename Codec, typename Pred>
const Module* FindRow(Family family, Pred wanted) {
  for (const auto& row : kModules) {
    const auto* codec = std::get_if<const Codec*>(&row.codec);
    if (codec && Covers(row.families, family) && wanted(row, **codec)) return &row;
  }
  return nullptr;
}

}  // namespace

const Module* FindMatchModule(const std::string& name, uint8_t revision, Family family) {
  return FindRow<MatchCodec>(family, [&](const Module& row, const MatchCodec&) { return row.revision == revision && name == row.name; });
}

const Module* FindTargetModule(const std::string& name, uint8_t revision, Family family) {
  return FindRow<TargetCodec>(family, [&](const Module& row, const TargetCodec&) { return row.revision == revision && name == row.name; });
}

const Module* MatchModuleFor(size_t model, Family family) {
  return FindRow<MatchCodec>(family, [&](const Module&, const MatchCodec& codec) { return codec.model == model; });
}

const Module* TargetModuleFor(Target::Kind model, Family family) {
  return FindRow<TargetCodec>(family, [&](const Module&, const TargetCodec& codec) { return codec.model == model; });
}

}  // namespace connlimit::core::xt
