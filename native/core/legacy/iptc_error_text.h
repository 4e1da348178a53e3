// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <string_view>

namespace connlimit::core::legacy {

// What libiptc means by a failed call's errno, in its own words, from the call's name
// ("iptc_create_chain", as iptc_table.cc names its ops) and the errno alone. libiptc's
// iptc_strerror picks the same words by the last libiptc call made anywhere in the process (a
// global), so a pool thread committing in another namespace could swap them.
const char* IptcErrorText(std::string_view op, int err);

}  // namespace connlimit::core::legacy
