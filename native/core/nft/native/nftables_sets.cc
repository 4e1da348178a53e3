// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nft/native/nftables_sets.h"

#include <arpa/inet.h>
#include <endian.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string_view>

#include "core/nft/nfproto.h"

namespace connlimit::core::nft {
namespace {

using SetPtr = std::unique_ptr<struct nftnl_set, void (*)(const struct nftnl_set*)>;
using UdataPtr = std::unique_ptr<struct nftnl_udata_buf, void (*)(const struct nftnl_udata_buf*)>;

// nft's datatype ids (src/datatype.h) and how it concatenates them (concat_type_alloc: each
// field's id shifted in by TYPE_BITS 6): ipv4_addr . inet_proto . inet_service [. ipv4_addr],
// ipv4_addr . ifname.
constexpr uint32_t kTypeIpAddr = 7, kTypeIp6Addr = 8, kTypeInetProto = 12, kTypeInetService = 13, kTypeIfname = 41;
constexpr uint32_t kTypeBits = 6;
// An ifname field: IFNAMSIZ bytes, the name NUL-padded.
constexpr uint32_t kIfnameBytes = 16;
// nft keeps the key's byte order in the set's userdata (BYTEORDER_BIG_ENDIAN 2).
constexpr uint32_t kByteorderBigEndian = 2;
// What nft 1.0.6 writes after the byte order of a concatenated set type (`A . B . C`, `A . ifname`
// alike): a KEY_TYPEOF-numbered record of its own concat description (TLV 0 holding the id 13,
// then an empty TLV 1). Kept byte for byte so our set is the one `nft add set` makes (test 26).
constexpr uint8_t kConcatUdata[] = {0x00, 0x04, 0x0d, 0x00, 0x00, 0x00, 0x01, 0x00};
// A connlimit rule's own set, "connlimit" and digits (nftables_codec.h: kConnlimitSetPattern);
// never listed as a client set.
bool IsRuleSetName(const std::string& name) {
  constexpr std::string_view kPrefix = "connlimit";
  return name.size() > kPrefix.size() && name.compare(0, kPrefix.size(), kPrefix) == 0 &&
         std::all_of(name.begin() + kPrefix.size(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The ipset types by how nf_tables keys them. kConcatInterval (hash:net,port) and kNetIface
// (hash:net,iface) are concatenations with `flags interval` (the kernel's pipapo backend), each
// element one start key and its last key (NFTA_SET_ELEM_KEY_END), as nft sends it; kIpPortIp
// (hash:ip,port,ip) a plain concatenation of four fields.
enum class Shape { kAddr, kInterval, kConcat, kConcatInterval, kIpPortIp, kNetIface };

Shape ShapeOf(const std::string& type) {
  if (type == "hash:net") return Shape::kInterval;
  if (type == "hash:ip,port") return Shape::kConcat;
  if (type == "hash:net,port") return Shape::kConcatInterval;
  if (type == "hash:ip,port,ip") return Shape::kIpPortIp;
  if (type == "hash:net,iface") return Shape::kNetIface;
  return Shape::kAddr;
}

const char* TypeName(Shape shape) {
  switch (shape) {
    case Shape::kInterval: return "hash:net";
    case Shape::kConcat: return "hash:ip,port";
    case Shape::kConcatInterval: return "hash:net,port";
    case Shape::kIpPortIp: return "hash:ip,port,ip";
    case Shape::kNetIface: return "hash:net,iface";
    case Shape::kAddr: break;
  }
  return "hash:ip";
}

bool IsConcat(Shape shape) { return shape != Shape::kAddr && shape != Shape::kInterval; }
// A concatenation whose elements carry a key end (NFT_SET_CONCAT, pipapo).
bool IsConcatInterval(Shape shape) { return shape == Shape::kConcatInterval || shape == Shape::kNetIface; }
bool HasPort(Shape shape) { return shape == Shape::kConcat || shape == Shape::kConcatInterval || shape == Shape::kIpPortIp; }

uint32_t AddrBytes(Family f) { return f == Family::kIpv4 ? 4 : 16; }

uint32_t KeyLen(Shape shape, Family f) {
  uint32_t n = AddrBytes(f);
  if (HasPort(shape)) n += 8;  // inet_proto and inet_service, each padded to 4 bytes
  if (shape == Shape::kIpPortIp) n += AddrBytes(f);
  if (shape == Shape::kNetIface) n += kIfnameBytes;
  return n;
}

uint32_t KeyType(Shape shape, Family f) {
  uint32_t addr = f == Family::kIpv4 ? kTypeIpAddr : kTypeIp6Addr;
  uint32_t type = addr;
  if (HasPort(shape)) type = (((type << kTypeBits) | kTypeInetProto) << kTypeBits) | kTypeInetService;
  if (shape == Shape::kIpPortIp) type = (type << kTypeBits) | addr;
  if (shape == Shape::kNetIface) type = (type << kTypeBits) | kTypeIfname;
  return type;
}

Message Finish(struct nlmsghdr* nlh, const MessageRoom& buf) { return buf.Take(nlh); }

SetPtr NewSet(Family family, const std::string& table, const std::string& name) {
  SetPtr s(nftnl_set_alloc(), nftnl_set_free);
  nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, NfProto(family));
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, table.c_str());
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, name.c_str());
  return s;
}

// The key of an element: the address, then (concatenations) proto . port with each field in 4
// bytes, the second address, or the interface name NUL-padded to 16 bytes.
std::vector<uint8_t> KeyOf(Shape shape, Family f, const ipset::Element& e) {
  std::vector<uint8_t> key(e.addr.begin(), e.addr.begin() + AddrBytes(f));
  if (HasPort(shape)) {
    uint8_t proto[4] = {e.proto, 0, 0, 0};
    uint16_t port = htons(e.port.value_or(0));
    uint8_t service[4] = {};
    std::memcpy(service, &port, 2);
    key.insert(key.end(), proto, proto + 4);
    key.insert(key.end(), service, service + 4);
  }
  if (shape == Shape::kIpPortIp) {
    std::array<uint8_t, 16> addr2 = e.addr2.value_or(std::array<uint8_t, 16>{});
    key.insert(key.end(), addr2.begin(), addr2.begin() + AddrBytes(f));
  }
  if (shape == Shape::kNetIface) {
    uint8_t name[kIfnameBytes] = {};
    std::memcpy(name, e.iface.value_or("").data(), std::min<size_t>(e.iface.value_or("").size(), kIfnameBytes - 1));
    key.insert(key.end(), name, name + kIfnameBytes);
  }
  return key;
}

// The last address of a/len in the first `addr_bytes` of `start` (the rest, a concatenation's
// proto and port or interface, kept): the key end of a hash:net,port or hash:net,iface element.
std::vector<uint8_t> LastOf(const std::vector<uint8_t>& start, size_t addr_bytes, int len) {
  std::vector<uint8_t> last = start;
  int bits = static_cast<int>(addr_bytes) * 8;
  for (int i = len; i < bits; i++) last[i / 8] |= static_cast<uint8_t>(0x80 >> (i % 8));
  return last;
}

// The first address after a/len (the interval's end element), or nullopt when a/len reaches
// the top of the address space (nft sends no end element then).
std::optional<std::vector<uint8_t>> EndOf(const std::vector<uint8_t>& start, int len) {
  std::vector<uint8_t> end = LastOf(start, start.size(), len);
  for (int i = static_cast<int>(end.size()) - 1; i >= 0; i--)
    if (++end[i] != 0) return end;
  return std::nullopt;
}

void PutElement(struct nftnl_set* s, const std::vector<uint8_t>& key, bool end, const ipset::Element* with,
                const std::vector<uint8_t>* key_end = nullptr) {
  struct nftnl_set_elem* el = nftnl_set_elem_alloc();
  if (with && with->timeout) nftnl_set_elem_set_u64(el, NFTNL_SET_ELEM_TIMEOUT, static_cast<uint64_t>(*with->timeout) * 1000);
  if (end) nftnl_set_elem_set_u32(el, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
  nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, key.data(), static_cast<uint32_t>(key.size()));
  if (key_end) nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY_END, key_end->data(), static_cast<uint32_t>(key_end->size()));
  if (with && with->comment) {
    UdataPtr ud(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN), nftnl_udata_buf_free);
    nftnl_udata_put_strz(ud.get(), NFTNL_UDATA_SET_ELEM_COMMENT, with->comment->c_str());
    nftnl_set_elem_set(el, NFTNL_SET_ELEM_USERDATA, nftnl_udata_buf_data(ud.get()), nftnl_udata_buf_len(ud.get()));
  }
  nftnl_set_elem_add(s, el);
}

