// SPDX-License-Identifier: GPL-2.0-or-later
// The nf_tables floor for `npm run bench`: one netlink batch carrying rules already encoded,
// and nothing else (no generation-id read, no cache, no namespace switch, no rule parsing),
// timed in-process so process start-up and `ip netns exec` are not counted. Run inside the
// target namespace; built by the bench with `cc -O2 ... $(pkg-config --cflags --libs libmnl
// libnftnl)`.
//
// Usage: nft-floor MESSAGES_FILE
//   Opens a netfilter netlink socket, sends BATCH_BEGIN, every NFT_MSG_NEWRULE in the file and
//   BATCH_END in one sendmsg, reads the error replies without waiting, closes the socket.
//   One message is row 1 (append); N messages are row 2 (one transaction).
// MESSAGES_FILE holds NEWRULE messages back to back (each nlmsg_len long, padded to 4), exactly
// the bytes the library encodes (the bench writes them with the addon's _encodeNftRule), so
// both sides hand the kernel the same rules. Only their sequence numbers are rewritten.
// The table and chain must exist: a minimal batch does not create them.
// Prints the timed part (socket open to close) in nanoseconds on stdout.
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
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
  fprintf(stderr, "nft-floor: %s: %s\n", what, strerror(errno));
  exit(1);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: nft-floor MESSAGES_FILE\n");
    return 2;
  }
  FILE* f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  size_t cap = 1 << 16, len = 0;
  unsigned char* rules = malloc(cap);
  for (size_t n; (n = fread(rules + len, 1, cap - len, f)) > 0;) {
    len += n;
    if (len == cap) rules = realloc(rules, cap *= 2);
  }
  fclose(f);
  if (len == 0) return 2;

  // The whole batch is built before the clock starts: the library's encoding is its own cost,
  // measured on its side; the floor is what the kernel needs from any writer.
  size_t total = len + 2 * MNL_SOCKET_BUFFER_SIZE;
  char* batch = malloc(total);
  uint32_t seq = 1;
  size_t off = 0;
  struct nlmsghdr* nlh = nftnl_batch_begin(batch, seq++);
  off += nlh->nlmsg_len;
  for (size_t at = 0; at < len;) {
    struct nlmsghdr* m = (struct nlmsghdr*)(rules + at);
    if (m->nlmsg_len < sizeof *m || at + m->nlmsg_len > len) {
      fprintf(stderr, "nft-floor: truncated message at %zu\n", at);
      return 2;
    }
    memcpy(batch + off, m, m->nlmsg_len);
    ((struct nlmsghdr*)(batch + off))->nlmsg_seq = seq++;
    off += MNL_ALIGN(m->nlmsg_len);
    at += MNL_ALIGN(m->nlmsg_len);
  }
  nlh = nftnl_batch_end(batch + off, seq++);
  off += nlh->nlmsg_len;

  long long start = now_ns();
  struct mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (!nl) die("mnl_socket_open");
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) die("mnl_socket_bind");
  // A large transaction is one message larger than the default send buffer (as the library
  // and iptables-nft-restore do).
  if (off > (1 << 17)) {
    int size = (int)off + (1 << 16);
    setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size);
  }
  if (mnl_socket_sendto(nl, batch, off) < 0) die("sendto");
  // nfnetlink runs the batch in the sender's context: any error is queued before sendmsg
  // returns, so a non-blocking read sees all of them.
  char buf[MNL_SOCKET_BUFFER_SIZE];
  int err = 0;
  for (;;) {
    ssize_t n = recv(mnl_socket_get_fd(nl), buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      die("recv");
    }
    int left = (int)n;
    for (struct nlmsghdr* r = (struct nlmsghdr*)buf; mnl_nlmsg_ok(r, left); r = mnl_nlmsg_next(r, &left)) {
      if (r->nlmsg_type != NLMSG_ERROR) continue;
      const struct nlmsgerr* e = mnl_nlmsg_get_payload(r);
      if (e->error && !err) err = -e->error;
    }
  }
  mnl_socket_close(nl);
  long long elapsed = now_ns() - start;
  if (err) {
    errno = err;
    die("batch");
  }
  printf("%lld\n", elapsed);
  free(batch);
  free(rules);
  return 0;
}
