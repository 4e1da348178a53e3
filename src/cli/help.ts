// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `--help` texts: the overview (every command, the global options once, exit codes and the
 * iptables man page's connlimit examples) and one short text per command with only the options
 * that command takes.
 */

const RULE_OPTIONS = `Options:
  --family ipv4|ipv6     default ipv4
  --table NAME, -t NAME  filter (default), mangle, raw, security, nat
  --backend B            auto (default: what the system's iptables uses), legacy, nft, nftables
  --netns NAME|PATH      a network namespace (/run/netns/NAME or a path)
  --lock-timeout MS      how long to wait for the xtables lock (default 5000)
  --json                 one JSON object: {"ok":true,"backend":...}`;

const FILTERS = `Filter (conntrack -L's): -p PROTO, -s ADDR[/LEN], -d ADDR[/LEN], --sport P[:P], --dport P[:P],
  --state S[,S], --mark V[/MASK], --zone N; --family ipv4|ipv6 limits to one family.
Live connections only (TCP in TIME_WAIT or CLOSE skipped, as connlimit counts), unless
  --all-states (every conntrack entry) or --state names the states.
  --netns NAME|PATH      a network namespace`;

const EXAMPLES = `Examples (iptables(8), connlimit):
  # allow 2 telnet connections per client host
  connlimit add INPUT -p tcp --syn --dport 23 -m connlimit --connlimit-above 2 -j REJECT
  # you can also match the other way around
  connlimit add INPUT -p tcp --syn --dport 23 -m connlimit --connlimit-upto 2 -j ACCEPT
  # limit the number of parallel HTTP requests to 16 per class C sized source network
  connlimit add INPUT -p tcp --syn --dport 80 -m connlimit --connlimit-above 16 --connlimit-mask 24 -j REJECT
  # the same for the link local network (ipv6)
  connlimit add --family ipv6 INPUT -p tcp --syn --dport 80 -s fe80::/64 -m connlimit --connlimit-above 16 --connlimit-mask 64 -j REJECT`;

const SSH = '-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT';