// The prefix length of [start, last] in the first `addr_bytes`: the size of the range is a power
// of two for every entry we write, so it is where last stops agreeing with start.
int PrefixLenTo(const std::vector<uint8_t>& start, const std::vector<uint8_t>& last, size_t addr_bytes) {
  int bits = static_cast<int>(addr_bytes) * 8;
  for (int i = 0; i < bits; i++) {
    uint8_t m = static_cast<uint8_t>(0x80 >> (i % 8));
    if ((start[i / 8] & m) != (last[i / 8] & m)) return i;
  }
  return bits;
}

int PrefixLen(const std::vector<uint8_t>& start, const std::optional<std::vector<uint8_t>>& end) {
  // [start, end): the last address is end - 1, or the top of the space without an end.
  std::vector<uint8_t> last(start.size(), 0xff);
  if (end) {
    last = *end;
    for (int i = static_cast<int>(last.size()) - 1; i >= 0; i--)
      if (last[i]-- != 0) break;
  }
  return PrefixLenTo(start, last, start.size());
}

}  // namespace

Message EncodeNamedSet(Family family, const std::string& table, const ipset::CreateSpec& spec, uint32_t seq) {
  Shape shape = ShapeOf(spec.type);
  SetPtr s = NewSet(family, table, spec.name);
  uint32_t flags = (shape == Shape::kInterval || IsConcatInterval(shape) ? NFT_SET_INTERVAL : 0) |
                   (IsConcatInterval(shape) ? NFT_SET_CONCAT : 0) | (spec.timeout ? NFT_SET_TIMEOUT : 0);
  nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS, flags);
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, KeyType(shape, family));
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, KeyLen(shape, family));
  // nft numbers the sets of its batch from 1; the kernel finds a set by name before the id.
  nftnl_set_set_u32(s.get(), NFTNL_SET_ID, 1);
  if (spec.maxelem) nftnl_set_set_u32(s.get(), NFTNL_SET_DESC_SIZE, *spec.maxelem);
  if (shape == Shape::kConcatInterval) {
    // The fields' own lengths (address, inet_proto 1, inet_service 2): pipapo matches field by field.
    uint8_t fields[] = {static_cast<uint8_t>(AddrBytes(family)), 1, 2};
    nftnl_set_set_data(s.get(), NFTNL_SET_DESC_CONCAT, fields, sizeof fields);
  }
  if (shape == Shape::kNetIface) {
    uint8_t fields[] = {static_cast<uint8_t>(AddrBytes(family)), kIfnameBytes};
    nftnl_set_set_data(s.get(), NFTNL_SET_DESC_CONCAT, fields, sizeof fields);
  }
  if (spec.timeout && *spec.timeout) nftnl_set_set_u64(s.get(), NFTNL_SET_TIMEOUT, static_cast<uint64_t>(*spec.timeout) * 1000);
  UdataPtr ud(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN), nftnl_udata_buf_free);
  nftnl_udata_put_u32(ud.get(), NFTNL_UDATA_SET_KEYBYTEORDER, IsConcat(shape) ? 0 : kByteorderBigEndian);
  if (IsConcat(shape)) nftnl_udata_put(ud.get(), NFTNL_UDATA_SET_KEY_TYPEOF, sizeof kConcatUdata, kConcatUdata);
  nftnl_set_set_data(s.get(), NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud.get()), nftnl_udata_buf_len(ud.get()));
  if (spec.counters) nftnl_set_add_expr(s.get(), nftnl_expr_alloc("counter"));
  MessageRoom buf(MNL_SOCKET_BUFFER_SIZE);
  uint16_t nl_flags = NLM_F_CREATE | (spec.exist ? 0 : NLM_F_EXCL);
  auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), NFT_MSG_NEWSET, NfProto(family), nl_flags, seq);
  nftnl_set_nlmsg_build_payload(nlh, s.get());
  return Finish(nlh, buf);
}

