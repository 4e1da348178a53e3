// SPDX-License-Identifier: GPL-2.0-or-later
// Where a NEWRULE goes: what both nf_tables rule encoders (rule_codec: iptables-nft's form;
// nftables_encoder: nft's own) put beside the rule's expressions.
#pragma once

#include <cstdint>

namespace connlimit::core::nft {

// Where a NEWRULE goes and what it carries beside the rule (kernel attribute names).
struct RulePlacement {
  uint16_t nlm_flags = 0;    // NLM_F_CREATE | NLM_F_APPEND / NLM_F_REPLACE; NLM_F_REQUEST is added
  uint64_t position = 0;     // NFTA_RULE_POSITION (a handle), 0: none
  uint32_t position_id = 0;  // NFTA_RULE_POSITION_ID (a rule added earlier in this batch), 0: none
  uint64_t handle = 0;       // NFTA_RULE_HANDLE (NLM_F_REPLACE), 0: none
  uint32_t id = 0;           // NFTA_RULE_ID, so later ops of the batch can refer to this rule; 0: none
};

}  // namespace connlimit::core::nft
