// SPDX-License-Identifier: GPL-2.0-or-later
#include "js/legacy_table.h"

namespace connlimit::js {

void LegacyBackend::ReadOptions(const Napi::Object& o, core::TableTarget& target) {
  target.table = o.Get("table").As<Napi::String>().Utf8Value();
  target.lock_path = o.Get("lockPath").As<Napi::String>().Utf8Value();
  target.lock_timeout_ms = o.Get("lockTimeoutMs").As<Napi::Number>().Int32Value();
}

template class TableWrap<LegacyTable, LegacyBackend>;

}  // namespace connlimit::js
