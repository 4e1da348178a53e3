// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/native/nftables_multiport.h"

#include <arpa/inet.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter/nf_tables.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "core/nft/expr_reader.h"
#include "core/nft/expr_writer.h"
#include "core/nft/nfproto.h"
#include "core/nft/native/nftables_layout.h"

namespace connlimit::core::nft::nftables {
namespace {

// struct xt_multiport_v1 (linux/netfilter/xt_multiport.h), XT_ALIGNed: flags u8 0 (0 source,
// 1 destination, 2 either), count u8 1, ports[15] u16 2 (host order), pflags[15] u8 32 (1: this
// slot and the next are a range), invert u8 47.
constexpr size_t kInfoSize = 48, kPorts = 2, kPflags = 32, kInvert = 47, kSlots = 15;
constexpr uint8_t kSource = 0, kDestination = 1, kEither = 2, kRevision = 1;

// nft's datatype id of inet_service (src/datatype.h TYPE_INET_SERVICE).
constexpr uint32_t kTypeInetService = 13;
// The key's `typeof` (AnonymousSetKey): EXPR_PAYLOAD, then the payload's protocol (nft's enum
// proto_desc_id) and field (the header template's index: sport 1, dport 2 in each of these headers).
constexpr uint32_t kExprPayload = 7;
constexpr uint8_t kPayloadDesc = 0, kPayloadField = 1;
constexpr uint32_t kFieldSport = 1, kFieldDport = 2;

uint32_t ProtoDesc(uint8_t protocol) {
  switch (protocol) {
    case IPPROTO_UDP: return 6;       // PROTO_DESC_UDP
    case IPPROTO_UDPLITE: return 7;   // PROTO_DESC_UDPLITE
    case IPPROTO_TCP: return 8;       // PROTO_DESC_TCP
    case IPPROTO_DCCP: return 9;      // PROTO_DESC_DCCP
    case IPPROTO_SCTP: return 10;     // PROTO_DESC_SCTP
    default: return 0;
  }
}

using SetPtr = std::unique_ptr<struct nftnl_set, void (*)(const struct nftnl_set*)>;
using UdataPtr = std::unique_ptr<struct nftnl_udata_buf, void (*)(const struct nftnl_udata_buf*)>;

// Sorted and without duplicates; in an interval set (a range in the list) overlapping and
// adjacent ranges merged too: what nft sends for the list (`{ 80, 81 }` stays two ports).
std::vector<PortRange> Merged(std::vector<PortRange> v) {
  std::sort(v.begin(), v.end(), [](const PortRange& a, const PortRange& b) { return a.lo < b.lo || (a.lo == b.lo && a.hi < b.hi); });
  bool interval = std::any_of(v.begin(), v.end(), [](const PortRange& r) { return r.lo != r.hi; });
  std::vector<PortRange> out;
  for (const auto& r : v) {
    if (!out.empty() && static_cast<uint32_t>(r.lo) <= static_cast<uint32_t>(out.back().hi) + (interval ? 1 : 0)) {
      out.back().hi = std::max(out.back().hi, r.hi);
      continue;
    }
    out.push_back(r);
  }
  return out;
}

bool IsInterval(const PortList& l) {
  return std::any_of(l.ranges.begin(), l.ranges.end(), [](const PortRange& r) { return r.lo != r.hi; });
}

void PutPort(struct nftnl_set* s, uint16_t port, bool end, bool open = false) {
  struct nftnl_set_elem* el = nftnl_set_elem_alloc();
  uint16_t be = htons(port);
  if (end) nftnl_set_elem_set_u32(el, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
  nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, &be, sizeof be);
  if (open) {  // a range up to 65535 has no end element; nft marks its start so
    UdataPtr ud(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN), nftnl_udata_buf_free);
    nftnl_udata_put_u32(ud.get(), NFTNL_UDATA_SET_ELEM_FLAGS, NFTNL_SET_ELEM_F_INTERVAL_OPEN);
    nftnl_set_elem_set(el, NFTNL_SET_ELEM_USERDATA, nftnl_udata_buf_data(ud.get()), nftnl_udata_buf_len(ud.get()));
  }
  nftnl_set_elem_add(s, el);
}

}  // namespace

bool MultiportProtocol(uint16_t protocol) { return protocol <= 0xFF && ProtoDesc(static_cast<uint8_t>(protocol)) != 0; }

