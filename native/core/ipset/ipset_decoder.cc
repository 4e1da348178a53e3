// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/ipset/ipset_decoder.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace connlimit::core::ipset {

namespace {

KernelError Bad(const std::string& why) { return KernelError{"ipset decode", EBADMSG, why, -1, ErrorKind::kMalformed}; }

// Attributes of one nest (or of a message after nfgenmsg), indexed by type; types above
// `max` are ignored. The type is read without NLA_F_NESTED and NLA_F_NET_BYTEORDER.
struct Attrs {
  std::vector<const nlattr*> at;
  explicit Attrs(size_t max) : at(max + 1, nullptr) {}
  const nlattr* operator[](size_t t) const { return t < at.size() ? at[t] : nullptr; }
};

int Collect(const nlattr* a, void* data) {
  auto* out = static_cast<Attrs*>(data);
  if (mnl_attr_get_type(a) < out->at.size()) out->at[mnl_attr_get_type(a)] = a;
  return MNL_CB_OK;
}

Attrs MessageAttrs(const nlmsghdr* nlh, size_t max) {
  Attrs attrs(max);
  mnl_attr_parse(nlh, sizeof(nfgenmsg), Collect, &attrs);
  return attrs;
}

Attrs NestedAttrs(const nlattr* nest, size_t max) {
  Attrs attrs(max);
  mnl_attr_parse_nested(nest, Collect, &attrs);
  return attrs;
}

// Every DATA of an ADT nest, in order.
int CollectData(const nlattr* a, void* data) {
  if (mnl_attr_get_type(a) == IPSET_ATTR_DATA) static_cast<std::vector<const nlattr*>*>(data)->push_back(a);
  return MNL_CB_OK;
}

bool U32(const nlattr* a, uint32_t& out) {
  if (!a || mnl_attr_get_payload_len(a) != 4) return false;
  out = ntohl(mnl_attr_get_u32(a));
  return true;
}

bool U64(const nlattr* a, uint64_t& out) {
  if (!a || mnl_attr_get_payload_len(a) != 8) return false;
  uint64_t be = mnl_attr_get_u64(a);
  out = be64toh(be);
  return true;
}

bool U8(const nlattr* a, uint8_t& out) {
  if (!a || mnl_attr_get_payload_len(a) < 1) return false;
  out = mnl_attr_get_u8(a);
  return true;
}

bool Str(const nlattr* a, std::string& out) {
  if (!a) return false;
  const char* p = mnl_attr_get_str(a);
  out.assign(p, strnlen(p, mnl_attr_get_payload_len(a)));
  return true;
}

// An IP or IP2 nest's address of the set's family.
bool Address(const nlattr* nest, uint8_t family, std::array<uint8_t, 16>& out) {
  Attrs ip = NestedAttrs(nest, IPSET_ATTR_IPADDR_MAX);
  // The kernel lists addresses without NLA_F_NET_BYTEORDER (§11); either way they are network order.
  const nlattr* addr = family == kNfprotoIpv6 ? ip[IPSET_ATTR_IPADDR_IPV6] : ip[IPSET_ATTR_IPADDR_IPV4];
  size_t len = family == kNfprotoIpv6 ? 16 : 4;
  if (!addr || mnl_attr_get_payload_len(addr) != len) return false;
  memcpy(out.data(), mnl_attr_get_payload(addr), len);
  return true;
}

Result<Element> DecodeElement(const nlattr* data, uint8_t family) {
  Attrs d = NestedAttrs(data, IPSET_ATTR_ADT_MAX);
  Element e;
  e.family = family;
  if (!d[IPSET_ATTR_IP]) return Bad("element without IPSET_ATTR_IP");
  if (!Address(d[IPSET_ATTR_IP], family, e.addr)) return Bad("element address of the wrong family or size");
  if (d[IPSET_ATTR_IP2]) {
    e.addr2.emplace();
    if (!Address(d[IPSET_ATTR_IP2], family, *e.addr2)) return Bad("element second address of the wrong family or size");
  }
  std::string iface;
  if (Str(d[IPSET_ATTR_IFACE], iface)) e.iface = iface;
  uint8_t u8 = 0;
  uint32_t u32 = 0;
  uint64_t u64 = 0;
  if (U8(d[IPSET_ATTR_CIDR], u8)) e.cidr = u8;
  if (d[IPSET_ATTR_PORT]) {
    if (mnl_attr_get_payload_len(d[IPSET_ATTR_PORT]) != 2) return Bad("element port of the wrong size");
    e.port = ntohs(mnl_attr_get_u16(d[IPSET_ATTR_PORT]));
    if (U8(d[IPSET_ATTR_PROTO], u8)) e.proto = u8;
  }
  if (U32(d[IPSET_ATTR_TIMEOUT], u32)) e.timeout = u32;
  if (U32(d[IPSET_ATTR_CADT_FLAGS], u32)) {
    e.physdev = (u32 & IPSET_FLAG_PHYSDEV) != 0;
    e.wildcard = (u32 & IPSET_FLAG_IFACE_WILDCARD) != 0;
    e.nomatch = (u32 & IPSET_FLAG_NOMATCH) != 0;
  }
  if (U64(d[IPSET_ATTR_PACKETS], u64)) e.packets = u64;
  if (U64(d[IPSET_ATTR_BYTES], u64)) e.bytes = u64;
  std::string comment;
  if (Str(d[IPSET_ATTR_COMMENT], comment)) e.comment = comment;
  return e;
}

}  // namespace