Message EncodeDestroySet(Family family, const std::string& table, const std::string& set, uint32_t seq) {
  SetPtr s = NewSet(family, table, set);
  MessageRoom buf(MNL_SOCKET_BUFFER_SIZE);
  auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), NFT_MSG_DELSET, NfProto(family), 0, seq);
  nftnl_set_nlmsg_build_payload(nlh, s.get());
  return Finish(nlh, buf);
}

Message EncodeFlushSet(Family family, const std::string& table, const std::string& set, uint32_t seq) {
  SetPtr s = NewSet(family, table, set);
  MessageRoom buf(MNL_SOCKET_BUFFER_SIZE);
  auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), NFT_MSG_DELSETELEM, NfProto(family), 0, seq);
  nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
  return Finish(nlh, buf);
}

namespace {

uint16_t ElemMessageType(ElemCmd cmd) {
  return cmd == ElemCmd::kAdd ? NFT_MSG_NEWSETELEM : cmd == ElemCmd::kDelete ? NFT_MSG_DELSETELEM : NFT_MSG_GETSETELEM;
}

uint16_t ElemMessageFlags(ElemCmd cmd, bool exist) {
  return cmd == ElemCmd::kAdd ? (NLM_F_CREATE | (exist ? 0 : NLM_F_EXCL)) : cmd == ElemCmd::kGet ? NLM_F_ACK : 0;
}

}  // namespace