/** Each command: its usage lines, what it does, its own options, an example. */
export const COMMAND_HELP: Record<string, string> = {
  add: `connlimit add [OPTIONS] CHAIN RULE...\n  Append a rule (iptables -A).\n\n${RULE_OPTIONS}\n\n  e.g. connlimit add INPUT ${SSH}`,
  insert: `connlimit insert [OPTIONS] CHAIN [POSITION] RULE...\n  Insert a rule at a 1-based position, default 1 (iptables -I). --json adds "position".\n\n${RULE_OPTIONS}\n\n  e.g. connlimit insert INPUT 2 ${SSH}`,
  ensure: `connlimit ensure [OPTIONS] CHAIN RULE...\n  Append the rule unless an equal one is there; prints added or present (--json: "added").\n\n${RULE_OPTIONS}\n\n  e.g. connlimit ensure INPUT ${SSH}`,
  rm: `connlimit rm [OPTIONS] CHAIN RULE...|POSITION\n  Delete the first rule equal in meaning, or the rule at a position (iptables -D). --json: "position".\n\n${RULE_OPTIONS}\n\n  e.g. connlimit rm INPUT ${SSH}`,
  check: `connlimit check [OPTIONS] CHAIN RULE...\n  Exit 0 when an equal rule exists, 1 when not (iptables -C). --json: "exists".\n\n${RULE_OPTIONS}\n\n  e.g. connlimit check INPUT ${SSH}`,
  ls: `connlimit ls [OPTIONS] [CHAIN]\n  List rules as iptables -S prints them; --json: "rules", each with its position and counters.\n\n${RULE_OPTIONS}`,
  save: `connlimit save [OPTIONS]\n  Print the table as iptables-save does; --json: "table", "family", "chains".\n\n${RULE_OPTIONS}`,
  flush:
    'connlimit flush [OPTIONS] [CHAIN]\n' +
    'connlimit flush --backend nftables --all [--family F] [--netns N]\n' +
    '  Delete every rule of a chain, or of every chain (iptables -F). With --all (backend nftables only):\n' +
    '  delete every table of the native nftables form (connlimit, connlimit_1, ...) with all they hold,\n' +
    `  in one batch per family; both families unless --family is given. --json: "removed":{"ipv4":N,...}.\n\n${RULE_OPTIONS}`,
  apply:
    'connlimit apply [OPTIONS] FILE [--dry-run | --watch]\n' +
    '  Make the table hold the chains FILE (YAML or JSON, docs/apply.md) owns, their rules in order,\n' +
    '  and the jumps into them, in one transaction that changes only what differs (nothing when\n' +
    '  nothing does). Prints the plan as a diff; --dry-run commits nothing; --json: "plan".\n' +
    '  --watch: keep it until SIGTERM/SIGINT (exit 0): re-apply whenever the owned state drifts, a\n' +
    '  line per drift and repair (--json: one object per line, "event": applied|drift|stopped).\n\n' +
    `${RULE_OPTIONS}\n\n  e.g. connlimit apply --backend nft limits.yaml --dry-run`,
  restore:
    'connlimit restore [OPTIONS] [--noflush] [FILE]\n' +
    '  Restore iptables-save text (FILE, or stdin) as iptables-restore does, each table in one commit,\n' +
    '  in input order: without --noflush each table is replaced whole; with it, rules are appended and\n' +
    '  only the user chains the input declares are flushed. --table restores that table only. Every\n' +
    '  line is checked before anything is opened: a rule outside the rule language names its line.\n' +
    '  Counters are read and not set. --json: "tables":[{"table","backend","chains","rules"}].\n\n' +
    `${RULE_OPTIONS}\n\n  e.g. connlimit restore --backend legacy < /etc/iptables/rules.v4`,
  remove:
    'connlimit remove [OPTIONS] FILE [--dry-run]\n' +
    'connlimit remove [OPTIONS] --owner NAME [--dry-run]\n' +
    '  Delete the jumps into the chains FILE owns, and the chains, in one transaction. With --owner,\n' +
    '  the chains named NAME-... (a file with "owner: NAME" names its chains so), found without the file.\n\n' +
    `${RULE_OPTIONS}`,
  count:
    'connlimit count [FILTER...] [--all-states] [--by source|destination] [--mask N] [--mask6 N] [--top N]\n' +
    'connlimit count --rule RULE [--top N]\n' +
    '  How many connections match: in all, or per client address (block) with --by/--mask/--top;\n' +
    '  with --rule, what a connlimit rule counts per client, beside its limit and what is left.\n' +
    '  --json: {"ok":true,"count":N} or {"ok":true,"clients":[{"key","count"[,"limit","headroom"]}]}.\n\n' +
    `${FILTERS}\n\n` +
    '  e.g. connlimit count -p tcp --dport 80 --by source --mask 24 --top 10\n' +
    `       connlimit count --rule '${SSH}'`,
  watch:
    'connlimit watch [FILTER...] [--all-states] [--by ...] [--mask N] [--threshold N] [--hold MS]\n' +
    'connlimit watch --rule RULE [--threshold N] [--hold MS]\n' +
    "  One line per change of a client's count, from live conntrack events, until Ctrl-C (NDJSON with\n" +
    "  --json). With --threshold (or a rule's limit): also a line when a client goes above it or back\n" +
    '  below, once the crossing has lasted --hold MS (default 1000; 0 prints every crossing at once),\n' +
    '  so a refused attempt, whose entry lives for an instant, prints no alert.\n\n' +
    `${FILTERS}\n\n` +
    '  e.g. connlimit watch -p tcp --dport 22 --threshold 10 --json',
  top:
    'connlimit top [FILTER...] [--all-states] [--by ...] [--mask N] [--interval MS]\n' +
    'connlimit top --rule RULE [--interval MS]\n' +
    "  The busiest clients, live, full screen: count, change, load bar (against the rule's limit with\n" +
    '  --rule), recent history. q or Ctrl-C quits. Not on a terminal: one line per interval (--json: NDJSON).\n\n' +
    `${FILTERS}\n\n` +
    "  e.g. connlimit top --rule '-p tcp --syn --dport 443 -m connlimit --connlimit-above 50 --connlimit-mask 24 -j REJECT'",
  set:
    'connlimit set create NAME TYPE [--timeout T] [--maxelem N] [--hashsize N] [--counters] [--comment] [--exist]\n' +
    'connlimit set add|del NAME ENTRY [--timeout T] [--comment TEXT] [--nomatch] [--exist]\n' +
    'connlimit set test NAME ENTRY [--nomatch]\n' +
    'connlimit set ls|flush|destroy|rename|swap ...\n' +
    '  Client sets (ipset) over netlink, no ipset process: TYPE hash:ip, hash:net, hash:ip,port,\n' +
    '  hash:net,port, hash:ip,port,ip or hash:net,iface (--family ipv6 for inet6 sets); ENTRY as\n' +
    '  ipset writes it (10.0.0.0/24, 10.0.0.1,tcp:80, 10.0.0.1,udp:53,10.0.0.2, 10.0.0.0/24,eth0);\n' +
    '  T in seconds or 30s/10m/2h/1d. test exits 1 when the entry is not in the set (with --nomatch:\n' +
    '  not in it as a nomatch entry).',
  ban:
    'connlimit ban ADDR [--for DURATION] [--set NAME]\n' +
    '  Put ADDR in the ban set (connlimit-ban, or connlimit-ban6 for IPv6; hash:ip with timeouts,\n' +
    '  made when missing), for a while with --for 10m. Only membership: one rule makes it bite, e.g.\n' +
    '    iptables -I INPUT -m set --match-set connlimit-ban src -j DROP',
  unban: 'connlimit unban ADDR [--set NAME]\n  Take ADDR out of the ban set; no error when it was not in it.',
  metrics:
    'connlimit metrics [OPTIONS] [--listen HOST:PORT] [--rules connlimit|all] [--watch-rule RULE]...\n' +
    '  Serve rule counters and connlimit limits at http://HOST:PORT/metrics (default 127.0.0.1:9464)\n' +
    '  through prom-client (install it beside connlimit), in the Prometheus text format, or OpenMetrics\n' +
    '  when the scraper asks, gzipped when it accepts gzip, until Ctrl-C. Both families unless --family;\n' +
    '  connlimit rules only unless --rules all. Each --watch-rule adds live per-client counts of what\n' +
    '  that connlimit rule counts. --json: {"ok":true,"listening":URL}. A port in use exits 1.\n\n' +
    `${RULE_OPTIONS}`,
};