Result<ChunkInfo> DecodeChunk(const uint8_t* buf, size_t len, uint32_t seq_lo, uint32_t seq_hi, const IpsetOp& op,
                              const std::string& detail, const std::function<Result<Unit>(const nlmsghdr*)>& on_message) {
  ChunkInfo info;
  int left = static_cast<int>(len);
  for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf); mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
    if (nlh->nlmsg_seq < seq_lo || nlh->nlmsg_seq > seq_hi) continue;  // an earlier request's answer
    if (nlh->nlmsg_type == NLMSG_DONE) {
      info.done = true;
      continue;
    }
    if (nlh->nlmsg_type == NLMSG_ERROR) {
      if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr))) return Bad("short NLMSG_ERROR");
      const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      info.answers++;
      if (err->error == 0) continue;
      KernelError ke{op.text, -err->error, detail, -1, op.kind};
      // ipset's own error message echoes the whole request; in a batch the kernel rewrote its
      // top-level LINENO to the line of the element that failed.
      const auto* req = &err->msg;
      size_t room = nlh->nlmsg_len - mnl_nlmsg_size(sizeof(nlmsgerr)) + sizeof(nlmsghdr);
      if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && req->nlmsg_len <= room && req->nlmsg_len >= mnl_nlmsg_size(sizeof(nfgenmsg))) {
        uint32_t line = 0;
        Attrs top = MessageAttrs(req, IPSET_ATTR_CMD_MAX);
        if (U32(top[IPSET_ATTR_LINENO], line) && line > 0) ke.op_index = static_cast<int>(line - 1);
      }
      info.refusals.emplace_back(nlh->nlmsg_seq, ke);
      if (!info.error) info.error = ke;
      continue;
    }
    if ((nlh->nlmsg_type >> 8) != NFNL_SUBSYS_IPSET) continue;
    auto r = on_message(nlh);
    if (!r.ok()) return r.error();
  }
  return info;
}

Result<uint8_t> DecodeTypeReply(const nlmsghdr* nlh) {
  Attrs a = MessageAttrs(nlh, IPSET_ATTR_CMD_MAX);
  uint8_t rev = 0;
  if (!U8(a[IPSET_ATTR_REVISION], rev)) return Bad("TYPE reply without IPSET_ATTR_REVISION");
  return rev;
}

Result<Unit> ListDecoder::Feed(const nlmsghdr* nlh) {
  Attrs a = MessageAttrs(nlh, IPSET_ATTR_CMD_MAX);
  std::string name;
  if (!Str(a[IPSET_ATTR_SETNAME], name)) return Bad("LIST reply without IPSET_ATTR_SETNAME");
  if (!a[IPSET_ATTR_TYPENAME] && !a[IPSET_ATTR_ADT]) {
    names_.push_back(name);  // LIST_SETNAME: the name alone
    return Unit{};
  }
  SetHeader& h = set_.header;
  if (a[IPSET_ATTR_TYPENAME]) {
    h.name = name;
    Str(a[IPSET_ATTR_TYPENAME], h.type);
    if (!U8(a[IPSET_ATTR_FAMILY], h.family) || !U8(a[IPSET_ATTR_REVISION], h.revision)) return Bad("set header without family or revision");
    if (a[IPSET_ATTR_DATA]) {
      Attrs d = NestedAttrs(a[IPSET_ATTR_DATA], IPSET_ATTR_CREATE_MAX);
      U32(d[IPSET_ATTR_HASHSIZE], h.hashsize);
      U32(d[IPSET_ATTR_MAXELEM], h.maxelem);
      uint8_t bucket = 0;
      if (U8(d[IPSET_ATTR_BUCKETSIZE], bucket)) h.bucketsize = bucket;
      uint32_t timeout = 0;
      if (U32(d[IPSET_ATTR_TIMEOUT], timeout)) h.timeout = timeout;
      U32(d[IPSET_ATTR_CADT_FLAGS], h.cadt_flags);
      U32(d[IPSET_ATTR_REFERENCES], h.references);
      U32(d[IPSET_ATTR_MEMSIZE], h.memsize);
      U32(d[IPSET_ATTR_ELEMENTS], h.elements);
    }
    have_header_ = true;
  }
  if (!have_header_) return Bad("LIST elements before the set header");
  if (a[IPSET_ATTR_ADT]) {
    std::vector<const nlattr*> datas;
    mnl_attr_parse_nested(a[IPSET_ATTR_ADT], CollectData, &datas);
    for (const nlattr* data : datas) {
      auto e = DecodeElement(data, h.family);
      if (!e.ok()) return e.error();
      set_.entries.push_back(e.take());
    }
  }
  return Unit{};
}

}  // namespace connlimit::core::ipset
