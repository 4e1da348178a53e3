// SPDX-License-Identifier: GPL-2.0-or-later
// Pure: ctnetlink requests as bytes (no socket). Layout per include/uapi/linux/netfilter/
// nfnetlink_conntrack.h and net/netfilter/nf_conntrack_netlink.c (v6.18).
#pragma once

#include <cstdint>
#include <vector>

#include "core/ct/ct_types.h"

namespace connlimit::core::ct {

// The CTA_FILTER_* flag bits are kernel-internal (net/netfilter/nf_internals.h, since v5.8),
// not in uapi; their values are ABI all the same.
constexpr uint32_t CTA_FILTER_F_CTA_IP_SRC = 1u << 0;
constexpr uint32_t CTA_FILTER_F_CTA_IP_DST = 1u << 1;
constexpr uint32_t CTA_FILTER_F_CTA_TUPLE_ZONE = 1u << 2;
constexpr uint32_t CTA_FILTER_F_CTA_PROTO_NUM = 1u << 3;
constexpr uint32_t CTA_FILTER_F_CTA_PROTO_SRC_PORT = 1u << 4;
constexpr uint32_t CTA_FILTER_F_CTA_PROTO_DST_PORT = 1u << 5;

// The CTA_FILTER_ORIG_FLAGS a dump request for `filter` carries: the parts of the filter the
// kernel's tuple filter can express exactly (0 when none).
uint32_t KernelTupleFlags(const Filter& filter);

// IPCTNL_MSG_CT_GET_STATS, NLM_F_REQUEST only: one reply, and no NLMSG_DONE after it.
std::vector<uint8_t> EncodeStatsRequest(uint32_t seq);

// IPCTNL_MSG_CT_GET|NLM_F_DUMP with every part of `filter` the kernel can apply: family,
// protocol, full-width addresses and single ports (CTA_FILTER, v5.8), mark (CTA_MARK/MASK),
// zone (CTA_ZONE, v6.8), status bits (CTA_STATUS/CTA_STATUS_MASK, v5.15). CIDRs, port ranges,
// inversions and TCP states stay in C++. Kernels that predate an attribute ignore it (ctnetlink
// parses leniently), which is why every entry is checked again with Matches(); a kernel that
// refuses CTA_FILTER outright is asked again with `kernel_tuple_filter` false.
std::vector<uint8_t> EncodeDumpRequest(const Filter& filter, uint32_t seq, bool kernel_tuple_filter = true);

// Whether IPCTNL_MSG_CT_DELETE without a full tuple (a flush) can apply all of `filter` in
// the kernel: every part must be in the tuple filter (CTA_FILTER carries at least one flag) or
// the mark. Zone and status are left out on purpose: a kernel that predates them in
// ctnetlink_alloc_filter (zone v6.8, status v5.15) would ignore them and delete too much,
// whereas a kernel whose flush predates CTA_FILTER takes CTA_TUPLE_ORIG for one entry's tuple
// and refuses a partial one (EINVAL), which is safe to fall back from.
bool KernelCanFlush(const Filter& filter);

// IPCTNL_MSG_CT_DELETE|NLM_F_ACK with the filter and no entry tuple: the kernel deletes every
// match in one walk (ctnetlink_flush_conntrack, with CTA_FILTER support; seen on v6.18).
std::vector<uint8_t> EncodeFlushRequest(const Filter& filter, uint32_t seq);

// IPCTNL_MSG_CT_DELETE|NLM_F_ACK of one entry, by its original tuple and zone; appended to `out`
// so many deletes go to the kernel in one sendmsg.
void AppendDeleteRequest(std::vector<uint8_t>& out, const Entry& entry, uint32_t seq);

}  // namespace connlimit::core::ct
