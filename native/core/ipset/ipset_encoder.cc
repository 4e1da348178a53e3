// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/ipset/ipset_encoder.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>

#include <algorithm>
#include <cstring>

#include "core/nfnl_header.h"

namespace connlimit::core::ipset {

namespace {

// Any single request but a batch fits: names, a 255-byte comment and a few numbers.
constexpr size_t kMaxRequest = 1024;
constexpr uint16_t kNbo = NLA_F_NET_BYTEORDER;

nlmsghdr* PutHeader(uint8_t* buf, uint8_t cmd, uint16_t flags, uint32_t seq) {
  // Always NFPROTO_IPV4, inet6 sets too: the kernel reads the family from IPSET_ATTR_FAMILY.
  nlmsghdr* nlh = PutNfnlHeader(buf, (NFNL_SUBSYS_IPSET << 8) | cmd, flags, seq, kNfprotoIpv4);
  mnl_attr_put_u8(nlh, IPSET_ATTR_PROTOCOL, kProtocol);
  return nlh;
}

std::vector<uint8_t> Bytes(const uint8_t* buf, const nlmsghdr* nlh) { return {buf, buf + nlh->nlmsg_len}; }

void PutBe32(nlmsghdr* nlh, uint16_t type, uint32_t v) { mnl_attr_put_u32(nlh, type | kNbo, htonl(v)); }

void PutAddress(nlmsghdr* nlh, uint16_t type, uint8_t family, const std::array<uint8_t, 16>& addr) {
  nlattr* ip = mnl_attr_nest_start(nlh, type);
  if (family == kNfprotoIpv6)
    mnl_attr_put(nlh, IPSET_ATTR_IPADDR_IPV6 | kNbo, 16, addr.data());
  else
    mnl_attr_put(nlh, IPSET_ATTR_IPADDR_IPV4 | kNbo, 4, addr.data());
  mnl_attr_nest_end(nlh, ip);
}

// The element's DATA attributes in attribute-number order (IP, CIDR, PORT, TIMEOUT, PROTO,
// CADT_FLAGS, IP2, IFACE, COMMENT), as ipset 7.17 emits them; the caller adds LINENO.
void PutElementData(nlmsghdr* nlh, const Element& e) {
  PutAddress(nlh, IPSET_ATTR_IP, e.family, e.addr);
  if (e.cidr) mnl_attr_put_u8(nlh, IPSET_ATTR_CIDR, *e.cidr);
  if (e.port) mnl_attr_put_u16(nlh, IPSET_ATTR_PORT | kNbo, htons(*e.port));
  if (e.timeout) PutBe32(nlh, IPSET_ATTR_TIMEOUT, *e.timeout);
  if (e.port) mnl_attr_put_u8(nlh, IPSET_ATTR_PROTO, e.proto);
  uint32_t cadt = (e.physdev ? IPSET_FLAG_PHYSDEV : 0) | (e.nomatch ? IPSET_FLAG_NOMATCH : 0) | (e.wildcard ? IPSET_FLAG_IFACE_WILDCARD : 0);
  if (cadt) PutBe32(nlh, IPSET_ATTR_CADT_FLAGS, cadt);
  if (e.addr2) PutAddress(nlh, IPSET_ATTR_IP2, e.family, *e.addr2);
  if (e.iface) mnl_attr_put_strz(nlh, IPSET_ATTR_IFACE, e.iface->c_str());
  if (e.comment) mnl_attr_put_strz(nlh, IPSET_ATTR_COMMENT, e.comment->c_str());
}

uint16_t AdtFlags(Adt cmd, bool exist) {
  uint16_t flags = NLM_F_REQUEST | NLM_F_ACK;
  // `-exist` is only NLM_F_EXCL cleared; test never sets it.
  if (cmd != Adt::kTest && !exist) flags |= NLM_F_EXCL;
  return flags;
}

// What one element adds to a batch message, so a message is closed before it overflows.
size_t ElementBytes(const Element& e) {
  size_t n = 4 /* DATA */ + 4 /* IP */ + 4 + (e.family == kNfprotoIpv6 ? 16 : 4) + 8 /* LINENO */;
  if (e.cidr) n += 8;
  if (e.port) n += 8 + 8;
  if (e.timeout) n += 8;
  if (e.physdev || e.wildcard || e.nomatch) n += 8;
  if (e.addr2) n += 4 + 4 + (e.family == kNfprotoIpv6 ? 16 : 4);
  if (e.iface) n += MNL_ALIGN(4 + e.iface->size() + 1);
  if (e.comment) n += MNL_ALIGN(4 + e.comment->size() + 1);
  return n;
}

constexpr size_t kPlainBytes = 4 /* DATA */ + 12 /* IP{IPV4} */ + 8 /* LINENO */;

size_t EntryBytes(const ElementBatch& b, const BatchEntry& e) {
  if (e.flags & BatchEntry::kFull) return ElementBytes(b.full[e.full]);
  return kPlainBytes + (e.flags & BatchEntry::kTimeout ? 8 : 0) + (e.flags & BatchEntry::kNomatch ? 8 : 0);
}

uint8_t* PutAttrHeader(uint8_t* p, uint16_t type, uint16_t len) {
  nlattr a{len, type};
  std::memcpy(p, &a, sizeof(a));
  return p + sizeof(a);
}

uint8_t* PutBe32At(uint8_t* p, uint16_t type, uint32_t v) {
  p = PutAttrHeader(p, type | kNbo, 8);
  v = htonl(v);
  std::memcpy(p, &v, 4);
  return p + 4;
}

// A plain entry's DATA nest, byte for byte what PutElementData and LINENO write for the same
// Element (mnl_attr_nest_start sets NLA_F_NESTED; every attribute here is 4-byte aligned, so
// there is no padding to zero), written with stores instead of a libmnl call per attribute.
// Test 48 compares the two encodings.
void PutPlainData(nlmsghdr* nlh, const BatchEntry& e, uint32_t lineno) {
  uint8_t* start = reinterpret_cast<uint8_t*>(nlh) + nlh->nlmsg_len;
  uint8_t* p = start + sizeof(nlattr);
  p = PutAttrHeader(p, IPSET_ATTR_IP | NLA_F_NESTED, 12);
  p = PutAttrHeader(p, IPSET_ATTR_IPADDR_IPV4 | kNbo, 8);
  std::memcpy(p, e.addr.data(), 4);
  p += 4;
  if (e.flags & BatchEntry::kTimeout) p = PutBe32At(p, IPSET_ATTR_TIMEOUT, e.timeout);
  if (e.flags & BatchEntry::kNomatch) p = PutBe32At(p, IPSET_ATTR_CADT_FLAGS, IPSET_FLAG_NOMATCH);
  p = PutBe32At(p, IPSET_ATTR_LINENO, lineno);
  PutAttrHeader(start, IPSET_ATTR_DATA | NLA_F_NESTED, static_cast<uint16_t>(p - start));
  nlh->nlmsg_len += static_cast<uint32_t>(p - start);
}

}  // namespace

std::vector<uint8_t> EncodeProtocol(uint32_t seq) {
  uint8_t buf[kMaxRequest] = {};  // zeroed: libmnl leaves attribute padding as it finds it
  nlmsghdr* nlh = PutHeader(buf, IPSET_CMD_PROTOCOL, NLM_F_REQUEST, seq);
  return Bytes(buf, nlh);
}

std::vector<uint8_t> EncodeTypeQuery(const std::string& type, uint8_t family, uint32_t seq) {
  uint8_t buf[kMaxRequest] = {};  // zeroed: libmnl leaves attribute padding as it finds it
  nlmsghdr* nlh = PutHeader(buf, IPSET_CMD_TYPE, NLM_F_REQUEST, seq);
  mnl_attr_put_strz(nlh, IPSET_ATTR_TYPENAME, type.c_str());
  mnl_attr_put_u8(nlh, IPSET_ATTR_FAMILY, family);
  return Bytes(buf, nlh);
}

std::vector<uint8_t> EncodeCreate(const CreateSpec& spec, uint8_t revision, uint32_t seq) {
  uint8_t buf[kMaxRequest] = {};  // zeroed: libmnl leaves attribute padding as it finds it
  uint16_t flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | (spec.exist ? 0 : NLM_F_EXCL);
  nlmsghdr* nlh = PutHeader(buf, IPSET_CMD_CREATE, flags, seq);
  mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME, spec.name.c_str());
  mnl_attr_put_strz(nlh, IPSET_ATTR_TYPENAME, spec.type.c_str());
  mnl_attr_put_u8(nlh, IPSET_ATTR_REVISION, revision);
  mnl_attr_put_u8(nlh, IPSET_ATTR_FAMILY, spec.family);
  // Only the options given, as the CLI: the kernel picks hashsize, bucketsize and initval.
  nlattr* data = mnl_attr_nest_start(nlh, IPSET_ATTR_DATA);
  if (spec.timeout) PutBe32(nlh, IPSET_ATTR_TIMEOUT, *spec.timeout);
  uint32_t cadt = (spec.counters ? IPSET_FLAG_WITH_COUNTERS : 0) | (spec.comment ? IPSET_FLAG_WITH_COMMENT : 0);
  if (cadt) PutBe32(nlh, IPSET_ATTR_CADT_FLAGS, cadt);
  if (spec.hashsize) PutBe32(nlh, IPSET_ATTR_HASHSIZE, *spec.hashsize);
  if (spec.maxelem) PutBe32(nlh, IPSET_ATTR_MAXELEM, *spec.maxelem);
  mnl_attr_nest_end(nlh, data);
  return Bytes(buf, nlh);
}

