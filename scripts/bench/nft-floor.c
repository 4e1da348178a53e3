// SPDX-License-Identifier: GPL-2.0-or-later
// The nf_tables floor for `npm run bench`: one netlink batch carrying rules already encoded,
// and nothing else (no generation-id read, no cache, no namespace switch, no rule parsing),
// timed in-process so process start-up and `ip netns exec` are not counted. Run inside the
// target namespace; built by the bench with `cc -O2 ... $(pkg-config --cflags --libs libmnl
// libnftnl)`.
//
// Usage: nft-floor batch MESSAGES_FILE
//   Opens a netfilter netlink socket, sends BATCH_BEGIN, every NFT_MSG_NEWRULE in the file and
//   BATCH_END in one sendmsg, reads the error replies without waiting, closes the socket.
//   One message is row 1 (append); N messages are row 2 (one transaction).
//        nft-floor guarded MESSAGES_FILE
//   The same batch with what the library adds for its guarantees, to apportion its gap to the
//   floor: an NFT_MSG_GETGEN round trip first, that generation id in BATCH_BEGIN (a concurrent
//   writer's commit fails the batch with ERESTART instead of being overrun), and NLM_F_ECHO on
//   each rule (the kernel sends it back with its handle, for later deletes without a dump).
//        nft-floor delete-last TABLE CHAIN
//   Row 3: finds the handle of the chain's last rule (a dump, not timed: the floor is handed
//   the handle, as a writer with a perfect cache would be), then times socket open + one batch
//   with the NFT_MSG_DELRULE by handle + close: what the kernel charges for a delete.
//        nft-floor each MESSAGES_FILE
//   Set adds (bench group nft-sets): every NEWSETELEM of the file in a batch of its own
//   (BATCH_BEGIN, it, BATCH_END in one sendmsg, its error replies read without waiting), one
//   after another on one socket opened before the clock starts, as ipset-floor sends its ADD
//   messages: prints the mean time of one batch. What the kernel charges for one add.
// MESSAGES_FILE holds NEWRULE messages back to back (each nlmsg_len long, padded to 4), exactly
// the bytes the library encodes (the bench writes them with the addon's _encodeNftRule), so
// both sides hand the kernel the same rules. Only their sequence numbers are rewritten.
// The table and chain must exist: a minimal batch does not create them.
// Prints the timed part (socket open to close) in nanoseconds on stdout.
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
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

static uint64_t last_handle;

static int on_rule(const struct nlmsghdr* nlh, void* data) {
  (void)data;
  struct nftnl_rule* r = nftnl_rule_alloc();
  if (nftnl_rule_nlmsg_parse(nlh, r) == 0) last_handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
  nftnl_rule_free(r);
  return MNL_CB_OK;
}

/** The handle of the last rule in TABLE/CHAIN (ipv4), by a GETRULE dump. */
static uint64_t find_last(const char* table, const char* chain) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) die("mnl_socket_open");
  struct nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_IPV4, NLM_F_DUMP, 1);
  struct nftnl_rule* r = nftnl_rule_alloc();
  nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
  nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
  nftnl_rule_nlmsg_build_payload(nlh, r);
  nftnl_rule_free(r);
  if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) die("sendto");
  unsigned int portid = mnl_socket_get_portid(nl);
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof buf);
    if (n < 0) die("recv");
    int ret = mnl_cb_run(buf, n, 1, portid, on_rule, NULL);
    if (ret < 0) die("dump");
    if (ret == MNL_CB_STOP) break;
  }
  mnl_socket_close(nl);
  if (!last_handle) {
    fprintf(stderr, "nft-floor: %s/%s has no rule\n", table, chain);
    exit(1);
  }
  return last_handle;
}

/** One DELRULE by handle, as a message of its own (padded), into `out`; returns its length. */
static size_t delrule(char* out, const char* table, const char* chain, uint64_t handle) {
  struct nlmsghdr* nlh = nftnl_nlmsg_build_hdr(out, NFT_MSG_DELRULE, NFPROTO_IPV4, 0, 0);
  struct nftnl_rule* r = nftnl_rule_alloc();
  nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
  nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
  nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
  nftnl_rule_nlmsg_build_payload(nlh, r);
  nftnl_rule_free(r);
  return MNL_ALIGN(nlh->nlmsg_len);
}

static uint32_t genid;

static int on_gen_attr(const struct nlattr* a, void* data) {
  (void)data;
  if (mnl_attr_get_type(a) == NFTA_GEN_ID) genid = ntohl(mnl_attr_get_u32(a));
  return MNL_CB_OK;
}

static int on_gen(const struct nlmsghdr* nlh, void* data) {
  return mnl_attr_parse(nlh, sizeof(struct nfgenmsg), on_gen_attr, data);
}

/** The ruleset's generation id: one GETGEN request and its reply. */
static uint32_t get_gen(struct mnl_socket* nl) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, 0, 1);
  if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) die("getgen");
  ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof buf);
  if (n < 0 || mnl_cb_run(buf, n, 1, mnl_socket_get_portid(nl), on_gen, NULL) < 0) die("getgen reply");
  return genid;
}

