// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/ct/ct_decoder.h"

#include <arpa/inet.h>
#include <endian.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "core/netlink_extack.h"

namespace connlimit::core::ct {

namespace {

constexpr int kMaxAttr = 64;  // above every CTA_* nest's max (CTA_MAX is 28 in v6.18)

KernelError Bad(const std::string& what) { return KernelError{"ct decode", EBADMSG, what, -1, ErrorKind::kMalformed}; }

// Index the attributes of a nest (or of a message from `offset`); false on a malformed one.
bool Index(const nlattr* nest, const nlattr** tb) {
  for (int i = 0; i < kMaxAttr; i++) tb[i] = nullptr;
  if (!nest) return true;
  return mnl_attr_parse_nested(
             nest,
             [](const nlattr* a, void* data) -> int {
               auto** t = static_cast<const nlattr**>(data);
               uint16_t type = mnl_attr_get_type(a);
               if (type < kMaxAttr) t[type] = a;
               return MNL_CB_OK;
             },
             tb) >= 0;
}

bool Len(const nlattr* a, size_t n) { return mnl_attr_get_payload_len(a) >= n; }

bool U8(const nlattr* a, uint8_t& out) {
  if (!a) return true;
  if (!Len(a, 1)) return false;
  out = mnl_attr_get_u8(a);
  return true;
}
bool Be16(const nlattr* a, uint16_t& out) {
  if (!a) return true;
  if (!Len(a, 2)) return false;
  out = ntohs(mnl_attr_get_u16(a));
  return true;
}
bool Be32(const nlattr* a, uint32_t& out) {
  if (!a) return true;
  if (!Len(a, 4)) return false;
  out = ntohl(mnl_attr_get_u32(a));
  return true;
}
bool Be64(const nlattr* a, uint64_t& out) {
  if (!a) return true;
  if (!Len(a, 8)) return false;
  uint64_t v;
  std::memcpy(&v, mnl_attr_get_payload(a), 8);
  out = be64toh(v);
  return true;
}
bool Address(const nlattr* a, size_t n, Addr& out) {
  if (!a) return true;
  if (!Len(a, n)) return false;
  std::memcpy(out.data(), mnl_attr_get_payload(a), n);
  return true;
}

bool DecodeTuple(const nlattr* nest, uint8_t family, Tuple& t, uint8_t* proto) {
  const nlattr* tb[kMaxAttr];
  const nlattr* ip[kMaxAttr];
  const nlattr* pr[kMaxAttr];
  if (!Index(nest, tb)) return false;
  if (!Index(tb[CTA_TUPLE_IP], ip) || !Index(tb[CTA_TUPLE_PROTO], pr)) return false;
  if (family == AF_INET6) {
    if (!Address(ip[CTA_IP_V6_SRC], 16, t.src) || !Address(ip[CTA_IP_V6_DST], 16, t.dst)) return false;
  } else {
    if (!Address(ip[CTA_IP_V4_SRC], 4, t.src) || !Address(ip[CTA_IP_V4_DST], 4, t.dst)) return false;
  }
  if (proto && !U8(pr[CTA_PROTO_NUM], *proto)) return false;
  return Be16(pr[CTA_PROTO_SRC_PORT], t.sport) && Be16(pr[CTA_PROTO_DST_PORT], t.dport) &&
         Be16(pr[CTA_PROTO_ICMP_ID], t.sport) && U8(pr[CTA_PROTO_ICMP_TYPE], t.icmp_type) &&
         U8(pr[CTA_PROTO_ICMP_CODE], t.icmp_code) && Be16(pr[CTA_PROTO_ICMPV6_ID], t.sport) &&
         U8(pr[CTA_PROTO_ICMPV6_TYPE], t.icmp_type) && U8(pr[CTA_PROTO_ICMPV6_CODE], t.icmp_code);
}

bool DecodeCounters(const nlattr* nest, uint64_t& packets, uint64_t& bytes) {
  const nlattr* tb[kMaxAttr];
  return Index(nest, tb) && Be64(tb[CTA_COUNTERS_PACKETS], packets) && Be64(tb[CTA_COUNTERS_BYTES], bytes);
}

}  // namespace

Result<Entry> DecodeEntry(const uint8_t* payload, size_t len) {
  if (len < sizeof(nfgenmsg)) return Bad("conntrack message shorter than struct nfgenmsg");
  Entry e;
  e.family = reinterpret_cast<const nfgenmsg*>(payload)->nfgen_family;
  if (e.family != AF_INET && e.family != AF_INET6) return Bad("conntrack entry of family " + std::to_string(e.family));
  const nlattr* tb[kMaxAttr];
  for (auto& t : tb) t = nullptr;
  size_t off = MNL_ALIGN(sizeof(nfgenmsg));
  const uint8_t* p = payload + off;
  size_t left = len > off ? len - off : 0;
  while (left > 0) {
    auto* a = reinterpret_cast<const nlattr*>(p);
    if (!mnl_attr_ok(a, static_cast<int>(left))) return Bad("malformed attribute");
    uint16_t type = mnl_attr_get_type(a);
    if (type < kMaxAttr) tb[type] = a;
    size_t step = MNL_ALIGN(a->nla_len);
    if (step >= left) break;
    p += step;
    left -= step;
  }
  if (!tb[CTA_TUPLE_ORIG]) return Bad("conntrack entry without CTA_TUPLE_ORIG");
  if (!DecodeTuple(tb[CTA_TUPLE_ORIG], e.family, e.orig, &e.protocol)) return Bad("malformed CTA_TUPLE_ORIG");
  if (tb[CTA_TUPLE_REPLY]) {
    if (!DecodeTuple(tb[CTA_TUPLE_REPLY], e.family, e.reply, nullptr)) return Bad("malformed CTA_TUPLE_REPLY");
    e.has_reply = true;
  }
  if (!Be32(tb[CTA_STATUS], e.status) || !Be32(tb[CTA_MARK], e.mark) || !Be16(tb[CTA_ZONE], e.zone) ||
      !Be32(tb[CTA_ID], e.id) || !Be32(tb[CTA_TIMEOUT], e.timeout))
    return Bad("malformed conntrack attribute");
  e.has_timeout = tb[CTA_TIMEOUT] != nullptr;
  if (tb[CTA_COUNTERS_ORIG] || tb[CTA_COUNTERS_REPLY]) {
    if (!DecodeCounters(tb[CTA_COUNTERS_ORIG], e.orig_packets, e.orig_bytes) ||
        !DecodeCounters(tb[CTA_COUNTERS_REPLY], e.reply_packets, e.reply_bytes))
      return Bad("malformed CTA_COUNTERS");
    e.has_counters = true;
  }
  if (tb[CTA_PROTOINFO]) {
    const nlattr* info[kMaxAttr];
    const nlattr* tcp[kMaxAttr];
    if (!Index(tb[CTA_PROTOINFO], info) || !Index(info[CTA_PROTOINFO_TCP], tcp)) return Bad("malformed CTA_PROTOINFO");
    if (info[CTA_PROTOINFO_TCP] && !U8(tcp[CTA_PROTOINFO_TCP_STATE], e.tcp_state)) return Bad("malformed CTA_PROTOINFO_TCP");
  }
  return e;
}

Result<ChunkInfo> DecodeChunk(const uint8_t* buf, size_t len, uint64_t seq, const std::string& op, bool enoent_is_error,
                              const EntrySink& on_entry) {
  ChunkInfo info;
  auto* nlh = reinterpret_cast<const nlmsghdr*>(buf);
  int left = static_cast<int>(len);
  while (left > 0) {
    if (!mnl_nlmsg_ok(nlh, left)) return Bad("truncated netlink message");
    if (seq != kAnySeq && nlh->nlmsg_seq != seq) {
      info.stale++;
      nlh = mnl_nlmsg_next(nlh, &left);
      continue;
    }
    if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) info.interrupted = true;
    if (nlh->nlmsg_flags & NLM_F_DUMP_FILTERED) info.filtered = true;
    const auto* payload = static_cast<const uint8_t*>(mnl_nlmsg_get_payload(nlh));
    size_t plen = mnl_nlmsg_get_payload_len(nlh);
    switch (nlh->nlmsg_type) {
      case NLMSG_NOOP:
        break;
      case NLMSG_DONE:
        info.done = true;
        break;
      case NLMSG_ERROR: {
        if (plen < sizeof(nlmsgerr)) return Bad("truncated NLMSG_ERROR");
        int error = -reinterpret_cast<const nlmsgerr*>(payload)->error;
        if (error == 0) {
          info.acks++;
        } else if (error == ENOENT && !enoent_is_error) {
          info.not_found++;
        } else {
          return KernelError{op, error < 0 ? EBADMSG : error, ExtackMessage(nlh), -1, ErrorKind::kConntrack};
        }
        break;
      }
      case (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW:
      case (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE: {
        auto e = DecodeEntry(payload, plen);
        if (!e.ok()) return e.error();
        info.entries++;
        EntryKind kind = EntryKind::kEntry;
        if ((nlh->nlmsg_type & 0xff) == IPCTNL_MSG_CT_DELETE)
          kind = EntryKind::kDestroy;
        else if (nlh->nlmsg_flags & NLM_F_CREATE)
          kind = EntryKind::kNew;
        on_entry(e.value(), kind);
        break;
      }
      case (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET_STATS: {
        const nlattr* tb[kMaxAttr];
        for (auto& t : tb) t = nullptr;
        if (plen < sizeof(nfgenmsg)) return Bad("truncated stats reply");
        int left_attrs = static_cast<int>(plen - MNL_ALIGN(sizeof(nfgenmsg)));
        for (auto* a = reinterpret_cast<const nlattr*>(payload + MNL_ALIGN(sizeof(nfgenmsg))); mnl_attr_ok(a, left_attrs);
             left_attrs -= MNL_ALIGN(a->nla_len), a = mnl_attr_next(a)) {
          if (mnl_attr_get_type(a) < kMaxAttr) tb[mnl_attr_get_type(a)] = a;
        }
        if (!tb[CTA_STATS_GLOBAL_ENTRIES] || !Be32(tb[CTA_STATS_GLOBAL_ENTRIES], info.stats_entries) ||
            !Be32(tb[CTA_STATS_GLOBAL_MAX_ENTRIES], info.stats_max_entries))
          return Bad("stats reply without CTA_STATS_GLOBAL_ENTRIES");
        info.has_stats = true;
        break;
      }
      default:
        if (nlh->nlmsg_type < NLMSG_MIN_TYPE) break;  // other control messages carry nothing for us
        return Bad("unexpected message type " + std::to_string(nlh->nlmsg_type));
    }
    nlh = mnl_nlmsg_next(nlh, &left);
  }
  return info;
}

}  // namespace connlimit::core::ct