const GLOBAL = `Options (long ones anywhere; after -- only the rule):
  --family ipv4|ipv6     default ipv4 (count, watch, top, metrics, flush --all: both unless given)
  --table NAME, -t NAME  filter (default), mangle, raw, security, nat
  --backend B            auto (the default: what the system's iptables uses for the table),
                         legacy (x_tables via libiptc), nft (nf_tables as iptables-nft writes
                         it) or nftables (native nftables form in tables of its own: DROP and
                         REJECT rules only, docs/nft.md)
  --netns NAME|PATH      a network namespace (/run/netns/NAME or a path)
  --lock-timeout MS      how long to wait for the xtables lock (default 5000)
  --json                 machine-readable output: one object {"ok":true,...} per command
                         ({"ok":false,"error":{code,message}} on failure); watch and top: NDJSON
  --help, -h             help; COMMAND --help for one command's options
  --version              the version`;

export function usage(command?: string): string {
  const one = command ? COMMAND_HELP[command] : undefined;
  if (one) return `${one}\n`;
  const list = Object.values(COMMAND_HELP)
    .map((h) => `  ${h.split('\n')[0]}`)
    .join('\n');
  return `connlimit: limit parallel connections per client with the kernel's connlimit match, fork-free.

Usage:
${list}

${GLOBAL}

Exit codes: 0 ok, 1 failure (or check: no such rule), 2 bad usage, 3 permission, 4 lock busy,
5 not found, 6 kernel support missing.

${EXAMPLES}
`;
}