Message EncodeSetElements(ElemCmd cmd, Family family, const std::string& table, const std::string& set,
                          const std::string& type, const std::vector<ipset::Element>& elements, size_t first, size_t count,
                          bool exist, uint32_t seq) {
  Shape shape = ShapeOf(type);
  // The table and set names go first, table before set, as nft writes them (libnftnl would
  // put the set first): so the set carries only the family and the elements.
  SetPtr s(nftnl_set_alloc(), nftnl_set_free);
  nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, NfProto(family));
  for (size_t i = first; i < first + count && i < elements.size(); i++) {
    const auto& e = elements[i];
    auto key = KeyOf(shape, family, e);
    const ipset::Element* with = cmd == ElemCmd::kAdd ? &e : nullptr;
    // hash:net,port and hash:net,iface: one element carrying its last key; a test asks for
    // the start alone.
    if (IsConcatInterval(shape) && cmd != ElemCmd::kGet) {
      auto last = LastOf(key, AddrBytes(family), e.cidr.value_or(static_cast<uint8_t>(AddrBytes(family) * 8)));
      // ipset's wildcard, nft's "eth*": every name that starts with it, up to the 0xff-padded last one.
      if (shape == Shape::kNetIface && e.wildcard) std::fill(last.begin() + AddrBytes(family) + e.iface.value_or("").size(), last.end(), 0xff);
      PutElement(s.get(), key, false, with, &last);
      continue;
    }
    PutElement(s.get(), key, false, with);
    // A test asks for the interval holding the address: the start element alone.
    if (shape == Shape::kInterval && cmd != ElemCmd::kGet) {
      auto end = EndOf(key, e.cidr.value_or(static_cast<uint8_t>(key.size() * 8)));
      if (end) PutElement(s.get(), *end, true, nullptr);
    }
  }
  // Room for the headers and names, and the elements this message holds (at most `count`) of
  // at most a 36-byte key, an end element, a timeout and a 255-byte comment with their headers
  // (~400 bytes each): one add clears about 1.4 KiB. Sized by `count` itself, a lone add (asked
  // with kElementsPerMessage) cleared 52 KiB, 13 pages write-faulted a call after a fork.
  size_t held = first < elements.size() ? std::min(count, elements.size() - first) : 0;
  MessageRoom buf(1024 + table.size() + set.size() + 400 * held);
  auto* nlh =
      nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), ElemMessageType(cmd), NfProto(family), ElemMessageFlags(cmd, exist), seq);
  mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table.c_str());
  mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set.c_str());
  nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
  return Finish(nlh, buf);
}