std::vector<uint8_t> EncodeElement(Adt cmd, const std::string& set, const Element& e, bool exist, uint32_t seq) {
  uint8_t buf[kMaxRequest] = {};  // zeroed: libmnl leaves attribute padding as it finds it
  nlmsghdr* nlh = PutHeader(buf, static_cast<uint8_t>(cmd), AdtFlags(cmd, exist), seq);
  mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME, set.c_str());
  nlattr* data = mnl_attr_nest_start(nlh, IPSET_ATTR_DATA);
  PutElementData(nlh, e);
  // The CLI sends LINENO 0 on add and del, nothing on test.
  if (cmd != Adt::kTest) PutBe32(nlh, IPSET_ATTR_LINENO, 0);
  mnl_attr_nest_end(nlh, data);
  return Bytes(buf, nlh);
}

Element ElementBatch::At(size_t i) const {
  const BatchEntry& e = entries[i];
  if (e.flags & BatchEntry::kFull) return full[e.full];
  Element out;
  std::copy(e.addr.begin(), e.addr.end(), out.addr.begin());
  out.nomatch = e.flags & BatchEntry::kNomatch;
  if (e.flags & BatchEntry::kTimeout) out.timeout = e.timeout;
  return out;
}

size_t AppendElementBatch(std::vector<uint8_t>& out, Adt cmd, const std::string& set, const ElementBatch& elements,
                          size_t first, size_t& end, bool exist, uint32_t seq, size_t max_message, size_t max_bytes) {
  std::vector<uint8_t> buf(max_message);
  size_t messages = 0, i = first, appended = 0;
  const std::vector<BatchEntry>& entries = elements.entries;
  while (i < entries.size()) {
    std::fill(buf.begin(), buf.end(), 0);  // padding must not carry the last message's bytes
    nlmsghdr* nlh = PutHeader(buf.data(), static_cast<uint8_t>(cmd), AdtFlags(cmd, exist), seq + messages);
    mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME, set.c_str());
    PutBe32(nlh, IPSET_ATTR_LINENO, static_cast<uint32_t>(i + 1));
    nlattr* adt = mnl_attr_nest_start(nlh, IPSET_ATTR_ADT);
    // The ADT nest's length is 16 bits: it must stay under 64 KiB whatever max_message says.
    size_t limit = std::min<size_t>(max_message, 65000);
    size_t packed = 0;
    while (i < entries.size() && (packed == 0 || nlh->nlmsg_len + EntryBytes(elements, entries[i]) <= limit)) {
      const BatchEntry& e = entries[i];
      if (e.flags & BatchEntry::kFull) {
        nlattr* data = mnl_attr_nest_start(nlh, IPSET_ATTR_DATA);
        PutElementData(nlh, elements.full[e.full]);
        PutBe32(nlh, IPSET_ATTR_LINENO, static_cast<uint32_t>(i + 1));
        mnl_attr_nest_end(nlh, data);
      } else {
        PutPlainData(nlh, e, static_cast<uint32_t>(i + 1));
      }
      i++;
      packed++;
    }
    mnl_attr_nest_end(nlh, adt);
    size_t len = MNL_ALIGN(nlh->nlmsg_len);
    if (messages > 0 && appended + len > max_bytes) {
      i -= packed;  // this message goes in the next send
      break;
    }
    out.insert(out.end(), buf.data(), buf.data() + nlh->nlmsg_len);
    out.resize(out.size() + (len - nlh->nlmsg_len), 0);
    appended += len;
    messages++;
  }
  end = i;
  return messages;
}

