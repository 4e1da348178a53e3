// SPDX-License-Identifier: GPL-2.0-or-later
// Pure, internal to xlate.cc: each translated module's pair, blob -> expressions (as nft sends
// the text iptables-translate 1.8.9 renders) and expressions -> blob (0: not its form). The
// blob layouts are the uapi structs src/rule/modules/ writes (each module file's header).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/nft/expr_reader.h"
#include "core/nft/native/xlate.h"
#include "core/result.h"
#include "core/rule_spec.h"

namespace connlimit::core::nft::xlate {

using Blob = std::vector<uint8_t>;

// xlate_conntrack.cc: `-m conntrack` and `-m state --state` as `ct direction`, `ct ... protocol`,
// `ct state`, `ct status`, `ct expiration`, `ct original|reply saddr|daddr`.
Result<Unit> EncodeConntrack(const XlateRule& w, const Blob& blob);
size_t ReadConntrack(const std::vector<Expr>& ex, size_t i, Family family, const RuleSpec& rule, Blob* blob, const AnonymousSetElements& sets);

// xlate_icmp.cc: `icmp type T`, `icmpv6 type T` (a type with every code), `ip protocol icmp` for `any`.
Result<Unit> EncodeIcmp(const XlateRule& w, const Blob& blob);
size_t ReadIcmp(const std::vector<Expr>& ex, size_t i, Family family, const RuleSpec& rule, Blob* blob, const AnonymousSetElements& sets);
Result<Unit> EncodeIcmp6(const XlateRule& w, const Blob& blob);
size_t ReadIcmp6(const std::vector<Expr>& ex, size_t i, Family family, const RuleSpec& rule, Blob* blob, const AnonymousSetElements& sets);

// xlate_meta.cc: `mark [and M] V`, `pkttype T`, `meta length N[-M]`.
Result<Unit> EncodeMark(const XlateRule& w, const Blob& blob);
size_t ReadMark(const std::vector<Expr>& ex, size_t i, Family family, const RuleSpec& rule, Blob* blob, const AnonymousSetElements& sets);
Result<Unit> EncodePkttype(const XlateRule& w, const Blob& blob);
size_t ReadPkttype(const std::vector<Expr>& ex, size_t i, Family family, const RuleSpec& rule, Blob* blob, const AnonymousSetElements& sets);
Result<Unit> EncodeLength(const XlateRule& w, const Blob& blob);
size_t ReadLength(const std::vector<Expr>& ex, size_t i, Family family, const RuleSpec& rule, Blob* blob, const AnonymousSetElements& sets);

// xlate_header.cc: `ip saddr A-B` (iprange), `ip ttl [op] N`, `ether saddr M` (mac),
// `tcp option maxseg size N[-M]` (tcpmss).
Result<Unit> EncodeIprange(const XlateRule& w, const Blob& blob);
size_t ReadIprange(const std::vector<Expr>& ex, size_t i, Family family, const RuleSpec& rule, Blob* blob, const AnonymousSetElements& sets);
Result<Unit> EncodeTtl(const XlateRule& w, const Blob& blob);
size_t ReadTtl(const std::vector<Expr>& ex, size_t i, Family family, const RuleSpec& rule, Blob* blob, const AnonymousSetElements& sets);
Result<Unit> EncodeMac(const XlateRule& w, const Blob& blob);
size_t ReadMac(const std::vector<Expr>& ex, size_t i, Family family, const RuleSpec& rule, Blob* blob, const AnonymousSetElements& sets);
Result<Unit> EncodeTcpmss(const XlateRule& w, const Blob& blob);
size_t ReadTcpmss(const std::vector<Expr>& ex, size_t i, Family family, const RuleSpec& rule, Blob* blob, const AnonymousSetElements& sets);

// xlate_time.cc: `meta time "D1"-"D2"`, `meta hour "T1"-"T2"`, `meta day D` (one weekday), `meta day { 6, 0 }` (several:
// an anonymous set of key type `day`).
Result<Unit> EncodeTime(const XlateRule& w, const Blob& blob);
size_t ReadTime(const std::vector<Expr>& ex, size_t i, Family family, const RuleSpec& rule, Blob* blob, const AnonymousSetElements& sets);
// The xt weekday mask of a day set's elements (two or more distinct days, as a translation
// writes them; one day is `meta day D`), or 0: all ReadTime takes of a day set.
uint8_t WeekdaysOf(const std::vector<RawElement>& elements);

// xlate_hashlimit.cc: `meter NAME { ip saddr . tcp dport timeout Ns limit rate [over] R/unit ... }`, the subset
// whose meaning is hashlimit's (docs/modules.md).
Result<Unit> EncodeHashlimit(const XlateRule& w, const Blob& blob);
size_t ReadHashlimit(const std::vector<Expr>& ex, size_t i, Family family, const RuleSpec& rule, Blob* blob, const AnonymousSetElements& sets);
// The set name the meter of a `-m hashlimit` match takes (its --hashlimit-name); empty for any other match.
std::string HashlimitMeterName(const OpaqueExtension& match);

}  // namespace connlimit::core::nft::xlate