void AppendSetElement(Message& body, ElemCmd cmd, Family family, const std::string& table, const std::string& set,
                      const std::string& type, const ipset::Element& e, bool exist, uint32_t seq) {
  size_t at = body.size();
  if (cmd == ElemCmd::kGet || family != Family::kIpv4 || ShapeOf(type) != Shape::kAddr || e.comment) {
    Message m = EncodeSetElements(cmd, family, table, set, type, {e}, 0, 1, exist, seq);
    body.resize(at + MNL_ALIGN(m.size()));
    std::memcpy(body.data() + at, m.data(), m.size());
    return;
  }
  // The attributes libnftnl writes for it, in its order: table, set, then the element list
  // (nftnl_set_elems_nlmsg_build_payload numbers the elements from 1, NFTA_LIST_ELEM for the
  // one) holding the timeout and the key. Zeroed room: the padding goes out as zeros.
  body.resize(at + 128 + MNL_ALIGN(table.size() + 1) + MNL_ALIGN(set.size() + 1));
  auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(body.data() + at), ElemMessageType(cmd), NfProto(family),
                                    ElemMessageFlags(cmd, exist), seq);
  mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table.c_str());
  mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set.c_str());
  struct nlattr* list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
  struct nlattr* element = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
  if (cmd == ElemCmd::kAdd && e.timeout) mnl_attr_put_u64(nlh, NFTA_SET_ELEM_TIMEOUT, htobe64(static_cast<uint64_t>(*e.timeout) * 1000));
  struct nlattr* key = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
  mnl_attr_put(nlh, NFTA_DATA_VALUE, 4, e.addr.data());
  mnl_attr_nest_end(nlh, key);
  mnl_attr_nest_end(nlh, element);
  mnl_attr_nest_end(nlh, list);
  body.resize(at + MNL_ALIGN(nlh->nlmsg_len));
}