std::vector<uint8_t> EncodeNamed(uint8_t cmd, const std::string& name, const std::string& name2, bool excl, uint32_t seq) {
  uint8_t buf[kMaxRequest] = {};  // zeroed: libmnl leaves attribute padding as it finds it
  nlmsghdr* nlh = PutHeader(buf, cmd, NLM_F_REQUEST | NLM_F_ACK | (excl ? NLM_F_EXCL : 0), seq);
  if (!name.empty()) mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME, name.c_str());
  if (!name2.empty()) mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME2, name2.c_str());
  return Bytes(buf, nlh);
}

std::vector<uint8_t> EncodeList(const std::string& name, bool header_only, uint32_t seq) {
  uint8_t buf[kMaxRequest] = {};  // zeroed: libmnl leaves attribute padding as it finds it
  nlmsghdr* nlh = PutHeader(buf, IPSET_CMD_LIST, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP, seq);
  if (name.empty()) {
    PutBe32(nlh, IPSET_ATTR_FLAGS, IPSET_FLAG_LIST_SETNAME);
  } else {
    mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME, name.c_str());
    if (header_only) PutBe32(nlh, IPSET_ATTR_FLAGS, IPSET_FLAG_LIST_HEADER);
  }
  return Bytes(buf, nlh);
}

const SetType* FindSetType(const std::string& name) {
  static constexpr SetType kTypes[] = {
      {"hash:ip", 6, false},
      {"hash:net", 7, false},
      {"hash:ip,port", 7, true},
      {"hash:net,port", 8, true},
      {"hash:ip,port,ip", 6, true},
      {"hash:net,iface", 8, false},
  };
  for (const auto& t : kTypes)
    if (name == t.name) return &t;
  return nullptr;
}

}  // namespace connlimit::core::ipset
