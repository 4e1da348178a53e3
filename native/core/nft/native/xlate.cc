// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/native/xlate.h"

#include <cstring>

#include "core/nft/native/xlate_modules.h"
#include "core/nft/native_limit.h"

namespace connlimit::core::nft {
namespace {

using namespace xlate;  // NOLINT(google-build-using-namespace): this table's pairs

// One translated module: its kernel name and revision (as the blob carries them), whether the
// translation names the rule's protocol itself (see XlateNamesProtocol), and its pair.
struct XlateForm {
  const char* name;
  uint8_t revision;
  bool names_protocol;
  Result<Unit> (*encode)(const XlateRule& w, const Blob& blob);
  size_t (*read)(const std::vector<Expr>& ex, size_t i, Family family, const RuleSpec& rule, Blob* blob, const AnonymousSetElements& sets);
};

// `limit rate R/unit burst B packets` is the expression iptables-nft writes too (native_limit).
Result<Unit> EncodeLimit(const XlateRule& w, const Blob& blob) { return EncodeNativeLimit(w.r, blob); }
size_t ReadLimit(const std::vector<Expr>& ex, size_t i, Family, const RuleSpec&, Blob* blob, const AnonymousSetElements&) {
  OpaqueExtension o;
  size_t used = ReadNativeLimit(ex, i, &o);
  if (used) *blob = std::move(o.data);
  return used;
}

// Reading tries the rows in order: none of their first expressions is another's.
constexpr XlateForm kForms[] = {
    {"conntrack", 3, false, EncodeConntrack, ReadConntrack},
    {"icmp", 0, true, EncodeIcmp, ReadIcmp},
    {"icmp6", 0, false, EncodeIcmp6, ReadIcmp6},
    {"limit", 0, false, EncodeLimit, ReadLimit},
    {"mark", 1, false, EncodeMark, ReadMark},
    {"iprange", 1, false, EncodeIprange, ReadIprange},
    {"pkttype", 0, false, EncodePkttype, ReadPkttype},
    {"length", 0, false, EncodeLength, ReadLength},
    {"ttl", 0, false, EncodeTtl, ReadTtl},
    {"mac", 0, false, EncodeMac, ReadMac},
    {"tcpmss", 0, false, EncodeTcpmss, ReadTcpmss},
    {"time", 0, false, EncodeTime, ReadTime},
    {"hashlimit", 3, false, EncodeHashlimit, ReadHashlimit},
};

const XlateForm* FormOf(const OpaqueExtension& o) {
  for (const auto& f : kForms)
    if (o.name == f.name && o.revision == f.revision) return &f;
  return nullptr;
}

}  // namespace

std::optional<Result<Unit>> AddXlateMatch(const XlateRule& w, const OpaqueExtension& o) {
  const XlateForm* f = FormOf(o);
  if (!f) return std::nullopt;
  return f->encode(w, o.data);
}

bool XlateNamesProtocol(const Match& m) {
  const auto* o = std::get_if<OpaqueExtension>(&m);
  const XlateForm* f = o ? FormOf(*o) : nullptr;
  return f && f->names_protocol;
}

size_t ReadXlateMatch(const std::vector<Expr>& ex, size_t i, Family family, RuleSpec* rule, const AnonymousSetElements& sets) {
  for (const auto& f : kForms) {
    Blob blob;
    if (size_t used = f.read(ex, i, family, *rule, &blob, sets)) {
      OpaqueExtension o;
      o.name = f.name;
      o.revision = f.revision;
      o.data = std::move(blob);
      rule->matches.push_back(std::move(o));
      return used;
    }
  }
  return 0;
}

}  // namespace connlimit::core::nft
