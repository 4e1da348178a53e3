// SPDX-License-Identifier: GPL-2.0-or-later
// The floor for counting conntrack entries per /24 from userspace: one ctnetlink dump over
// libmnl, counted in process with the least parsing possible (the original source address
// only, into a flat array indexed by its top 24 bits' low 16). Built and run by
// scripts/bench-conntrack.mjs inside the benchmark's namespace; prints the median of N runs
// in milliseconds and the entry count. Not part of the library.
//
// Usage: ct-dump-floor [runs]
#include <arpa/inet.h>
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

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  int runs = argc > 1 ? atoi(argv[1]) : 5;
  static char buf[65536];
  double times[64];
  if (runs < 1 || runs > 64) runs = 5;
  for (int r = 0; r < runs; r++) {
    memset(counts, 0, sizeof(counts));
    entries = 0;
    double t0 = now_ms();
    struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
    if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) { perror("socket"); return 1; }
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = 1;
    struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
    nfg->nfgen_family = AF_INET;
    nfg->version = NFNETLINK_V0;
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) { perror("send"); return 1; }
    unsigned portid = mnl_socket_get_portid(nl);
    int ret;
    ssize_t n;
    while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
      ret = mnl_cb_run(buf, n, 1, portid, data_cb, NULL);
      if (ret <= MNL_CB_STOP) break;
    }
    mnl_socket_close(nl);
    times[r] = now_ms() - t0;
  }
  qsort(times, runs, sizeof(double), cmp);
  unsigned keys = 0;
  for (int i = 0; i < (1 << 16); i++) keys += counts[i] != 0;
  printf("{\"medianMs\": %.2f, \"entries\": %lu, \"keys\": %u}\n", times[runs / 2], entries, keys);
  return 0;
}
