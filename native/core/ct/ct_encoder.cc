// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/ct/ct_encoder.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/nfnl_header.h"

namespace connlimit::core::ct {

namespace {

// A request buffer large enough for any single message we build.
constexpr size_t kMaxRequest = 512;

nlmsghdr* PutHeader(uint8_t* buf, uint16_t msg, uint16_t flags, uint8_t family, uint32_t seq) {
  return PutNfnlHeader(buf, (NFNL_SUBSYS_CTNETLINK << 8) | msg, flags, seq, family);
}

std::vector<uint8_t> Bytes(const uint8_t* buf, const nlmsghdr* nlh) { return {buf, buf + nlh->nlmsg_len}; }

bool IsPortProtocol(int p) {
  return p == IPPROTO_TCP || p == IPPROTO_UDP || p == IPPROTO_UDPLITE || p == IPPROTO_SCTP || p == IPPROTO_DCCP;
}

void PutAddr(nlmsghdr* nlh, uint8_t family, uint16_t v4, uint16_t v6, const Addr& a) {
  if (family == AF_INET6)
    mnl_attr_put(nlh, v6, 16, a.data());
  else
    mnl_attr_put(nlh, v4, 4, a.data());
}

}  // namespace

uint32_t KernelTupleFlags(const Filter& f) {
  uint32_t flags = 0;
  // ctnetlink_alloc_filter() refuses CTA_FILTER with EOPNOTSUPP when nfgen_family is
  // AF_UNSPEC (observed on v6.18): a family-less query is filtered in C++ alone.
  if (f.family == AF_UNSPEC) return 0;
  // The kernel compares whole addresses only, and needs the family to read them.
  bool src = f.has_src && !f.src.invert && f.family != AF_UNSPEC && f.src.prefix_len == AddrLen(f.family) * 8;
  bool dst = f.has_dst && !f.dst.invert && f.family != AF_UNSPEC && f.dst.prefix_len == AddrLen(f.family) * 8;
  bool proto = f.protocol >= 0 && !f.invert_protocol;
  // Ports are parsed with the protocol's own nla policy, so they need CTA_PROTO_NUM beside them.
  bool sport = proto && IsPortProtocol(f.protocol) && f.sport.active && !f.sport.invert && f.sport.lo == f.sport.hi;
  bool dport = proto && IsPortProtocol(f.protocol) && f.dport.active && !f.dport.invert && f.dport.lo == f.dport.hi;
  if (src) flags |= CTA_FILTER_F_CTA_IP_SRC;
  if (dst) flags |= CTA_FILTER_F_CTA_IP_DST;
  if (proto) flags |= CTA_FILTER_F_CTA_PROTO_NUM;
  if (sport) flags |= CTA_FILTER_F_CTA_PROTO_SRC_PORT;
  if (dport) flags |= CTA_FILTER_F_CTA_PROTO_DST_PORT;
  return flags;
}

std::vector<uint8_t> EncodeStatsRequest(uint32_t seq) {
  uint8_t buf[kMaxRequest];
  nlmsghdr* nlh = PutHeader(buf, IPCTNL_MSG_CT_GET_STATS, NLM_F_REQUEST, AF_UNSPEC, seq);
  return Bytes(buf, nlh);
}

namespace {

// The filter attributes shared by a dump and a flush: tuple filter (CTA_TUPLE_ORIG +
// CTA_FILTER) when `tuple_filter`, then mark, and zone and status when `zone_status`.
void PutFilter(nlmsghdr* nlh, const Filter& f, bool tuple_filter, bool zone_status) {
  uint32_t flags = KernelTupleFlags(f);
  bool src = flags & CTA_FILTER_F_CTA_IP_SRC, dst = flags & CTA_FILTER_F_CTA_IP_DST;
  bool proto = flags & CTA_FILTER_F_CTA_PROTO_NUM;
  bool sport = flags & CTA_FILTER_F_CTA_PROTO_SRC_PORT, dport = flags & CTA_FILTER_F_CTA_PROTO_DST_PORT;

  if (flags && tuple_filter) {
    nlattr* tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
    if (src || dst) {
      nlattr* ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
      if (src) PutAddr(nlh, f.family, CTA_IP_V4_SRC, CTA_IP_V6_SRC, f.src.addr);
      if (dst) PutAddr(nlh, f.family, CTA_IP_V4_DST, CTA_IP_V6_DST, f.dst.addr);
      mnl_attr_nest_end(nlh, ip);
    }
    if (proto) {
      nlattr* p = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
      mnl_attr_put_u8(nlh, CTA_PROTO_NUM, static_cast<uint8_t>(f.protocol));
      if (sport) mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(f.sport.lo));
      if (dport) mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(f.dport.lo));
      mnl_attr_nest_end(nlh, p);
    }
    mnl_attr_nest_end(nlh, tuple);
    // CTA_FILTER_*_FLAGS are host-order u32, unlike every other ctnetlink integer.
    nlattr* filter = mnl_attr_nest_start(nlh, CTA_FILTER);
    mnl_attr_put_u32(nlh, CTA_FILTER_ORIG_FLAGS, flags);
    mnl_attr_put_u32(nlh, CTA_FILTER_REPLY_FLAGS, 0);
    mnl_attr_nest_end(nlh, filter);
  }
  if (f.has_mark) {
    mnl_attr_put_u32(nlh, CTA_MARK, htonl(f.mark));
    mnl_attr_put_u32(nlh, CTA_MARK_MASK, htonl(f.mark_mask));
  }
  if (!zone_status) return;
  if (f.has_zone) mnl_attr_put_u16(nlh, CTA_ZONE, htons(f.zone));
  // Kernels before v5.15 ignore CTA_STATUS in a dump request; Matches() applies it anyway.
  if (f.has_status) {
    mnl_attr_put_u32(nlh, CTA_STATUS, htonl(f.status_value));
    mnl_attr_put_u32(nlh, CTA_STATUS_MASK, htonl(f.status_mask));
  }
}

}  // namespace

