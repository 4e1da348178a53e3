// SPDX-License-Identifier: GPL-2.0-or-later
// The ipset floor for `npm run bench` (group `sets`): ADD messages already encoded, each sent
// alone and its ack awaited, on one NETLINK_NETFILTER socket opened before the clock starts:
// what the kernel charges for one add, with no validation, no thread hop and no namespace
// switch. Run inside the target namespace; built by the bench with `cc -O2 ...
// $(pkg-config --cflags --libs libmnl)`.
//
// Usage: ipset-floor MESSAGES_FILE
//        ipset-floor --batch MESSAGES_FILE
//   MESSAGES_FILE holds IPSET_CMD_ADD messages back to back (each nlmsg_len long, padded to 4),
//   exactly the bytes the library encodes (the bench writes them with the addon's
//   _encodeElement, or for --batch _encodeElements: an addMany's messages of many entries
//   each), so both sides hand the kernel the same entries. Only their sequence numbers are
//   rewritten. Alone, each is sent with sendto and its ack read before the next; with --batch,
//   as many whole messages as fit in BATCH_SEND bytes go in one sendto and every ack of them is
//   read before the next, as the library's addMany sends them (core/ipset/ipset_socket.cc).
// Prints on stdout the mean time of one add (send + ack) in nanoseconds, or with --batch the
// time of the whole file; a refused add exits 1.
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

// IpsetSocket::kBatchSend: how many bytes of whole messages the library puts in one sendmsg.
#define BATCH_SEND (192 * 1024)

int main(int argc, char** argv) {
  int batch = argc == 3 && strcmp(argv[1], "--batch") == 0;
  if (argc != 2 && !batch) {
    fprintf(stderr, "usage: ipset-floor [--batch] MESSAGES_FILE\n");
    return 2;
  }
  FILE* f = fopen(argv[argc - 1], "rb");
  if (!f) die("open");
  static char msgs[64 << 20];
  size_t len = fread(msgs, 1, sizeof msgs, f);
  fclose(f);
  struct mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) die("mnl_socket_open");
  // Room for a send's acks, as the library's socket has (kRcvBuf).
  int rcvbuf = 1 << 20;
  setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
  unsigned int portid = mnl_socket_get_portid(nl);
  char buf[MNL_SOCKET_BUFFER_SIZE];
  uint32_t seq = 1;
  long count = 0;
  long long t0 = now_ns();
  for (size_t at = 0; at + sizeof(struct nlmsghdr) <= len;) {
    // One send: one message alone, or with --batch whole messages up to BATCH_SEND bytes.
    size_t from = at;
    uint32_t first = seq;
    do {
      struct nlmsghdr* m = (struct nlmsghdr*)(msgs + at);
      if (m->nlmsg_len < sizeof *m || at + m->nlmsg_len > len) {
        fprintf(stderr, "ipset-floor: malformed message file\n");
        return 1;
      }
      m->nlmsg_seq = seq++;
      at += MNL_ALIGN(m->nlmsg_len);
    } while (batch && at + sizeof(struct nlmsghdr) <= len &&
             at - from + MNL_ALIGN(((struct nlmsghdr*)(msgs + at))->nlmsg_len) <= BATCH_SEND);
    if (mnl_socket_sendto(nl, msgs + from, at - from) < 0) die("sendto");
    for (uint32_t s = first; s < seq; s++) {
      ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof buf);
      if (n < 0) die("recv");
      // One ack per receive (netlink queues each as an skb of its own).
      if (mnl_cb_run(buf, n, s, portid, NULL, NULL) < 0) die("add refused");
    }
    count += seq - first;
  }
  long long elapsed = now_ns() - t0;
  mnl_socket_close(nl);
  printf("%lld\n", batch ? elapsed : count ? elapsed / count : 0);
  return 0;
}