Result<std::optional<ipset::SetHeader>> DecodeNamedSet(Family family, const uint8_t* msg, size_t len) {
  SetPtr s(nftnl_set_alloc(), nftnl_set_free);
  const auto* nlh = reinterpret_cast<const struct nlmsghdr*>(msg);
  if (len < sizeof(struct nlmsghdr) || nftnl_set_nlmsg_parse(nlh, s.get()) < 0)
    return KernelError{"nft list set", EBADMSG, "a set message that does not parse", -1, ErrorKind::kMalformed};
  ipset::SetHeader h;
  h.name = nftnl_set_get_str(s.get(), NFTNL_SET_NAME);
  uint32_t flags = nftnl_set_get_u32(s.get(), NFTNL_SET_FLAGS);
  if (IsRuleSetName(h.name) || (flags & (NFT_SET_ANONYMOUS | NFT_SET_MAP | NFT_SET_OBJECT))) return std::optional<ipset::SetHeader>();
  uint32_t key_type = nftnl_set_get_u32(s.get(), NFTNL_SET_KEY_TYPE);
  bool interval = flags & NFT_SET_INTERVAL;
  // The type whose key type and interval flag the set has; none: not a set we model.
  std::optional<Shape> shape;
  for (Shape s : {Shape::kAddr, Shape::kInterval, Shape::kConcat, Shape::kConcatInterval, Shape::kIpPortIp, Shape::kNetIface}) {
    bool s_interval = s == Shape::kInterval || IsConcatInterval(s);
    if (KeyType(s, family) == key_type && s_interval == interval) shape = s;
  }
  if (!shape) return std::optional<ipset::SetHeader>();
  h.type = TypeName(*shape);
  h.family = family == Family::kIpv4 ? ipset::kNfprotoIpv4 : ipset::kNfprotoIpv6;
  if (nftnl_set_is_set(s.get(), NFTNL_SET_DESC_SIZE)) h.maxelem = nftnl_set_get_u32(s.get(), NFTNL_SET_DESC_SIZE);
  if (flags & NFT_SET_TIMEOUT)
    h.timeout = nftnl_set_is_set(s.get(), NFTNL_SET_TIMEOUT) ? static_cast<uint32_t>(nftnl_set_get_u64(s.get(), NFTNL_SET_TIMEOUT) / 1000) : 0;
  if (nftnl_set_is_set(s.get(), NFTNL_SET_EXPR) || nftnl_set_is_set(s.get(), NFTNL_SET_EXPRESSIONS)) h.cadt_flags |= IPSET_FLAG_WITH_COUNTERS;
  h.cadt_flags |= IPSET_FLAG_WITH_COMMENT;  // any nf_tables element may carry a comment
  return std::optional<ipset::SetHeader>(std::move(h));
}

Result<Unit> DecodeSetElements(const uint8_t* msg, size_t len, std::vector<RawElement>& out) {
  SetPtr s(nftnl_set_alloc(), nftnl_set_free);
  const auto* nlh = reinterpret_cast<const struct nlmsghdr*>(msg);
  if (len < sizeof(struct nlmsghdr) || nftnl_set_elems_nlmsg_parse(nlh, s.get()) < 0)
    return KernelError{"nft list set", EBADMSG, "an element message that does not parse", -1, ErrorKind::kMalformed};
  std::unique_ptr<struct nftnl_set_elems_iter, void (*)(struct nftnl_set_elems_iter*)> it(nftnl_set_elems_iter_create(s.get()),
                                                                                         nftnl_set_elems_iter_destroy);
  for (struct nftnl_set_elem* el = nftnl_set_elems_iter_next(it.get()); el; el = nftnl_set_elems_iter_next(it.get())) {
    RawElement r;
    uint32_t klen = 0;
    const auto* key = static_cast<const uint8_t*>(nftnl_set_elem_get(el, NFTNL_SET_ELEM_KEY, &klen));
    if (key) r.key.assign(key, key + klen);
    const auto* key_end = static_cast<const uint8_t*>(nftnl_set_elem_get(el, NFTNL_SET_ELEM_KEY_END, &klen));
    if (key_end) r.key_end = std::vector<uint8_t>(key_end, key_end + klen);
    if (nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_FLAGS)) r.interval_end = nftnl_set_elem_get_u32(el, NFTNL_SET_ELEM_FLAGS) & NFT_SET_ELEM_INTERVAL_END;
    if (nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_TIMEOUT)) r.timeout_ms = nftnl_set_elem_get_u64(el, NFTNL_SET_ELEM_TIMEOUT);
    if (nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_EXPIRATION)) r.expiration_ms = nftnl_set_elem_get_u64(el, NFTNL_SET_ELEM_EXPIRATION);
    nftnl_set_elem_expr_foreach(
        el,
        [](struct nftnl_expr* e, void* data) -> int {
          auto* raw = static_cast<RawElement*>(data);
          if (std::strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "counter") == 0) {
            raw->packets = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
            raw->bytes = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
          }
          return 0;
        },
        &r);
    uint32_t ulen = 0;
    const auto* ud = static_cast<const char*>(nftnl_set_elem_get(el, NFTNL_SET_ELEM_USERDATA, &ulen));
    // The comment TLV nft writes: type NFTNL_UDATA_SET_ELEM_COMMENT, length, the text with its NUL.
    for (uint32_t at = 0; ud && at + 2 <= ulen;) {
      uint8_t t = static_cast<uint8_t>(ud[at]), l = static_cast<uint8_t>(ud[at + 1]);
      if (at + 2 + l > ulen) break;
      if (t == NFTNL_UDATA_SET_ELEM_COMMENT && l > 0) r.comment = std::string(ud + at + 2, strnlen(ud + at + 2, l));
      at += 2 + l;
    }
    out.push_back(std::move(r));
  }
  return Unit{};
}

