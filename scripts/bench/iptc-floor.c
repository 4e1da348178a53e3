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
// ENTRIES_FILE holds ipt_entry blobs back to back (each next_offset long), exactly the bytes
// the library encodes (the bench writes them with the addon's _encodeLegacyRule), so both
// sides hand the kernel the same rules.
// Prints the timed part in nanoseconds on stdout. A first iptc_init/iptc_free is not timed:
// the library's handle is warm too (Firewall.open probed the table).
#include <errno.h>
#include <libiptc/libiptc.h>
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

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: iptc-floor append|batch|delete TABLE CHAIN ENTRIES_FILE\n");
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

  struct xtc_handle* warm = iptc_init(table);
  if (!warm) die("iptc_init");
  iptc_free(warm);

  long long start = now_ns();
  struct xtc_handle* h = iptc_init(table);
  if (!h) die("iptc_init");
  if (strcmp(mode, "delete") == 0) {
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
