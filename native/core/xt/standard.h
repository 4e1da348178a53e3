// SPDX-License-Identifier: GPL-2.0-or-later
// The standard target: a verdict (ACCEPT, DROP, RETURN, QUEUE), a jump or a goto.
// <linux/netfilter/x_tables.h>:
//   struct xt_standard_target {
//     struct xt_entry_target target;
//     int verdict;  /* < 0: -NF_* - 1 or XT_RETURN; >= 0: the offset of the entry jumped to */
//   };
// Not in the registry: its name is the label of a verdict or chain, not a module's. nf_tables
// says the same with an immediate verdict, so only the legacy entry framing uses this.
#pragma once

#include <linux/netfilter/x_tables.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/xt/codec.h"

namespace connlimit::core::xt {

// The data after the header: one int, padded (40 - 32 bytes).
inline constexpr size_t kStandardDataSize = XT_ALIGN(sizeof(struct xt_standard_target)) - XT_ALIGN(sizeof(struct xt_entry_target));

// libiptc's IPTC_LABEL_* (libiptc.h): the names a standard target carries before it is mapped.
bool IsVerdictLabel(const std::string& label);

// kNone, kVerdict, kJump and kGoto as libiptc expects them before it maps them
// (iptcc_map_target): the label in the name (empty for kNone), verdict 0.
Result<XtBlob> EncodeStandardTarget(const Target& target);

// The label the kernel form says (what iptcc_standard_map wrote): a verdict's, or "" for a
// positive offset (a jump or a fall-through, which only libiptc's handle can tell apart).
std::string VerdictLabel(const uint8_t* data);

// The target a label says: "" none, a verdict label, else a chain (a goto when the entry
// says so: IPT_F_GOTO / IP6T_F_GOTO).
Target StandardTarget(const std::string& label, bool is_goto);

}  // namespace connlimit::core::xt