/** `each` mode: each message of rules[0..len) in a batch of its own on one open socket; the mean ns of one. */
static long long each_alone(const unsigned char* msgs, size_t len) {
  struct mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) die("mnl_socket_open");
  char batch[MNL_SOCKET_BUFFER_SIZE];
  char buf[MNL_SOCKET_BUFFER_SIZE];
  uint32_t seq = 1;
  long count = 0;
  long long start = now_ns();
  for (size_t at = 0; at + sizeof(struct nlmsghdr) <= len;) {
    const struct nlmsghdr* m = (const struct nlmsghdr*)(msgs + at);
    if (m->nlmsg_len < sizeof *m || at + m->nlmsg_len > len || m->nlmsg_len > sizeof batch - 256) {
      fprintf(stderr, "nft-floor: malformed message at %zu\n", at);
      exit(2);
    }
    size_t off = nftnl_batch_begin(batch, seq++)->nlmsg_len;
    memcpy(batch + off, m, m->nlmsg_len);
    ((struct nlmsghdr*)(batch + off))->nlmsg_seq = seq++;
    off += MNL_ALIGN(m->nlmsg_len);
    off += nftnl_batch_end(batch + off, seq++)->nlmsg_len;
    if (mnl_socket_sendto(nl, batch, off) < 0) die("sendto");
    // Run in the sender's context: a refusal is queued before sendmsg returns.
    ssize_t n = recv(mnl_socket_get_fd(nl), buf, sizeof buf, MSG_DONTWAIT);
    if (n >= 0) {
      errno = EEXIST;
      die("add refused");
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) die("recv");
    at += MNL_ALIGN(m->nlmsg_len);
    count++;
  }
  long long elapsed = now_ns() - start;
  mnl_socket_close(nl);
  return count ? elapsed / count : 0;
}

int main(int argc, char** argv) {
  int del = argc == 4 && strcmp(argv[1], "delete-last") == 0;
  int guarded = argc == 3 && strcmp(argv[1], "guarded") == 0;
  int each = argc == 3 && strcmp(argv[1], "each") == 0;
  if (!del && !guarded && !each && !(argc == 3 && strcmp(argv[1], "batch") == 0)) {
    fprintf(stderr, "usage: nft-floor batch|guarded|each MESSAGES_FILE | delete-last TABLE CHAIN\n");
    return 2;
  }
  size_t cap = 1 << 16, len = 0;
  unsigned char* rules = malloc(cap);
  if (del) {
    len = delrule((char*)rules, argv[2], argv[3], find_last(argv[2], argv[3]));
  } else {
    FILE* f = fopen(argv[2], "rb");
    if (!f) {
      perror(argv[2]);
      return 1;
    }
    for (size_t n; (n = fread(rules + len, 1, cap - len, f)) > 0;) {
      len += n;
      if (len == cap) rules = realloc(rules, cap *= 2);
    }
    fclose(f);
  }
  if (len == 0) return 2;
  if (each) {
    printf("%lld\n", each_alone(rules, len));
    return 0;
  }

  // The whole batch is built before the clock starts: the library's encoding is its own cost,
  // measured on its side; the floor is what the kernel needs from any writer.
  size_t total = len + 2 * MNL_SOCKET_BUFFER_SIZE;
  char* batch = malloc(total);
  // BATCH_BEGIN goes in last (a guarded batch carries the generation id read after the clock
  // starts), in a slot of its own size: with the id it is 4 + 4 bytes longer.
  const size_t begin_slot = MNL_ALIGN(sizeof(struct nlmsghdr)) + MNL_ALIGN(sizeof(struct nfgenmsg)) + (guarded ? MNL_ATTR_HDRLEN + 4 : 0);
  uint32_t seq = 2;
  size_t off = begin_slot;
  struct nlmsghdr* nlh;
  for (size_t at = 0; at < len;) {
    struct nlmsghdr* m = (struct nlmsghdr*)(rules + at);
    if (m->nlmsg_len < sizeof *m || at + m->nlmsg_len > len) {
      fprintf(stderr, "nft-floor: truncated message at %zu\n", at);
      return 2;
    }
    memcpy(batch + off, m, m->nlmsg_len);
    ((struct nlmsghdr*)(batch + off))->nlmsg_seq = seq++;
    if (guarded) ((struct nlmsghdr*)(batch + off))->nlmsg_flags |= NLM_F_ECHO;
    off += MNL_ALIGN(m->nlmsg_len);
    at += MNL_ALIGN(m->nlmsg_len);
  }
  nlh = nftnl_batch_end(batch + off, seq++);
  off += nlh->nlmsg_len;

  long long start = now_ns();
  struct mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (!nl) die("mnl_socket_open");
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) die("mnl_socket_bind");
  nlh = nftnl_batch_begin(batch, 1);
  if (guarded) mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(get_gen(nl)));
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
