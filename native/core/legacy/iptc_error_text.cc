// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/legacy/iptc_error_text.h"

#include <cerrno>
#include <cstring>

namespace connlimit::core::legacy {
namespace {

struct Meaning {
  std::string_view op;  // empty: any call
  int err;
  const char* text;
};

// iptc_strerror's table (libiptc.c, iptables 1.8), for the calls iptc_table.cc makes, first
// match wins. libiptc looks up its own global instead of the op, which a call made inside the
// failing one can change (iptc_delete_chain asks iptc_builtin and iptc_get_references first,
// so alone it said "Directory not empty"); the op's own row is what libiptc's table means.
constexpr Meaning kMeanings[] = {
    {"iptc_init", EPERM, "Permission denied (you must be root)"},
    {"iptc_init", EINVAL, "Module is wrong version"},
    {"iptc_init", ENOENT, "Table does not exist (do you need to insmod?)"},
    {"iptc_delete_chain", ENOTEMPTY, "Chain is not empty"},
    {"iptc_delete_chain", EINVAL, "Can't delete built-in chain"},
    {"iptc_delete_chain", EMLINK, "Can't delete chain with references left"},
    {"iptc_create_chain", EEXIST, "Chain already exists"},
    {"iptc_insert_entry", E2BIG, "Index of insertion too big"},
    {"iptc_replace_entry", E2BIG, "Index of replacement too big"},
    {"iptc_delete_num_entry", E2BIG, "Index of deletion too big"},
    {"iptc_insert_entry", ELOOP, "Loop found in table"},
    {"iptc_insert_entry", EINVAL, "Target problem"},
    {"iptc_set_policy", ENOENT, "Bad built-in chain name"},
    {"iptc_set_policy", EINVAL, "Bad policy name"},
    {"", 0, "Incompatible with this kernel"},
    {"", ENOPROTOOPT, "iptables who? (do you need to insmod?)"},
    {"", ENOSYS, "Will be implemented real soon.  I promise ;)"},
    {"", ENOMEM, "Memory allocation problem"},
    {"", ENOENT, "No chain/target/match by that name"},
};

}  // namespace

const char* IptcErrorText(std::string_view op, int err) {
  for (const Meaning& m : kMeanings)
    if (m.err == err && (m.op.empty() || m.op == op)) return m.text;
  // glibc's text for a known errno is a constant string, the same in every thread.
  return std::strerror(err);
}

}  // namespace connlimit::core::legacy
