// SPDX-License-Identifier: GPL-2.0-or-later
// The conntrack floor for `npm run bench` (row 4): counting entries per /24 from userspace with
// one ctnetlink dump over libmnl and the least parsing possible (the original source address
// only, into a flat array indexed by its top 24 bits' low 16), timed in-process so process
// start-up and `ip netns exec` are not counted. Socket open, dump and close are all timed: a
// countBy opens its own socket per call too. Run inside the target namespace; built by the
// bench with `cc -O2 ... $(pkg-config --cflags --libs libmnl)`. Not part of the library.
//
// Usage: ct-dump-floor [--tcp-dport PORT]
// With --tcp-dport the dump carries the kernel-side filter the library sends for a one-port
// query (CTA_TUPLE_ORIG protocol + destination port, CTA_FILTER flags), so only matching
// entries cross into userspace: the floor of row 4b's narrow query.
// Prints "<timed part in nanoseconds> <entries seen> <distinct /24 keys>" on stdout.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static unsigned counts[1 << 16];
static unsigned long entries;

static int src_cb(const struct nlattr *attr, void *data) {
  const struct nlattr **out = data;
  if (mnl_attr_get_type(attr) == CTA_IP_V4_SRC) *out = attr;
  return MNL_CB_OK;
}
static int nest_cb(const struct nlattr *attr, void *data) {
  const struct nlattr **out = data;
  if (mnl_attr_get_type(attr) == CTA_TUPLE_IP || mnl_attr_get_type(attr) == CTA_TUPLE_ORIG) *out = attr;
  return MNL_CB_OK;
}

static int data_cb(const struct nlmsghdr *nlh, void *data) {
  (void)data;
  const struct nlattr *orig = NULL, *ip = NULL, *src = NULL;
  entries++;
  mnl_attr_parse(nlh, sizeof(struct nfgenmsg), nest_cb, &orig);
  if (!orig) return MNL_CB_OK;
  mnl_attr_parse_nested(orig, nest_cb, &ip);
  if (!ip) return MNL_CB_OK;
  mnl_attr_parse_nested(ip, src_cb, &src);
  if (!src) return MNL_CB_OK;
  uint32_t a = ntohl(mnl_attr_get_u32(src));
  counts[(a >> 8) & 0xffff]++;
  return MNL_CB_OK;
}

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
  int dport = -1;
  if (argc == 3 && strcmp(argv[1], "--tcp-dport") == 0) dport = atoi(argv[2]);
  else if (argc != 1) { fprintf(stderr, "usage: ct-dump-floor [--tcp-dport PORT]\n"); return 2; }
  // The library's size too (native/core/ct/ct_socket.cc kRecvBuffer): a dump skb is at most
  // 32 KiB, so this never truncates, and both sides make the same number of recvmsg calls.
  static char buf[65536];
  {
    long long t0 = now_ns();
    struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
    if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) { perror("socket"); return 1; }
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = 1;
    struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
    nfg->nfgen_family = AF_INET;
    nfg->version = NFNETLINK_V0;
    if (dport >= 0) {
      struct nlattr *tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
      struct nlattr *proto = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
      mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_TCP);
      mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons((uint16_t)dport));
      mnl_attr_nest_end(nlh, proto);
      mnl_attr_nest_end(nlh, tuple);
      // CTA_FILTER_F_CTA_PROTO_NUM | CTA_FILTER_F_CTA_PROTO_DST_PORT (net/netfilter/nf_conntrack_netlink.c;
      // not in the uapi header), host-order u32, unlike every other ctnetlink integer.
      struct nlattr *filter = mnl_attr_nest_start(nlh, CTA_FILTER);
      mnl_attr_put_u32(nlh, CTA_FILTER_ORIG_FLAGS, (1u << 3) | (1u << 5));
      mnl_attr_put_u32(nlh, CTA_FILTER_REPLY_FLAGS, 0);
      mnl_attr_nest_end(nlh, filter);
    }
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) { perror("send"); return 1; }
    unsigned portid = mnl_socket_get_portid(nl);
    int ret;
    ssize_t n;
    while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
      ret = mnl_cb_run(buf, n, 1, portid, data_cb, NULL);
      if (ret <= MNL_CB_STOP) break;
    }
    mnl_socket_close(nl);
    long long elapsed = now_ns() - t0;
    unsigned keys = 0;
    for (int i = 0; i < (1 << 16); i++) keys += counts[i] != 0;
    printf("%lld %lu %u\n", elapsed, entries, keys);
  }
  return 0;
}