std::optional<Result<PortList>> PortListOf(const OpaqueExtension& x) {
  if (x.name != "multiport" || x.revision != kRevision) return std::nullopt;
  const auto& d = x.data;
  if (d.size() != kInfoSize || d[0] > kEither || d[1] == 0 || d[1] > kSlots || d[kInvert] > 1)
    return Result<PortList>(EncodeError("a multiport match libxt_multiport would not write"));
  if (d[0] == kEither)
    return Result<PortList>(EncodeError("multiport --ports is not available in the native nftables form (no lookup tests either port)"));
  PortList l;
  l.source = d[0] == kSource;
  l.invert = d[kInvert] == 1;
  auto port = [&](size_t i) {
    uint16_t v;
    std::memcpy(&v, d.data() + kPorts + 2 * i, 2);
    return v;
  };
  for (size_t i = 0; i < d[1]; i++) {
    if (d[kPflags + i] == 0) {
      l.ranges.push_back({port(i), port(i)});
      continue;
    }
    if (d[kPflags + i] != 1 || i + 1 >= d[1] || port(i) >= port(i + 1))
      return Result<PortList>(EncodeError("a multiport match libxt_multiport would not write"));
    l.ranges.push_back({port(i), port(i + 1)});
    i++;
  }
  l.ranges = Merged(std::move(l.ranges));
  return Result<PortList>(std::move(l));
}

std::optional<OpaqueExtension> MultiportOf(const PortList& list) {
  OpaqueExtension x;
  x.name = "multiport";
  x.revision = kRevision;
  x.data.assign(kInfoSize, 0);
  x.data[0] = list.source ? kSource : kDestination;
  size_t i = 0;
  for (const auto& r : list.ranges) {
    size_t need = r.lo == r.hi ? 1 : 2;
    if (i + need > kSlots) return std::nullopt;
    std::memcpy(x.data.data() + kPorts + 2 * i, &r.lo, 2);
    if (need == 2) {
      x.data[kPflags + i] = 1;
      std::memcpy(x.data.data() + kPorts + 2 * (i + 1), &r.hi, 2);
    }
    i += need;
  }
  if (i == 0) return std::nullopt;
  x.data[1] = static_cast<uint8_t>(i);
  x.data[kInvert] = list.invert ? 1 : 0;
  return x;
}

Message EncodePortSet(Family family, const std::string& table, const PortList& list, uint8_t protocol, uint32_t id, uint32_t seq) {
  bool interval = IsInterval(list);
  // The elements as nft sends them: an interval set starts with an end element at 0 unless its
  // first range does, and a range up to 65535 has no end element.
  SetPtr elems(nftnl_set_alloc(), nftnl_set_free);
  nftnl_set_set_u32(elems.get(), NFTNL_SET_FAMILY, NfProto(family));
  uint32_t count = 0;
  if (interval && list.ranges.front().lo != 0) {
    PutPort(elems.get(), 0, true);
    count++;
  }
  for (const auto& r : list.ranges) {
    bool open = interval && r.hi == 0xFFFF;
    PutPort(elems.get(), r.lo, false, open);
    count++;
    if (!interval) continue;
    if (open) {
      count++;  // nft counts the end it leaves out in the set's size
      continue;
    }
    PutPort(elems.get(), static_cast<uint16_t>(r.hi + 1), true);
    count++;
  }

  AnonymousSetKey key;
  key.type = kTypeInetService;
  key.len = 2;
  key.byteorder = kByteorderBigEndian;
  key.interval = interval;
  key.typeof_expr = kExprPayload;
  key.typeof_data = [protocol, source = list.source](struct nftnl_udata_buf* ud) {
    nftnl_udata_put_u32(ud, kPayloadDesc, ProtoDesc(protocol));
    nftnl_udata_put_u32(ud, kPayloadField, source ? kFieldSport : kFieldDport);
  };
  return EncodeAnonymousSet(family, table, key, elems.get(), count, id, seq);
}

std::optional<std::vector<PortRange>> PortRangesOf(const std::vector<RawElement>& elements) {
  struct Key {
    uint16_t port;
    bool end;
  };
  std::vector<Key> keys;
  for (const auto& e : elements) {
    if (e.key.size() != 2) return std::nullopt;
    keys.push_back({static_cast<uint16_t>(e.key[0] << 8 | e.key[1]), e.interval_end});
  }
  if (keys.empty()) return std::nullopt;
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) { return a.port < b.port; });
  bool interval = std::any_of(keys.begin(), keys.end(), [](const Key& k) { return k.end; });
  std::vector<PortRange> out;
  if (!interval) {
    for (const auto& k : keys)
      if (out.empty() || out.back().lo != k.port) out.push_back({k.port, k.port});
    return Merged(std::move(out));
  }
  size_t i = 0;
  if (keys[0].end) {  // the end element at 0 nft writes before a set that starts later
    if (keys[0].port != 0) return std::nullopt;
    i = 1;
  }
  for (; i < keys.size(); i += 2) {
    if (keys[i].end) return std::nullopt;
    if (i + 1 == keys.size()) {  // open: up to 65535
      out.push_back({keys[i].port, 0xFFFF});
      break;
    }
    if (!keys[i + 1].end || keys[i + 1].port <= keys[i].port) return std::nullopt;
    out.push_back({keys[i].port, static_cast<uint16_t>(keys[i + 1].port - 1)});
  }
  if (out.empty()) return std::nullopt;
  return out;
}

}  // namespace connlimit::core::nft::nftables
