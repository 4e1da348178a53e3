// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: ipset requests as bytes, attribute for attribute as ipset 7.17 sends them
// (NETFILTER-NOTES.md §11): nfgenmsg family NFPROTO_IPV4 always, PROTOCOL=7 first, the set's
// family in IPSET_ATTR_FAMILY, numbers big-endian with NLA_F_NET_BYTEORDER, DATA and IP
// nested, element attributes in attribute-number order with LINENO last. Tested against
// bytes captured from `ipset` (test/fixtures/ipset).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/ipset/ipset_types.h"

namespace connlimit::core::ipset {

// The protocol version we speak; the kernel also accepts 6 (§11).
constexpr uint8_t kProtocol = IPSET_PROTOCOL;

std::vector<uint8_t> EncodeProtocol(uint32_t seq);
// TYPE query: the kernel's highest revision of `type` for `family`.
std::vector<uint8_t> EncodeTypeQuery(const std::string& type, uint8_t family, uint32_t seq);
std::vector<uint8_t> EncodeCreate(const CreateSpec& spec, uint8_t revision, uint32_t seq);
// One element in one message, as `ipset add|del|test` sends it (LINENO 0 on add and del).
std::vector<uint8_t> EncodeElement(Adt cmd, const std::string& set, const Element& e, bool exist, uint32_t seq);
// Elements [first, end) of `elements`, packed as `ipset restore` packs them: messages of at
// most `max_message` bytes, each {PROTOCOL, SETNAME, LINENO=first line, ADT{DATA{..., LINENO}}},
// the line of element i being i + 1. Appended to `out` (each message 4-byte aligned) with
// sequence numbers seq, seq + 1, ...; returns how many messages, and sets `end` to the
// element after the last one packed (at most `max_bytes` of messages are appended).
size_t AppendElementBatch(std::vector<uint8_t>& out, Adt cmd, const std::string& set, const ElementBatch& elements,
                          size_t first, size_t& end, bool exist, uint32_t seq, size_t max_message, size_t max_bytes);
// DESTROY, FLUSH, RENAME, SWAP: a set name (none: every set, for destroy and flush) and for
// rename and swap the second name. `excl` sets NLM_F_EXCL (destroy without -exist).
std::vector<uint8_t> EncodeNamed(uint8_t cmd, const std::string& name, const std::string& name2, bool excl, uint32_t seq);
// LIST dump of one set (name given; `header_only`: LIST_HEADER, no elements, as `ipset list
// -t`) or of every set's name only (empty name: LIST_SETNAME, as `ipset list -n`).
std::vector<uint8_t> EncodeList(const std::string& name, bool header_only, uint32_t seq);

}  // namespace connlimit::core::ipset