std::vector<uint8_t> EncodeDumpRequest(const Filter& f, uint32_t seq, bool kernel_tuple_filter) {
  uint8_t buf[kMaxRequest];
  nlmsghdr* nlh = PutHeader(buf, IPCTNL_MSG_CT_GET, NLM_F_REQUEST | NLM_F_DUMP, f.family, seq);
  PutFilter(nlh, f, kernel_tuple_filter, true);
  return Bytes(buf, nlh);
}

bool KernelCanFlush(const Filter& f) {
  uint32_t flags = KernelTupleFlags(f);
  if (!flags) return false;
  if (f.has_src && !(flags & CTA_FILTER_F_CTA_IP_SRC)) return false;
  if (f.has_dst && !(flags & CTA_FILTER_F_CTA_IP_DST)) return false;
  if (f.protocol >= 0 && !(flags & CTA_FILTER_F_CTA_PROTO_NUM)) return false;
  if (f.sport.active && !(flags & CTA_FILTER_F_CTA_PROTO_SRC_PORT)) return false;
  if (f.dport.active && !(flags & CTA_FILTER_F_CTA_PROTO_DST_PORT)) return false;
  return !f.tcp_states && !f.tcp_states_excluded && !f.has_zone && !f.has_status;
}

std::vector<uint8_t> EncodeFlushRequest(const Filter& f, uint32_t seq) {
  uint8_t buf[kMaxRequest];
  nlmsghdr* nlh = PutHeader(buf, IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK, f.family, seq);
  PutFilter(nlh, f, true, false);
  return Bytes(buf, nlh);
}

void AppendDeleteRequest(std::vector<uint8_t>& out, const Entry& e, uint32_t seq) {
  uint8_t buf[kMaxRequest];
  nlmsghdr* nlh = PutHeader(buf, IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK, e.family, seq);
  nlattr* tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
  nlattr* ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
  PutAddr(nlh, e.family, CTA_IP_V4_SRC, CTA_IP_V6_SRC, e.orig.src);
  PutAddr(nlh, e.family, CTA_IP_V4_DST, CTA_IP_V6_DST, e.orig.dst);
  mnl_attr_nest_end(nlh, ip);
  nlattr* p = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
  mnl_attr_put_u8(nlh, CTA_PROTO_NUM, e.protocol);
  if (e.protocol == IPPROTO_ICMP) {
    mnl_attr_put_u16(nlh, CTA_PROTO_ICMP_ID, htons(e.orig.sport));
    mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_TYPE, e.orig.icmp_type);
    mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_CODE, e.orig.icmp_code);
  } else if (e.protocol == IPPROTO_ICMPV6) {
    mnl_attr_put_u16(nlh, CTA_PROTO_ICMPV6_ID, htons(e.orig.sport));
    mnl_attr_put_u8(nlh, CTA_PROTO_ICMPV6_TYPE, e.orig.icmp_type);
    mnl_attr_put_u8(nlh, CTA_PROTO_ICMPV6_CODE, e.orig.icmp_code);
  } else if (IsPortProtocol(e.protocol)) {
    mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(e.orig.sport));
    mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(e.orig.dport));
  }
  mnl_attr_nest_end(nlh, p);
  mnl_attr_nest_end(nlh, tuple);
  if (e.zone) mnl_attr_put_u16(nlh, CTA_ZONE, htons(e.zone));
  // The id makes the kernel refuse (ENOENT) a different entry that reused the tuple since the dump.
  if (e.id) mnl_attr_put_u32(nlh, CTA_ID, htonl(e.id));
  out.insert(out.end(), buf, buf + nlh->nlmsg_len);
}

}  // namespace connlimit::core::ct
