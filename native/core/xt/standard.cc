// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/xt/standard.h"

#include <linux/netfilter.h>

namespace connlimit::core::xt {

bool IsVerdictLabel(const std::string& label) {
  return label == "ACCEPT" || label == "DROP" || label == "RETURN" || label == "QUEUE";
}

Result<XtBlob> EncodeStandardTarget(const Target& target) {
  std::string label = target.kind == Target::Kind::kNone ? "" : target.name;
  if (label.size() >= XT_EXTENSION_MAXNAMELEN) return EncodeError("chain name too long");
  if (target.kind == Target::Kind::kVerdict && !IsVerdictLabel(label)) return EncodeError("unknown verdict");
  int verdict = 0;
  return PaddedBlob(label, 0, StructBytes(verdict));
}

std::string VerdictLabel(const uint8_t* data) {
  int verdict;
  memcpy(&verdict, data, sizeof verdict);
  switch (verdict) {
    case -NF_ACCEPT - 1: return "ACCEPT";
    case -NF_DROP - 1: return "DROP";
    case -NF_QUEUE - 1: return "QUEUE";
    case XT_RETURN: return "RETURN";
    default: return "";
  }
}

Target StandardTarget(const std::string& label, bool is_goto) {
  Target t;
  if (label.empty()) {
    t.kind = Target::Kind::kNone;
  } else if (IsVerdictLabel(label)) {
    t.kind = Target::Kind::kVerdict;
    t.name = label;
  } else {
    t.kind = is_goto ? Target::Kind::kGoto : Target::Kind::kJump;
    t.name = label;
  }
  return t;
}

}  // namespace connlimit::core::xt
