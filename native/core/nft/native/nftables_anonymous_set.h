// SPDX-License-Identifier: GPL-2.0-or-later
// Pure, internal to the native nftables form: what every anonymous set a rule looks up shares,
// whatever its key (a multiport list's ports, nftables_multiport.h; several weekdays,
// xlate_time.cc). nft sends such a set as NEWSET `__set%d` (flags anonymous|constant) and
// NEWSETELEM before the rule, in the rule's batch, and the rule's `lookup` names it by
// NFTA_SET_ID (NFT_LOOKUP_F_INV for `!=`); the kernel binds the set to the rule, numbers it
// (`__set0`) and deletes it with the rule. Reading back, the lookup's elements come from the
// batch (by id) or from a GETSETELEM dump of the named set (by name).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/nft/expr_reader.h"
#include "core/nft/message.h"
#include "core/nft/native/nftables_sets.h"
#include "core/result.h"
#include "core/rule_spec.h"

struct nftnl_rule;
struct nftnl_set;
struct nftnl_udata_buf;
struct nlmsghdr;

namespace connlimit::core::nft::nftables {

// The name the rule's lookup gives the set before the kernel numbers it.
inline constexpr const char* kAnonymousSetPattern = "__set%d";

// A rule's anonymous sets, each with an id of its own in the batch.
inline constexpr size_t kAnonymousSetsPerRule = 16;

// NEWSET + NEWSETELEM of one anonymous set in `table`, with set id `id`: built once the rule's
// table and the set's id are known.
using AnonymousSetBuilder = std::function<Message(Family family, const std::string& table, uint32_t id, uint32_t seq)>;

// What tells one anonymous set's key from another's, as nft sends it: its datatype (nft's
// src/datatype.h id) and length, the byte order nft keeps in the set's userdata, whether the set
// is an interval set (nft then adds its merge flag to the userdata), and the key's `typeof`
// (NFTNL_UDATA_SET_KEY_TYPEOF: the expression type, then what `typeof_data` writes in the
// nested data: a payload's protocol and field, a meta key).
struct AnonymousSetKey {
  uint32_t type = 0;
  uint32_t len = 0;
  uint32_t byteorder = 0;
  bool interval = false;
  uint32_t typeof_expr = 0;
  std::function<void(struct nftnl_udata_buf*)> typeof_data;
};

// NEWSET `__set%d` (flags anonymous|constant, and interval) + NEWSETELEM of the elements held
// by `elems` (a libnftnl set of the family, holding only elements), in `table` with set id `id`:
// the one framing every anonymous set shares. `size` is the set's size as nft counts it.
Message EncodeAnonymousSet(Family family, const std::string& table, const AnonymousSetKey& key, struct nftnl_set* elems, uint32_t size, uint32_t id,
                           uint32_t seq);

// `lookup` of the anonymous set with id `id` in register 1 (`!=` when `invert`).
void AddAnonymousLookup(struct nftnl_rule* r, uint32_t id, bool invert);

// The elements of the anonymous set the `lookup` k names (no data register, no flag but
// NFT_LOOKUP_F_INV, which `invert` gets); nullptr when unknown or not such a lookup.
const std::vector<RawElement>* LookupElements(const Expr& k, const AnonymousSetElements& sets, bool* invert);

// The message `nlh` appended to `out` (its nlmsg_len bytes).
void AppendMessage(Message* out, const struct nlmsghdr* nlh);

// The set a NEWSETELEM message (a batch's, or a GETSETELEM dump's reply) fills: its name and
// its NFTA_SET_ELEM_LIST_SET_ID (0: none), and the elements appended to `out`.
Result<Unit> ReadElementMessage(const uint8_t* msg, size_t len, std::string* set, uint32_t* id, std::vector<RawElement>* out);

}  // namespace connlimit::core::nft::nftables
