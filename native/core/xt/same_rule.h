// SPDX-License-Identifier: GPL-2.0-or-later
// Rule equality as delete, check and ensure use it, for every backend. Pure.
#pragma once

#include "core/rule_spec.h"

namespace connlimit::core::xt {

// Equal in meaning, as the kernel would match them. Differs from libiptc's is_same() where
// the CLI's own comparison is too strict: each match module says when two of its matches mean
// the same (an IPv4 connlimit with no --connlimit-mask equals one with --connlimit-mask 32,
// NETFILTER-NOTES.md §1.4), and match order does not matter.
bool SameRule(Family family, const RuleSpec& a, const RuleSpec& b);

}  // namespace connlimit::core::xt
