// SPDX-License-Identifier: GPL-2.0-or-later
// The legacy floor for `npm run bench`: the libiptc calls one library write makes, and nothing
// else (no lock, no namespace switch, no rule parsing), timed in-process so process start-up
// and `ip netns exec` are not counted. Run inside the target namespace; built by the bench with
// `cc -O2 ... $(pkg-config --cflags --libs libip4tc)`.
//
// Usage: iptc-floor MODE TABLE CHAIN ENTRIES_FILE
//   append  iptc_init, append the one entry, iptc_commit, iptc_free      (row 1)
//   batch   iptc_init, append every entry, one iptc_commit, iptc_free    (row 2)
//   delete  iptc_init, iptc_delete_entry (first equal entry), commit, free (row 3)
//   restore what iptables-restore does with a saved table (row 11): iptc_init, flush every
//           chain, delete the user chains, create CHAIN, append the file's first entry (the
//           jump to CHAIN) to INPUT and the rest to CHAIN, set the three policies (FORWARD
//           DROP, as the saved text says), one iptc_commit, iptc_free
//   replace the kernel's part of row 11 alone, no libiptc: the table as it is (row 11's, which
//           the rounds before left in it; read untimed) written back whole: IPT_SO_GET_INFO for
//           its entry count and one IPT_SO_SET_REPLACE of the same entries, which checks the
//           new rules and destroys the old ones' conncount state as any replace does. No
//           writer of that table can take less. (ENTRIES_FILE is read, not used.)
// ENTRIES_FILE holds ipt_entry blobs back to back (each next_offset long), exactly the bytes
// the library encodes (the bench writes them with the addon's _encodeLegacyRule), so both
// sides hand the kernel the same rules.
// Prints the timed part in nanoseconds on stdout. A first iptc_init/iptc_free is not timed:
// the library's handle is warm too (Firewall.open probed the table).
#include <errno.h>
#include <libiptc/libiptc.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char* what) {
  fprintf(stderr, "iptc-floor: %s: %s\n", what, iptc_strerror(errno));
  exit(1);
}

// The table replaced whole by a saved text of policies, CHAIN, INPUT's jump to it and CHAIN's rules.
static void restore(struct xtc_handle* h, const char* chain, const unsigned char* buf, size_t len) {
  for (const char* c = iptc_first_chain(h); c; c = iptc_next_chain(h))
    if (!iptc_flush_entries(c, h)) die("iptc_flush_entries");
  // Deleting a chain ends the walk's cursor: start again after each one.
  for (int again = 1; again;) {
    again = 0;
    for (const char* c = iptc_first_chain(h); c; c = iptc_next_chain(h)) {
      if (iptc_builtin(c, h)) continue;
      if (!iptc_delete_chain(c, h)) die("iptc_delete_chain");
      again = 1;
      break;
    }
  }
  if (!iptc_create_chain(chain, h)) die("iptc_create_chain");
  for (size_t off = 0; off < len;) {
    const struct ipt_entry* e = (const struct ipt_entry*)(buf + off);
    if (!iptc_append_entry(off == 0 ? "INPUT" : chain, e, h)) die("iptc_append_entry");
    off += e->next_offset;
  }
  static const char* const policies[][2] = {{"INPUT", "ACCEPT"}, {"FORWARD", "DROP"}, {"OUTPUT", "ACCEPT"}};
  for (size_t i = 0; i < 3; i++)
    if (!iptc_set_policy(policies[i][0], policies[i][1], NULL, h)) die("iptc_set_policy");
}

static void fail(const char* what) {
  fprintf(stderr, "iptc-floor: %s: %s\n", what, strerror(errno));
  exit(1);
}

// The table's entries written back as they are; returns the timed part in nanoseconds.
static long long replace(const char* table) {
  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
  if (fd < 0) fail("socket");
  struct ipt_getinfo info = {0};
  strncpy(info.name, table, sizeof info.name - 1);
  socklen_t len = sizeof info;
  if (getsockopt(fd, IPPROTO_IP, IPT_SO_GET_INFO, &info, &len) < 0) fail("IPT_SO_GET_INFO");
  struct ipt_get_entries* got = calloc(1, sizeof *got + info.size);
  strcpy(got->name, info.name);
  got->size = info.size;
  len = sizeof *got + info.size;
  if (getsockopt(fd, IPPROTO_IP, IPT_SO_GET_ENTRIES, got, &len) < 0) fail("IPT_SO_GET_ENTRIES");
  struct ipt_replace* repl = calloc(1, sizeof *repl + info.size);
  strcpy(repl->name, info.name);
  repl->valid_hooks = info.valid_hooks;
  repl->num_entries = info.num_entries;
  repl->size = info.size;
  memcpy(repl->hook_entry, info.hook_entry, sizeof repl->hook_entry);
  memcpy(repl->underflow, info.underflow, sizeof repl->underflow);
  memcpy(repl->entries, got->entrytable, info.size);
  struct xt_counters* counters = calloc(info.num_entries, sizeof *counters);
  long long start = now_ns();
  len = sizeof info;
  if (getsockopt(fd, IPPROTO_IP, IPT_SO_GET_INFO, &info, &len) < 0) fail("IPT_SO_GET_INFO");
  repl->num_counters = info.num_entries;
  repl->counters = counters;
  if (setsockopt(fd, IPPROTO_IP, IPT_SO_SET_REPLACE, repl, sizeof *repl + info.size) < 0) fail("IPT_SO_SET_REPLACE");
  long long elapsed = now_ns() - start;
  free(counters);
  free(repl);
  free(got);
  return elapsed;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: iptc-floor append|batch|delete|restore|replace TABLE CHAIN ENTRIES_FILE\n");
    return 2;
  }
  const char *mode = argv[1], *table = argv[2], *chain = argv[3];
  FILE* f = fopen(argv[4], "rb");
  if (!f) {
    perror(argv[4]);
    return 1;
  }
  size_t cap = 1 << 16, len = 0;
  unsigned char* buf = malloc(cap);
  for (size_t n; (n = fread(buf + len, 1, cap - len, f)) > 0;) {
    len += n;
    if (len == cap) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  if (len == 0) return 2;

  if (strcmp(mode, "replace") == 0) {
    printf("%lld\n", replace(table));
    free(buf);
    return 0;
  }

  struct xtc_handle* warm = iptc_init(table);
  if (!warm) die("iptc_init");
  iptc_free(warm);

  long long start = now_ns();
  struct xtc_handle* h = iptc_init(table);
  if (!h) die("iptc_init");
  if (strcmp(mode, "restore") == 0) {
    restore(h, chain, buf, len);
  } else if (strcmp(mode, "delete") == 0) {
    const struct ipt_entry* e = (const struct ipt_entry*)buf;
    // All-ones mask: compare every byte, as `iptables -D` does with its own mask.
    unsigned char* mask = malloc(e->next_offset);
    memset(mask, 0xff, e->next_offset);
    if (!iptc_delete_entry(chain, e, mask, h)) die("iptc_delete_entry");
    free(mask);
  } else {
    for (size_t off = 0; off < len;) {
      const struct ipt_entry* e = (const struct ipt_entry*)(buf + off);
      if (!iptc_append_entry(chain, e, h)) die("iptc_append_entry");
      off += e->next_offset;
      if (strcmp(mode, "append") == 0) break;
    }
  }
  if (!iptc_commit(h)) die("iptc_commit");
  iptc_free(h);
  long long elapsed = now_ns() - start;
  printf("%lld\n", elapsed);
  free(buf);
  return 0;
}