ElementReader::ElementReader(ipset::SetHeader header)
    : header_(std::move(header)),
      family_(header_.family == ipset::kNfprotoIpv4 ? Family::kIpv4 : Family::kIpv6),
      shape_(static_cast<uint8_t>(ShapeOf(header_.type))) {}

void ElementReader::Feed(const RawElement& r, std::vector<ipset::Element>& out) {
  Shape shape = static_cast<Shape>(shape_);
  size_t abytes = AddrBytes(family_);
  if (shape == Shape::kInterval && r.interval_end) {
    pending_end_ = r.key;
    return;
  }
  if (r.key.size() != KeyLen(shape, family_)) return;
  ipset::Element e;
  e.family = header_.family;
  std::copy(r.key.begin(), r.key.begin() + abytes, e.addr.begin());
  if (header_.timeout) {
    // Seconds left, as ipset shows them; 0 for an element that never expires.
    e.timeout = r.expiration_ms ? static_cast<uint32_t>(*r.expiration_ms / 1000) : 0;
  }
  e.packets = r.packets;
  e.bytes = r.bytes;
  e.comment = r.comment;
  if (HasPort(shape)) {
    e.proto = r.key[abytes];
    uint16_t port;
    std::memcpy(&port, r.key.data() + abytes + 4, 2);
    e.port = ntohs(port);
  }
  if (shape == Shape::kIpPortIp) {
    e.addr2.emplace();
    std::copy(r.key.begin() + abytes + 8, r.key.begin() + 2 * abytes + 8, e.addr2->begin());
  }
  if (shape == Shape::kNetIface) {
    const char* name = reinterpret_cast<const char*>(r.key.data() + abytes);
    e.iface = std::string(name, strnlen(name, kIfnameBytes));
    // A name prefix ("eth*") ends at the name padded with 0xff; an exact name ends at itself.
    if (r.key_end && r.key_end->size() == r.key.size())
      e.wildcard = std::all_of(r.key_end->begin() + abytes + e.iface->size(), r.key_end->end(), [](uint8_t b) { return b == 0xff; });
  }
  if (IsConcatInterval(shape))
    e.cidr = static_cast<uint8_t>(r.key_end && r.key_end->size() == r.key.size() ? PrefixLenTo(r.key, *r.key_end, abytes) : abytes * 8);
  if (shape == Shape::kInterval) {
    // The end read just before this start is its own; none (or one not after it): the
    // interval reaches the top of the address space.
    std::optional<std::vector<uint8_t>> end;
    if (pending_end_ && *pending_end_ > r.key) end = std::move(pending_end_);
    pending_end_.reset();
    e.cidr = static_cast<uint8_t>(PrefixLen(r.key, end));
  }
  out.push_back(std::move(e));
}

std::vector<ipset::Element> ElementsOf(const ipset::SetHeader& header, std::vector<RawElement> raw) {
  // The rbtree's order, whatever order the elements came in: keys descending, a start before
  // the end element of the interval below it that shares its key.
  std::sort(raw.begin(), raw.end(), [](const RawElement& a, const RawElement& b) {
    if (a.key != b.key) return a.key > b.key;
    return !a.interval_end && b.interval_end;
  });
  ElementReader reader(header);
  std::vector<ipset::Element> out;
  for (const auto& r : raw) reader.Feed(r, out);
  return out;
}

}  // namespace connlimit::core::nft
