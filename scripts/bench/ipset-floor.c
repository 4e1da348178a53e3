// SPDX-License-Identifier: GPL-2.0-or-later
// The ipset floor for `npm run bench` (group `sets`): ADD messages already encoded, each sent
// alone and its ack awaited, on one NETLINK_NETFILTER socket opened before the clock starts:
// what the kernel charges for one add, with no validation, no thread hop and no namespace
// switch. Run inside the target namespace; built by the bench with `cc -O2 ...
// $(pkg-config --cflags --libs libmnl)`.
//
// Usage: ipset-floor MESSAGES_FILE
//   MESSAGES_FILE holds IPSET_CMD_ADD messages back to back (each nlmsg_len long, padded to 4),
//   exactly the bytes the library encodes (the bench writes them with the addon's
//   _encodeElement), so both sides hand the kernel the same entries. Only their sequence
//   numbers are rewritten. Each is sent with sendto and its ack read before the next.
// Prints the mean time of one add (send + ack) in nanoseconds on stdout; a refused add exits 1.
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char* what) {
  fprintf(stderr, "ipset-floor: %s: %s\n", what, strerror(errno));
  exit(1);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: ipset-floor MESSAGES_FILE\n");
    return 2;
  }
  FILE* f = fopen(argv[1], "rb");
  if (!f) die("open");
  static char msgs[64 << 20];
  size_t len = fread(msgs, 1, sizeof msgs, f);
  fclose(f);
  struct mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) die("mnl_socket_open");
  unsigned int portid = mnl_socket_get_portid(nl);
  char buf[MNL_SOCKET_BUFFER_SIZE];
  uint32_t seq = 1;
  long count = 0;
  long long t0 = now_ns();
  for (size_t at = 0; at + sizeof(struct nlmsghdr) <= len;) {
    struct nlmsghdr* m = (struct nlmsghdr*)(msgs + at);
    if (m->nlmsg_len < sizeof *m || at + m->nlmsg_len > len) {
      fprintf(stderr, "ipset-floor: malformed message file\n");
      return 1;
    }
    m->nlmsg_seq = seq;
    if (mnl_socket_sendto(nl, m, m->nlmsg_len) < 0) die("sendto");
    ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof buf);
    if (n < 0) die("recv");
    if (mnl_cb_run(buf, n, seq, portid, NULL, NULL) < 0) die("add refused");
    seq++;
    count++;
    at += MNL_ALIGN(m->nlmsg_len);
  }
  long long elapsed = now_ns() - t0;
  mnl_socket_close(nl);
  printf("%lld\n", count ? elapsed / count : 0);
  return 0;
}
