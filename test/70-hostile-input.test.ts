// SPDX-License-Identifier: GPL-2.0-or-later
// Reliability: hostile and malformed input at every public entry point. Each bad input gets
// ERR_CONNLIMIT_INVALID (a ValidationError), and the kernel tables, as iptables-legacy-save (or
// iptables-nft-save, for the nft backend) prints them, are the same before and after. The
// conntrack entry points (filters of list/countBy/delete/watch, rules of countFor/watchFor) get
// the same treatment against `conntrack -L`. Then a seeded fuzz loop: random typed specs and
// random iptables-syntax strings never crash or throw anything but a ValidationError, and a
// sample of what passes validation is applied in a namespace, where the kernel must take every
// one (no invalid blob reaches it) and the CLI must print it as we render it.
// The long form is scripts/fuzz.mjs (FUZZ_SEED, FUZZ_ITERATIONS).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Conntrack, Firewall, Sets, parseRule, renderRule, type Backend, type Family, type RuleInput, type RuleSpec } from '../src/index';
import { FUZZ_SETS, randomSpec, randomText, rng } from './helpers/fuzz-gen';
import { createNetns, type Netns } from './helpers/netns';

/** The filter tables of both families as the CLI prints them, without timestamps and counters. */
async function tables(ns: Netns, backend: Backend = 'legacy'): Promise<string> {
  const out: string[] = [];
  for (const cmd of backend === 'nft' ? ['iptables-nft-save', 'ip6tables-nft-save'] : ['iptables-legacy-save', 'ip6tables-legacy-save']) {
    const r = await ns.run(cmd, ['-t', 'filter']);
    out.push(r.stdout.split('\n').filter((l) => !l.startsWith('#')).join('\n').replace(/\[\d+:\d+\]/g, '[0:0]'));
  }
  return out.join('\n');
}

/** What a call did: 'ok', or the error's code (or constructor name when it has none). */
async function outcome(fn: () => unknown): Promise<{ code: string; message: string }> {
  try {
    await fn();
    return { code: 'ok', message: '' };
  } catch (e) {
    const err = e as { code?: unknown; name?: string; message?: string };
    return { code: typeof err.code === 'string' ? err.code : `${err.name ?? typeof e}`, message: String(err.message ?? e) };
  }
}

const throwing = (key: string) =>
  Object.defineProperty({}, key, {
    enumerable: true,
    get() {
      throw new Error('getter says no');
    },
  });
const trap = new Proxy({}, { ownKeys: () => { throw new Error('trap says no'); }, get: () => { throw new Error('trap says no'); } });
const cyclic: Record<string, unknown> = { protocol: 'tcp' };
cyclic.connlimit = cyclic;

// ---------------------------------------------------------------------------------------------
// Bad rules. [label, rule, family]. Each goes through every rule-taking entry point.

const BAD_RULES: Array<[string, unknown, Family]> = [
  // shell metacharacters and control bytes in iptables syntax
  ['semicolon', '-p tcp --dport 22; rm -rf /', 'ipv4'],
  ['and-and', '-j DROP && reboot', 'ipv4'],
  ['pipe', '-j DROP | cat /etc/shadow', 'ipv4'],
  ['backticks', '-j `id`', 'ipv4'],
  ['dollar-paren', '-j $(reboot)', 'ipv4'],
  ['redirect', '-j DROP > /etc/passwd', 'ipv4'],
  ['newline', '-s 10.0.0.1\n-j ACCEPT', 'ipv4'],
  ['NUL at end', '-j DROP\0', 'ipv4'],
  ['NUL inside', '-p tcp\0 --dport 22 -j DROP', 'ipv4'],
  ['NUL in comment', '-m comment --comment "a\0b" -j DROP', 'ipv4'],
  ['newline in comment', '-m comment --comment "a\nb" -j DROP', 'ipv4'],
  ['DEL in comment', '-m comment --comment "a\u007fb" -j DROP', 'ipv4'],
  ['unterminated quote', '-m comment --comment "abc -j DROP', 'ipv4'],
  ['comment 256 chars', `-m comment --comment ${'x'.repeat(256)} -j DROP`, 'ipv4'],
  ['comment 128 two-byte chars', `-m comment --comment ${'é'.repeat(128)} -j DROP`, 'ipv4'],
  ['-A in the rule', '-A INPUT -j DROP', 'ipv4'],
  ['second command', '-j DROP -D INPUT 1', 'ipv4'],
  ['unknown option', '--frobnicate 1 -j DROP', 'ipv4'],
  ['unknown match', '-m nosuchmatch -j DROP', 'ipv4'],
  ['unknown target', '-j NO_SUCH_TARGET!', 'ipv4'],
  ['dangling -j', '-p tcp -j', 'ipv4'],
  ['dangling !', '-p tcp !', 'ipv4'],
  ['double !', '! ! -p tcp -j DROP', 'ipv4'],
  ['port 65536', '-p tcp --dport 65536 -j DROP', 'ipv4'],
  ['port -1', '-p tcp --dport -1 -j DROP', 'ipv4'],
  ['port 1.5', '-p tcp --dport 1.5 -j DROP', 'ipv4'],
  ['port hex', '-p tcp --dport 0x16 -j DROP', 'ipv4'],
  ['port range reversed', '-p tcp --dport 1024:1 -j DROP', 'ipv4'],
  ['port list', '-p tcp --dport 22,23 -j DROP', 'ipv4'],
  ['port without -p', '--dport 22 -j DROP', 'ipv4'],
  ['syn with udp', '-p udp --syn -j DROP', 'ipv4'],
  ['connlimit 2^32', '-m connlimit --connlimit-above 4294967296 -j DROP', 'ipv4'],
  ['connlimit -1', '-m connlimit --connlimit-above -1 -j DROP', 'ipv4'],
  ['connlimit 1.5', '-m connlimit --connlimit-above 1.5 -j DROP', 'ipv4'],
  ['connlimit 1e3', '-m connlimit --connlimit-above 1e3 -j DROP', 'ipv4'],
  ['connlimit no limit', '-m connlimit --connlimit-mask 24 -j DROP', 'ipv4'],
  ['connlimit above and upto', '-m connlimit --connlimit-above 2 --connlimit-upto 3 -j DROP', 'ipv4'],
  ['connlimit saddr and daddr', '-m connlimit --connlimit-above 2 --connlimit-saddr --connlimit-daddr -j DROP', 'ipv4'],
  ['mask 33 in v4', '-m connlimit --connlimit-above 2 --connlimit-mask 33 -j DROP', 'ipv4'],
  ['mask 129 in v6', '-m connlimit --connlimit-above 2 --connlimit-mask 129 -j DROP', 'ipv6'],
  ['mask -1', '-m connlimit --connlimit-above 2 --connlimit-mask -1 -j DROP', 'ipv4'],
  ['source /33', '-s 10.0.0.1/33 -j DROP', 'ipv4'],
  ['source /129', '-s 2001:db8::1/129 -j DROP', 'ipv6'],
  ['v6 address in v4', '-s ::1 -j DROP', 'ipv4'],
  ['v6 destination in v4', '-d 2001:db8::1 -j DROP', 'ipv4'],
  ['v4 address in v6', '-s 10.0.0.1 -j DROP', 'ipv6'],
  ['v4-mapped mask in v6', '-s 2001:db8::/255.255.0.0 -j DROP', 'ipv6'],
  ['host name', '-s host.example -j DROP', 'ipv4'],
  ['256 in an octet', '-s 256.1.1.1 -j DROP', 'ipv4'],
  ['v6 reject in v4', '-j REJECT --reject-with icmp6-no-route', 'ipv4'],
  ['v4 reject in v6', '-j REJECT --reject-with icmp-net-unreachable', 'ipv6'],
  ['echo-reply reject', '-j REJECT --reject-with icmp-echo-reply', 'ipv4'],
  ['tcp-reset without -p tcp', '-j REJECT --reject-with tcp-reset', 'ipv4'],
  ['jump to built-in', '-j INPUT', 'ipv4'],
  ['goto a verdict', '-g DROP', 'ipv4'],
  ['jump name 29 chars', `-j ${'X'.repeat(29)}`, 'ipv4'],
  ['interface 16 chars', `-i ${'x'.repeat(16)} -j DROP`, 'ipv4'],
  ['interface with slash', '-i a/b -j DROP', 'ipv4'],
  ['-f in v6', '-f -j DROP', 'ipv6'],
  ['protocol 256', '-p 256 -j DROP', 'ipv4'],
  ['protocol bogus', '-p bogus -j DROP', 'ipv4'],
  ['tcp flags bogus', '-p tcp --tcp-flags BOGUS SYN -j DROP', 'ipv4'],
  ['tcp option 256', '-p tcp --tcp-option 256 -j DROP', 'ipv4'],
  ['two targets', '-j DROP -j ACCEPT', 'ipv4'],
  ['recent hitcount 256', '-m recent --update --hitcount 256 --name SSH -j DROP', 'ipv4'],
  ['recent seconds 0', '-m recent --rcheck --seconds 0 -j DROP', 'ipv4'],
  ['recent seconds 2^32', '-m recent --rcheck --seconds 4294967296 -j DROP', 'ipv4'],
  ['recent two commands', '-m recent --set --update -j DROP', 'ipv4'],
  ['recent set with seconds', '-m recent --set --seconds 60 -j DROP', 'ipv4'],
  ['recent reap without seconds', '-m recent --rcheck --reap -j DROP', 'ipv4'],
  ['recent name with slash', '-m recent --set --name ../x -j DROP', 'ipv4'],
  ['recent name 200', `-m recent --set --name ${'n'.repeat(200)} -j DROP`, 'ipv4'],
  ['recent mask v6 in v4', '-m recent --set --mask ffff:: -j DROP', 'ipv4'],
  ['hashlimit rate 0', '-m hashlimit --hashlimit-upto 0/sec --hashlimit-name a -j DROP', 'ipv4'],
  ['hashlimit rate too fast', '-m hashlimit --hashlimit-upto 1000001/sec --hashlimit-name a -j DROP', 'ipv4'],
  ['hashlimit unit week', '-m hashlimit --hashlimit-upto 1/week --hashlimit-name a -j DROP', 'ipv4'],
  ['hashlimit burst 0', '-m hashlimit --hashlimit-upto 1/sec --hashlimit-burst 0 --hashlimit-name a -j DROP', 'ipv4'],
  ['hashlimit burst 1000001', '-m hashlimit --hashlimit-upto 1/sec --hashlimit-burst 1000001 --hashlimit-name a -j DROP', 'ipv4'],
  ['hashlimit byte burst for packets', '-m hashlimit --hashlimit-upto 1/sec --hashlimit-burst 4kb --hashlimit-name a -j DROP', 'ipv4'],
  ['hashlimit byte rate too high', '-m hashlimit --hashlimit-upto 32768mb/s --hashlimit-name a -j DROP', 'ipv4'],
  ['hashlimit mode bogus', '-m hashlimit --hashlimit-upto 1/sec --hashlimit-mode srcmac --hashlimit-name a -j DROP', 'ipv4'],
  ['hashlimit srcmask 33', '-m hashlimit --hashlimit-upto 1/sec --hashlimit-srcmask 33 --hashlimit-name a -j DROP', 'ipv4'],
  ['hashlimit htable-size 2^20+1', '-m hashlimit --hashlimit-upto 1/sec --hashlimit-htable-size 1048577 --hashlimit-name a -j DROP', 'ipv4'],
  ['hashlimit expire 0', '-m hashlimit --hashlimit-upto 1/sec --hashlimit-htable-expire 0 --hashlimit-name a -j DROP', 'ipv4'],
  ['hashlimit name 255', `-m hashlimit --hashlimit-upto 1/sec --hashlimit-name ${'n'.repeat(255)} -j DROP`, 'ipv4'],
  ['hashlimit no name', '-m hashlimit --hashlimit-upto 1/sec -j DROP', 'ipv4'],
  ['iprange reversed', '-m iprange --src-range 10.0.0.9-10.0.0.1 -j DROP', 'ipv4'],
  ['iprange host name', '-m iprange --dst-range localhost-10.0.0.1 -j DROP', 'ipv4'],
  ['iprange three parts', '-m iprange --src-range 10.0.0.1-10.0.0.2-10.0.0.3 -j DROP', 'ipv4'],
  ['time 24:00', '-m time --timestart 24:00 -j DROP', 'ipv4'],
  ['time Feb 30', '-m time --datestart 2024-02-30 -j DROP', 'ipv4'],
  ['time year 2039', '-m time --datestop 2039-01-01 -j DROP', 'ipv4'],
  ['time weekday abbreviated', '-m time --weekdays Mo -j DROP', 'ipv4'],
  ['time monthday 32', '-m time --monthdays 32 -j DROP', 'ipv4'],
  ['time no day left', '-m time ! --weekdays Mon,Tue,Wed,Thu,Fri,Sat,Sun -j DROP', 'ipv4'],
  ['time contiguous forward', '-m time --timestart 08:00 --timestop 17:00 --contiguous -j DROP', 'ipv4'],
  ['recent name NUL (typed)', { matches: [{ kind: 'recent', command: 'set', name: 'a\0b' }] }, 'ipv4'],
  ['recent hitCount 0 (typed)', { matches: [{ kind: 'recent', command: 'update', hitCount: 0 }] }, 'ipv4'],
  ['hashlimit rate number (typed)', { matches: [{ kind: 'hashlimit', rate: 5, name: 'a' }] }, 'ipv4'],
  ['hashlimit interval without rate-match (typed)', { matches: [{ kind: 'hashlimit', rate: '5/second', name: 'a', rateInterval: 2 }] }, 'ipv4'],
  ['time weekdays empty (typed)', { matches: [{ kind: 'time', weekdays: [] }] }, 'ipv4'],
  ['iprange no side (typed)', { matches: [{ kind: 'iprange' }] }, 'ipv4'],
  ['multiport 16 ports', `-p tcp -m multiport --dports ${Array.from({ length: 16 }, (_, i) => i + 1).join(',')} -j DROP`, 'ipv4'],
  ['multiport 8 ranges', `-p tcp -m multiport --dports ${Array.from({ length: 8 }, (_, i) => `${i * 10}:${i * 10 + 5}`).join(',')} -j DROP`, 'ipv4'],
  ['multiport port 65536', '-p tcp -m multiport --dports 80,65536 -j DROP', 'ipv4'],
  ['multiport range down', '-p tcp -m multiport --dports 90:80 -j DROP', 'ipv4'],
  ['multiport without -p', '-m multiport --dports 80,443 -j DROP', 'ipv4'],
  ['multiport with -p icmp', '-p icmp -m multiport --dports 80 -j DROP', 'ipv4'],
  ['multiport two lists', '-p tcp -m multiport --dports 80 --sports 1024 -j DROP', 'ipv6'],
  ['multiport NUL', '-p tcp -m multiport --dports "80,\0" -j DROP', 'ipv4'],
  ['icmp unknown name', '-p icmp --icmp-type echo-requests -j DROP', 'ipv4'],
  ['icmp abbreviated', '-p icmp --icmp-type echo-req -j DROP', 'ipv4'],
  ['icmp type 256', '-p icmp --icmp-type 256 -j DROP', 'ipv4'],
  ['icmp code range', '-p icmp --icmp-type 3/1:4 -j DROP', 'ipv4'],
  ['icmp any with code', '-p icmp --icmp-type 255/3 -j DROP', 'ipv4'],
  ['icmp without -p icmp', '-m icmp --icmp-type 8 -j DROP', 'ipv4'],
  ['icmp in v6', '-p icmp --icmp-type 8 -j DROP', 'ipv6'],
  ['icmpv6 name in v4 table', '-p icmpv6 --icmpv6-type echo-request -j DROP', 'ipv4'],
  ['icmpv6 type 1/256', '-p icmpv6 --icmpv6-type 1/256 -j DROP', 'ipv6'],
  ['mac five bytes', '-m mac --mac-source 42:01:02:03:04 -j DROP', 'ipv4'],
  ['mac bad hex', '-m mac --mac-source 42:01:02:03:04:0g -j DROP', 'ipv4'],
  ['mac huge', `-m mac --mac-source ${'a'.repeat(100000)} -j DROP`, 'ipv4'],
  ['set no directions', '-m set --match-set ban -j DROP', 'ipv4'],
  ['set 7 directions', '-m set --match-set ban src,src,src,src,src,src,src -j DROP', 'ipv4'],
  ['set direction prefix', '-m set --match-set ban srcx -j DROP', 'ipv4'],
  ['set empty direction', '-m set --match-set ban src, -j DROP', 'ipv4'],
  ['set name 32 bytes', `-m set --match-set ${'s'.repeat(32)} src -j DROP`, 'ipv4'],
  ['set name NUL', '-m set --match-set "ba\0n" src -j DROP', 'ipv4'],
  ['set twice', '-m set --match-set a src --match-set b dst -j DROP', 'ipv4'],
  ['set counter 2^53', '-m set --match-set ban src --packets-gt 9007199254740992 -j DROP', 'ipv4'],
  ['set counter hex', '-m set --match-set ban src --bytes-eq 0x10 -j DROP', 'ipv4'],
  ['set two packet tests', '-m set --match-set ban src --packets-gt 1 --packets-lt 9 -j DROP', 'ipv4'],
  ['set negated lt', '-m set --match-set ban src ! --packets-lt 9 -j DROP', 'ipv4'],
  ['set negated return-nomatch', '-m set --match-set ban src ! --return-nomatch -j DROP', 'ipv4'],
  ['set without --match-set', '-m set --return-nomatch -j DROP', 'ipv4'],
  ['set typed no dirs', { matches: [{ kind: 'set', set: 'ban', dirs: [] }] }, 'ipv4'],
  ['set typed counter op', { matches: [{ kind: 'set', set: 'ban', dirs: ['src'], bytes: { op: 'ge', value: 1 } }] }, 'ipv4'],
  ['set typed updateCounters string', { matches: [{ kind: 'set', set: 'ban', dirs: ['dst'], updateCounters: 'no' }] }, 'ipv6'],
  ['set typed name with space', { matches: [{ kind: 'set', set: { not: 'a b' }, dirs: ['src'] }] }, 'ipv4'],
  // -j SET
  ['SET no set', '-j SET --exist', 'ipv4'],
  ['SET name 32 bytes', `-j SET --add-set ${'s'.repeat(32)} src`, 'ipv4'],
  ['SET name non-ASCII, 32 bytes', `-j SET --del-set ${'é'.repeat(16)} src`, 'ipv4'],
  ['SET one word', '-j SET --add-set ban', 'ipv4'],
  ['SET bad flags', '-j SET --add-set ban source', 'ipv4'],
  ['SET 7 directions', '-j SET --add-set ban src,dst,src,dst,src,dst,src', 'ipv4'],
  ['SET add twice', '-j SET --add-set a src --add-set b src', 'ipv4'],
  ['SET negated', '-j SET ! --add-set ban src', 'ipv4'],
  ['SET timeout 2^32-1', '-j SET --add-set ban src --timeout 4294967295', 'ipv4'],
  ['SET timeout negative', '-j SET --add-set ban src --timeout -1', 'ipv4'],
  ['SET timeout hex', '-j SET --add-set ban src --timeout 0x10', 'ipv4'],
  ['SET timeout without add', '-j SET --del-set ban src --timeout 5', 'ipv4'],
  ['SET exist without add', '-j SET --del-set ban src --exist', 'ipv6'],
  ['SET map flag without map', '-j SET --add-set ban src --map-mark', 'ipv4'],
  ['SET map without flag', '-j SET --map-set ban src', 'ipv4'],
  ['SET typed empty', { target: { kind: 'set' } }, 'ipv4'],
  ['SET typed timeout too big', { target: { kind: 'set', add: { set: 'ban', dirs: ['src'], timeout: 2 ** 32 - 1 } } }, 'ipv4'],
  ['SET typed timeout fraction', { target: { kind: 'set', add: { set: 'ban', dirs: ['src'], timeout: 1.5 } } }, 'ipv4'],
  ['SET typed exist on del', { target: { kind: 'set', del: { set: 'ban', dirs: ['src'], exist: true } } }, 'ipv4'],
  ['SET typed map no flag', { target: { kind: 'set', map: { set: 'ban', dirs: ['src'] } } }, 'ipv6'],
  ['SET typed map mark false', { target: { kind: 'set', map: { set: 'ban', dirs: ['src'], mark: false } } }, 'ipv4'],
  ['SET typed name 32 bytes', { target: { kind: 'set', add: { set: 's'.repeat(32), dirs: ['dst'] } } }, 'ipv4'],
  ['SET typed dirs string', { target: { kind: 'set', add: { set: 'ban', dirs: 'src' } } }, 'ipv4'],
  ['pkttype unknown', '-m pkttype --pkt-type anycast -j DROP', 'ipv4'],
  ['pkttype number', '-m pkttype --pkt-type 0 -j DROP', 'ipv6'],
  ['pkttype NUL', '-m pkttype --pkt-type "unicast\0" -j DROP', 'ipv4'],
  ['length 65536', '-m length --length 0:65536 -j DROP', 'ipv4'],
  ['length backwards', '-m length --length 9:1 -j DROP', 'ipv6'],
  ['length negative', '-m length --length -1:65535 -j DROP', 'ipv4'],
  ['length three parts', '-m length --length 1:2:3 -j DROP', 'ipv4'],
  ['ttl 256', '-m ttl --ttl-eq 256 -j DROP', 'ipv4'],
  ['ttl in v6', '-m ttl --ttl-eq 1 -j DROP', 'ipv6'],
  ['ttl two tests', '-m ttl --ttl-gt 1 --ttl-lt 9 -j DROP', 'ipv4'],
  ['ttl never', '-m ttl --ttl-lt 0 -j DROP', 'ipv4'],
  ['ttl negated gt', '-m ttl ! --ttl-gt 1 -j DROP', 'ipv4'],
  ['tcpmss without -p tcp', '-m tcpmss --mss 42 -j DROP', 'ipv4'],
  ['tcpmss backwards', '-p tcp -m tcpmss --mss 65535:1000 -j DROP', 'ipv6'],
  ['tcpmss hex', '-p tcp -m tcpmss --mss 0x10 -j DROP', 'ipv4'],
  ['pkttype typed upper case', { matches: [{ kind: 'pkttype', type: 'UNICAST' }] }, 'ipv4'],
  ['length typed 65536', { matches: [{ kind: 'length', length: 65536 }] }, 'ipv4'],
  ['ttl typed op', { matches: [{ kind: 'ttl', op: 'ge', value: 1 }] }, 'ipv4'],
  ['tcpmss typed wrong protocol', { protocol: 'udp', matches: [{ kind: 'tcpmss', mss: 536 }] }, 'ipv4'],
  ['multiport typed 16 ports', { protocol: 'tcp', matches: [{ kind: 'multiport', dports: Array.from({ length: 16 }, (_, i) => i) }] }, 'ipv4'],
  ['multiport typed two lists', { protocol: 'tcp', matches: [{ kind: 'multiport', dports: [80], sports: [1] }] }, 'ipv4'],
  ['multiport typed one-port range', { protocol: 'udp', matches: [{ kind: 'multiport', ports: [{ from: 5, to: 5 }] }] }, 'ipv4'],
  ['icmp typed code 256', { protocol: 'icmp', matches: [{ kind: 'icmp', type: { type: 3, code: 256 } }] }, 'ipv4'],
  ['icmp typed wrong protocol', { protocol: 'tcp', matches: [{ kind: 'icmp', type: 8 }] }, 'ipv4'],
  ['mac typed NUL', { matches: [{ kind: 'mac', source: '42:01:02:03:04:05\0' }] }, 'ipv4'],
  ['mark 2^32', '-m mark --mark 4294967296 -j DROP', 'ipv4'],
  ['mark hex 9 digits', '-m mark --mark 0x100000000 -j DROP', 'ipv4'],
  ['mark octal', '-m mark --mark 010 -j DROP', 'ipv4'],
  ['mark two masks', '-m mark --mark 1/2/3 -j DROP', 'ipv4'],
  ['mark NUL', '-m mark --mark "1\0" -j DROP', 'ipv4'],
  ['mark typed mask -1', { matches: [{ kind: 'mark', mark: 1, mask: -1 }] }, 'ipv4'],
  ['MARK two operations', '-j MARK --set-mark 1 --or-mark 2', 'ipv4'],
  ['MARK or-mark with mask', '-j MARK --or-mark 1/2', 'ipv4'],
  ['MARK typed value 2^32', { target: { kind: 'mark', value: 2 ** 32 } }, 'ipv4'],
  ['CONNMARK no operation', '-j CONNMARK --mask 0xff', 'ipv4'],
  ['CONNMARK mask with set', '-j CONNMARK --set-xmark 1 --ctmask 0xff', 'ipv4'],
  ['CONNMARK shift 33', '-j CONNMARK --save-mark --left-shift-mark 33', 'ipv4'],
  ['CONNMARK mask and nfmask', '-j CONNMARK --restore-mark --mask 1 --nfmask 2', 'ipv4'],
  ['CONNMARK typed unknown mode', { target: { kind: 'connmark', mode: 'copy' } }, 'ipv4'],
  ['CONNMARK typed nfmask with set', { target: { kind: 'connmark', mode: 'set', value: 1, nfmask: 1 } }, 'ipv4'],
  ['NFLOG group 65536', '-j NFLOG --nflog-group 65536', 'ipv4'],
  ['NFLOG range', '-j NFLOG --nflog-range 64', 'ipv4'],
  ['NFLOG prefix 64 bytes', `-j NFLOG --nflog-prefix ${'x'.repeat(64)}`, 'ipv4'],
  ['NFLOG prefix NUL', '-j NFLOG --nflog-prefix "a\0b"', 'ipv4'],
  ['NFLOG prefix newline', '-j NFLOG --nflog-prefix "a\nb"', 'ipv4'],
  ['NFLOG size 2^32', '-j NFLOG --nflog-size 4294967296', 'ipv6'],
  ['NFLOG typed threshold -1', { target: { kind: 'nflog', threshold: -1 } }, 'ipv4'],
  // typed objects
  ['null', null, 'ipv4'],
  ['undefined', undefined, 'ipv4'],
  ['number', 42, 'ipv4'],
  ['array', [], 'ipv4'],
  ['function', () => 1, 'ipv4'],
  ['symbol', Symbol('rule'), 'ipv4'],
  ['bigint', 1n, 'ipv4'],
  ['Date', new Date(0), 'ipv4'],
  ['Map', new Map([['target', { kind: 'drop' }]]), 'ipv4'],
  ['unknown key', { protocol: 'tcp', frobnicate: 1 }, 'ipv4'],
  ['own __proto__ key', JSON.parse('{"__proto__": {"target": {"kind": "drop"}}}'), 'ipv4'],
  ['own constructor key', JSON.parse('{"constructor": {"prototype": {"polluted": true}}}'), 'ipv4'],
  ['nested __proto__', JSON.parse('{"connlimit": {"kind": "above", "count": 1, "__proto__": {"count": 5}}}'), 'ipv4'],
  ['__proto__ in target', JSON.parse('{"target": {"__proto__": {"kind": "drop"}}}'), 'ipv4'],
  ['getter throws', throwing('dport'), 'ipv4'],
  ['nested getter throws', { protocol: 'tcp', connlimit: throwing('count') }, 'ipv4'],
  ['Proxy trap throws', trap, 'ipv4'],
  ['cycle', cyclic, 'ipv4'],
  ['protocol bogus (typed)', { protocol: 'bogus' }, 'ipv4'],
  ['protocol 256 (typed)', { protocol: 256 }, 'ipv4'],
  ['protocol -1', { protocol: -1 }, 'ipv4'],
  ['protocol 1.5', { protocol: 1.5 }, 'ipv4'],
  ['protocol NaN', { protocol: NaN }, 'ipv4'],
  ['dport 65536', { protocol: 'tcp', dport: 65536 }, 'ipv4'],
  ['dport -1', { protocol: 'tcp', dport: -1 }, 'ipv4'],
  ['dport 1.5', { protocol: 'tcp', dport: 1.5 }, 'ipv4'],
  ['dport Infinity', { protocol: 'tcp', dport: Infinity }, 'ipv4'],
  ['dport string', { protocol: 'tcp', dport: '22' }, 'ipv4'],
  ['dport bigint', { protocol: 'tcp', dport: 22n }, 'ipv4'],
  ['dport reversed range', { protocol: 'tcp', dport: { from: 10, to: 5 } }, 'ipv4'],
  ['dport range with extra key', { protocol: 'tcp', dport: { from: 1, to: 5, step: 2 } }, 'ipv4'],
  ['sport without protocol', { sport: 22 }, 'ipv4'],
  ['not with extra key', { protocol: { not: 'tcp', also: 1 } }, 'ipv4'],
  ['connlimit count -1', { connlimit: { kind: 'above', count: -1 } }, 'ipv4'],
  ['connlimit count 2^32', { connlimit: { kind: 'above', count: 2 ** 32 } }, 'ipv4'],
  ['connlimit count 1.5', { connlimit: { kind: 'above', count: 1.5 } }, 'ipv4'],
  ['connlimit count NaN', { connlimit: { kind: 'above', count: NaN } }, 'ipv4'],
  ['connlimit count string', { connlimit: { kind: 'above', count: '2' } }, 'ipv4'],
  ['connlimit no count', { connlimit: { kind: 'above' } }, 'ipv4'],
  ['connlimit kind over', { connlimit: { kind: 'over', count: 2 } }, 'ipv4'],
  ['connlimit maskBits 33', { connlimit: { kind: 'above', count: 2, maskBits: 33 } }, 'ipv4'],
  ['connlimit maskBits 129', { connlimit: { kind: 'above', count: 2, maskBits: 129 } }, 'ipv6'],
  ['connlimit maskBits -1', { connlimit: { kind: 'above', count: 2, maskBits: -1 } }, 'ipv4'],
  ['connlimit maskBits 1.5', { connlimit: { kind: 'above', count: 2, maskBits: 1.5 } }, 'ipv4'],
  ['connlimit key both', { connlimit: { kind: 'above', count: 2, key: 'both' } }, 'ipv4'],
  ['connlimit null', { connlimit: null }, 'ipv4'],
  ['comment 256', { comment: 'x'.repeat(256) }, 'ipv4'],
  ['comment NUL', { comment: 'a\0b' }, 'ipv4'],
  ['comment newline', { comment: 'a\nb' }, 'ipv4'],
  ['comment lone surrogate', { comment: 'a\ud800b' }, 'ipv4'],
  ['comment number', { comment: 5 }, 'ipv4'],
  ['source v6 in v4', { source: '::1' }, 'ipv4'],
  ['source v4 in v6', { source: '10.0.0.1' }, 'ipv6'],
  ['source /33 (typed)', { source: '10.0.0.0/33' }, 'ipv4'],
  ['source number', { source: 167772161 }, 'ipv4'],
  ['source with shell', { source: '10.0.0.1;id' }, 'ipv4'],
  ['interface 16', { inInterface: 'x'.repeat(16) }, 'ipv4'],
  ['interface empty', { inInterface: '' }, 'ipv4'],
  ['interface NUL', { inInterface: 'lo\0' }, 'ipv4'],
  ['interface shell', { inInterface: 'eth0;id' }, 'ipv4'],
  ['fragment in v6', { fragment: true }, 'ipv6'],
  ['fragment number', { fragment: 1 }, 'ipv4'],
  ['syn string', { protocol: 'tcp', syn: 'yes' }, 'ipv4'],
  ['syn and tcpFlags', { protocol: 'tcp', syn: true, tcpFlags: { mask: ['SYN'], set: ['SYN'] } }, 'ipv4'],
  ['tcpFlags bogus', { protocol: 'tcp', tcpFlags: { mask: ['BOGUS'], set: [] } }, 'ipv4'],
  ['tcpFlags set outside mask', { protocol: 'tcp', tcpFlags: { mask: ['SYN'], set: ['ACK'] } }, 'ipv4'],
  ['tcpOption 256', { protocol: 'tcp', tcpOption: 256 }, 'ipv4'],
  ['target string', { target: 'DROP' }, 'ipv4'],
  ['target unknown kind', { target: { kind: 'nope' } }, 'ipv4'],
  ['target jump to built-in', { target: { kind: 'jump', chain: 'INPUT' } }, 'ipv4'],
  ['target jump with shell', { target: { kind: 'jump', chain: 'A;reboot' } }, 'ipv4'],
  ['target jump 29 chars', { target: { kind: 'jump', chain: 'X'.repeat(29) } }, 'ipv4'],
  ['target reject v6 type in v4', { target: { kind: 'reject', with: 'icmp6-no-route' } }, 'ipv4'],
  ['target reject tcp-reset without tcp', { target: { kind: 'reject', with: 'tcp-reset' } }, 'ipv4'],
  ['target with extra key', { target: { kind: 'drop', chain: 'X' } }, 'ipv4'],
  ['opaque name 29 chars', { matches: [{ kind: 'opaque', name: 'x'.repeat(29), revision: 0, data: new Uint8Array(8) }] }, 'ipv4'],
  ['opaque name NUL', { matches: [{ kind: 'opaque', name: 'a\0b', revision: 0, data: new Uint8Array(8) }] }, 'ipv4'],
  ['opaque revision 256', { matches: [{ kind: 'opaque', name: 'mark', revision: 256, data: new Uint8Array(8) }] }, 'ipv4'],
  ['opaque revision -1', { matches: [{ kind: 'opaque', name: 'mark', revision: -1, data: new Uint8Array(8) }] }, 'ipv4'],
  ['opaque data string', { matches: [{ kind: 'opaque', name: 'mark', revision: 0, data: 'abc' }] }, 'ipv4'],
  ['opaque data 3 bytes', { matches: [{ kind: 'opaque', name: 'mark', revision: 0, data: new Uint8Array(3) }] }, 'ipv4'],
  ['opaque data 64 KiB', { matches: [{ kind: 'opaque', name: 'mark', revision: 0, data: new Uint8Array(65536) }] }, 'ipv4'],
  ['matches not an array', { matches: 'mark' }, 'ipv4'],
  ['sparse huge matches', { matches: Object.assign([], { length: 2 ** 31 }) }, 'ipv4'],
  ['limit rate too fast', '-m limit --limit 10001/second -j ACCEPT', 'ipv4'],
  ['limit burst out of range', '-m limit --limit 1/s --limit-burst 10001 -j ACCEPT', 'ipv4'],
  ['limit unit abbreviated', '-m limit --limit 1/mi -j ACCEPT', 'ipv6'],
  ['limit typed rate 0, burst 0', { matches: [{ kind: 'limit', rate: 0, per: 'second', burst: 0 }] }, 'ipv4'],
  ['limit typed huge rate', { matches: [{ kind: 'limit', rate: 2 ** 53, per: 'day' }] }, 'ipv4'],
  ['log prefix 30 bytes', '-j LOG --log-prefix 123456789012345678901234567890', 'ipv4'],
  ['log prefix NUL typed', { target: { kind: 'log', prefix: 'a\0b' } }, 'ipv4'],
  ['log prefix huge typed', { target: { kind: 'log', prefix: 'x'.repeat(1 << 20) } }, 'ipv6'],
  ['log level 8', '-j LOG --log-level 8', 'ipv4'],
  ['log level unknown name', { target: { kind: 'log', level: 'loud' } }, 'ipv4'],
  ['log prefix NUL', '-j LOG --log-prefix "a\0b"', 'ipv4'],
  ['limit rate 0', '-m limit --limit 0/second -j ACCEPT', 'ipv4'],
  ['limit burst 0', '-m limit --limit 1/s --limit-burst 0 -j ACCEPT', 'ipv4'],
  ['limit unit week', '-m limit --limit 1/week -j ACCEPT', 'ipv4'],
  ['state unknown', '-m state --state NEW,BOGUS -j DROP', 'ipv4'],
  ['state empty item', '-m state --state NEW, -j DROP', 'ipv6'],
  ['conntrack unknown ctstate', '-m conntrack --ctstate ESTABLISHEDX -j DROP', 'ipv4'],
  ['conntrack unknown ctstatus', '-m conntrack --ctstatus SEEN -j DROP', 'ipv4'],
  ['conntrack ctdir bogus', '-m conntrack --ctdir SIDEWAYS -j DROP', 'ipv4'],
  ['conntrack ctexpire reversed', '-m conntrack --ctexpire 9:1 -j DROP', 'ipv4'],
  ['conntrack typed unknown state', { matches: [{ kind: 'conntrack', ctstate: ['NEWISH'] }] }, 'ipv4'],
  ['recent name 256 typed', { matches: [{ kind: 'recent', command: 'set', name: 'r'.repeat(256) }] }, 'ipv4'],
  ['time timestop 25:00', '-m time --timestop 25:00 -j DROP', 'ipv4'],
  ['time datestart year 1969', '-m time --datestart 1969-12-31 -j DROP', 'ipv4'],
  ['hashlimit mode typed bogus', { matches: [{ kind: 'hashlimit', rate: '1/second', name: 'a', mode: ['srcmac'] }] }, 'ipv4'],
  ['mark mask over 32 bits', '-m mark --mark 1/0x1ffffffff -j DROP', 'ipv4'],
  ['CONNMARK set-mark 2^32', '-j CONNMARK --set-mark 4294967296', 'ipv6'],
  ['MARK set-xmark mask 2^32', '-j MARK --set-xmark 1/4294967296', 'ipv4'],
  // CT, NOTRACK, NFQUEUE, SYNPROXY, TCPMSS
  ['CT zone 65536', '-j CT --zone 65536', 'ipv4'],
  ['CT zone -1', '-j CT --zone -1', 'ipv4'],
  ['CT two zones', '-j CT --zone-orig 1 --zone-reply 2', 'ipv4'],
  ['CT helper 16 chars', `-p tcp -j CT --helper ${'h'.repeat(16)}`, 'ipv4'],
  ['CT helper NUL', '-p tcp -j CT --helper "ftp\0"', 'ipv4'],
  ['CT helper without -p', '-j CT --helper ftp', 'ipv4'],
  ['CT timeout 32 chars', `-j CT --timeout ${'t'.repeat(32)}`, 'ipv6'],
  ['CT unknown ctevent', '-j CT --ctevents new,everything', 'ipv4'],
  ['CT unknown expevent', '-j CT --expevents destroy', 'ipv4'],
  ['CT typed zone 65536', { target: { kind: 'ct', zone: 65536 } }, 'ipv4'],
  ['CT typed direction bogus', { target: { kind: 'ct', zone: { id: 1, direction: 'both' } } }, 'ipv4'],
  ['CT typed ctevents empty', { target: { kind: 'ct', ctevents: [] } }, 'ipv4'],
  ['NOTRACK with an option', '-j NOTRACK --notrack', 'ipv4'],
  ['NOTRACK typed extra key', { target: { kind: 'notrack', zone: 1 } }, 'ipv4'],
  ['NFQUEUE 65536', '-j NFQUEUE --queue-num 65536', 'ipv4'],
  ['NFQUEUE hex', '-j NFQUEUE --queue-num 0x10', 'ipv4'],
  ['NFQUEUE balance to 65535', '-j NFQUEUE --queue-balance 0:65535', 'ipv4'],
  ['NFQUEUE balance reversed', '-j NFQUEUE --queue-balance 6:1', 'ipv6'],
  ['NFQUEUE num and balance', '-j NFQUEUE --queue-num 1 --queue-balance 2:3', 'ipv4'],
  ['NFQUEUE fanout without balance', '-j NFQUEUE --queue-num 1 --queue-cpu-fanout', 'ipv4'],
  ['NFQUEUE fail-open', '-j NFQUEUE --fail-open', 'ipv4'],
  ['NFQUEUE typed queue -1', { target: { kind: 'nfqueue', queue: -1 } }, 'ipv4'],
  ['NFQUEUE typed bypass false', { target: { kind: 'nfqueue', bypass: false } }, 'ipv4'],
  ['SYNPROXY without -p tcp', '-j SYNPROXY --mss 1460', 'ipv4'],
  ['SYNPROXY wscale 15', '-p tcp -j SYNPROXY --wscale 15', 'ipv4'],
  ['SYNPROXY mss 65536', '-p tcp -j SYNPROXY --mss 65536', 'ipv6'],
  ['SYNPROXY typed wscale 2^32', { protocol: 'tcp', target: { kind: 'synproxy', wscale: 2 ** 32 } }, 'ipv4'],
  ['TCPMSS without options', '-p tcp --syn -j TCPMSS', 'ipv4'],
  ['TCPMSS without SYN match', '-p tcp -j TCPMSS --set-mss 1400', 'ipv4'],
  ['TCPMSS set-mss 65516 in v4', '-p tcp --syn -j TCPMSS --set-mss 65516', 'ipv4'],
  ['TCPMSS both options', '-p tcp --syn -j TCPMSS --set-mss 1 --clamp-mss-to-pmtu', 'ipv4'],
  ['TCPMSS typed mss -1', { protocol: 'tcp', syn: true, target: { kind: 'tcpmss', mss: -1 } }, 'ipv4'],
];

// Entry points that take a rule. Each returns something to await; a throw counts the same.
const RULE_ENTRY_POINTS: Array<[string, (fw: Firewall, rule: unknown, family: Family) => unknown]> = [
  ['append', (fw, r) => fw.append('INPUT', r as RuleInput)],
  ['insert', (fw, r) => fw.insert('INPUT', 1, r as RuleInput)],
  ['replace', (fw, r) => fw.replace('INPUT', 1, r as RuleInput)],
  ['delete', (fw, r) => fw.delete('INPUT', r as RuleInput)],
  ['ensure', (fw, r) => fw.ensure('INPUT', r as RuleInput)],
  ['check', (fw, r) => fw.check('INPUT', r as RuleInput)],
  ['tx.append after a good op', (fw, r) => fw.transaction((tx) => void tx.append('INPUT', '-p tcp --dport 9 -j DROP').append('INPUT', r as RuleInput))],
  ['tx.insert', (fw, r) => fw.transaction((tx) => void tx.insert('LIMITS', 1, r as RuleInput))],
  ['tx.ensure', (fw, r) => fw.transaction((tx) => void tx.ensure('LIMITS', r as RuleInput))],
  ['renderRule', (_fw, r, family) => renderRule(r as RuleInput, { family })],
  ['parseRule', (_fw, r, family) => parseRule(r as string, { family })],
];

// Bad chain names and positions, through every op that takes them.
const BAD_CHAINS: unknown[] = ['', 'X'.repeat(29), 'A B', 'A;B', 'A\0', 'a\nb', '-A', '!x', '$(id)', '`id`', 'ACCEPT', 'RETURN', 123, null, {}, ['INPUT'], Symbol('c')];
const CHAIN_ENTRY_POINTS: Array<[string, (fw: Firewall, chain: unknown) => unknown]> = [
  ['append', (fw, c) => fw.append(c as string, '-j DROP')],
  ['insert', (fw, c) => fw.insert(c as string, 1, '-j DROP')],
  ['delete', (fw, c) => fw.delete(c as string, 1)],
  ['list', (fw, c) => fw.list(c as string)],
  ['flush', (fw, c) => fw.flush(c as string)],
  ['createChain', (fw, c) => fw.createChain(c as string)],
  ['deleteChain', (fw, c) => fw.deleteChain(c as string)],
  ['renameChain to', (fw, c) => fw.renameChain('LIMITS', c as string)],
  ['tx.zero', (fw, c) => fw.transaction((tx) => void tx.zero(c as string))],
  ['jump target', (fw, c) => fw.append('INPUT', { target: { kind: 'jump', chain: c as string } })],
];

const BAD_POSITIONS: unknown[] = [0, -1, 1.5, NaN, Infinity, -Infinity, 2 ** 31, '1', null, 1n, {}, [1]];
const POSITION_ENTRY_POINTS: Array<[string, (fw: Firewall, p: unknown) => unknown]> = [
  ['insert', (fw, p) => fw.insert('INPUT', p as number, '-j DROP')],
  ['replace', (fw, p) => fw.replace('INPUT', p as number, '-j DROP')],
  ['delete', (fw, p) => fw.delete('INPUT', p as number)],
  ['tx.insert', (fw, p) => fw.transaction((tx) => void tx.insert('INPUT', p as number, '-j DROP'))],
];

const OTHER: Array<[string, (fw: Firewall) => unknown]> = [
  ['createChain INPUT (built-in)', (fw) => fw.createChain('INPUT')],
  ['deleteChain OUTPUT (built-in)', (fw) => fw.deleteChain('OUTPUT')],
  ['renameChain from built-in', (fw) => fw.renameChain('INPUT', 'X')],
  ['renameChain to built-in', (fw) => fw.renameChain('LIMITS', 'FORWARD')],
  ['setPolicy REJECT', (fw) => fw.setPolicy('INPUT', 'REJECT' as never)],
  ['setPolicy lower case', (fw) => fw.setPolicy('INPUT', 'accept' as never)],
  ['setPolicy on a user chain', (fw) => fw.setPolicy('LIMITS', 'DROP')],
  ['setPolicy shell', (fw) => fw.setPolicy('INPUT', 'DROP; reboot' as never)],
  ['setPolicy object', (fw) => fw.setPolicy('INPUT', { toString: () => 'DROP' } as never)],
  ['-o in INPUT', (fw) => fw.append('INPUT', '-o lo -j DROP')],
  ['-i in OUTPUT', (fw) => fw.append('OUTPUT', { inInterface: 'lo', target: { kind: 'drop' } })],
  ['renderRule options null', () => renderRule('-j DROP', null as never)],
  ['renderRule family ipv5', () => renderRule('-j DROP', { family: 'ipv5' as never })],
  ['renderRule chain with shell', () => renderRule('-j DROP', { chain: 'INPUT; reboot' })],
  ['renderRule options getter', () => renderRule('-j DROP', throwing('family') as never)],
  ['parseRule number', () => parseRule(5 as never)],
  ['parseRule options string', () => parseRule('-j DROP', 'ipv4' as never)],
  ['parseRule family 6', () => parseRule('-j DROP', { family: 6 as never })],
];

// Options of Firewall.open.
const BAD_OPTIONS: unknown[] = [
  null,
  'ipv4',
  42,
  [],
  { family: 'ipv5' },
  { family: 4 },
  { family: 'IPV4' },
  { backend: 'NFT' },
  { backend: 'iptables; reboot' },
  { table: 'nope' },
  { table: 'toString' },
  { table: '__proto__' },
  { table: 'constructor' },
  { table: 'FILTER' },
  { netns: '' },
  { netns: 'a b' },
  { netns: 'x\0y' },
  { netns: '..' },
  { netns: '$(id)' },
  { netns: 'x'.repeat(256) },
  { netns: 5 },
  { lockTimeoutMs: -1 },
  { lockTimeoutMs: 1.5 },
  { lockTimeoutMs: NaN },
  { lockTimeoutMs: Infinity },
  { lockTimeoutMs: '100' },
  { lockTimeoutMs: 600_001 },
  { lockPath: '' },
  { lockPath: 'a\0b' },
  { lockPath: 5 },
  { frobnicate: true },
  JSON.parse('{"__proto__": {"table": "nat"}}'),
  JSON.parse('{"constructor": {"prototype": {"x": 1}}}'),
  throwing('family'),
  trap,
];

for (const backend of ['legacy', 'nft'] as Backend[]) {
  test(`${backend}: bad input at every entry point: ERR_CONNLIMIT_INVALID, and the tables are unchanged`, async () => {
    const ns = await createNetns();
    try {
      const fw4 = await Firewall.open({ netns: ns.name, backend });
      const fw6 = await Firewall.open({ family: 'ipv6', netns: ns.name, backend });
      for (const fw of [fw4, fw6]) {
        await fw.createChain('LIMITS');
        await fw.append('INPUT', '-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -m comment --comment keep -j REJECT');
        await fw.append('LIMITS', '-j RETURN');
      }
      const before = await tables(ns, backend);
      let count = 0;
      const wrong: string[] = [];
      const expectInvalid = async (what: string, fn: () => unknown) => {
        count++;
        const r = await outcome(fn);
        if (r.code !== 'ERR_CONNLIMIT_INVALID') wrong.push(`${what}: ${r.code} ${r.message}`);
      };

      for (const [label, rule, family] of BAD_RULES) {
        const fw = family === 'ipv4' ? fw4 : fw6;
        for (const [entry, call] of RULE_ENTRY_POINTS) {
          if (entry === 'parseRule' && typeof rule !== 'string') continue;
          if (entry === 'delete' && typeof rule === 'number') continue; // a position: see BAD_POSITIONS
          await expectInvalid(`${entry}(${label})`, () => call(fw, rule, family));
        }
        assert.is(await tables(ns, backend), before, `tables changed after ${label}`);
      }
      for (const chain of BAD_CHAINS) {
        for (const [entry, call] of CHAIN_ENTRY_POINTS) await expectInvalid(`${entry}(chain ${String(chain)})`, () => call(fw4, chain));
      }
      for (const p of BAD_POSITIONS) {
        for (const [entry, call] of POSITION_ENTRY_POINTS) {
          if (entry === 'delete' && typeof p === 'object' && p !== null && !Array.isArray(p)) continue; // {} is a rule there: the empty one
          await expectInvalid(`${entry}(position ${String(p)})`, () => call(fw4, p));
        }
      }
      for (const [label, call] of OTHER) await expectInvalid(label, () => call(fw4));
      // Options never reach a backend: once is enough.
      for (const [i, o] of backend === 'legacy' ? [...BAD_OPTIONS.entries()] : []) {
        await expectInvalid(`Firewall.open(BAD_OPTIONS[${i}])`, async () => {
          const fw = await Firewall.open(o as never);
          await fw.close();
        });
      }
      assert.is(await tables(ns, backend), before, 'tables changed');
      assert.equal(wrong, [], `not a ValidationError:\n${wrong.join('\n')}`);
      assert.ok(count >= 200, `only ${count} bad inputs`);
      // Nothing leaked into Object.prototype from the pollution-shaped inputs.
      assert.is(({} as Record<string, unknown>).polluted, undefined);
      assert.is(({} as Record<string, unknown>).x, undefined);
      assert.is(({} as Record<string, unknown>).table, undefined);
      // The handles still work after all that.
      await fw4.append('INPUT', '-p tcp --dport 7 -j DROP');
      assert.is((await fw4.list('INPUT')).length, 2);
      await fw4.close();
      await fw6.close();
      console.log(`  ${backend}: ${count} bad inputs, ${BAD_RULES.length} distinct bad rules`);
    } finally {
      await ns.destroy();
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Conntrack: bad filters through every entry point that takes one, bad rules through the two
// that take a rule, bad options of both. None may reach the kernel: `conntrack -L` (timeouts
// aside, they tick) is the same before and after, and delete() removed nothing.

const BAD_FILTERS: unknown[] = [
  null,
  'tcp',
  42,
  [],
  { source: '10.0.0.1; reboot' },
  { source: '$(id)' },
  { source: '`id`' },
  { source: '10.0.0.1\0' },
  { source: '10.0.0.1\n10.0.0.2' },
  { destination: '10.0.0.1 && reboot' },
  { source: '10.0.0.0/33' },
  { source: '10.0.0.0/-1' },
  { source: '2001:db8::/129' },
  { source: '10.0.0.1', family: 'ipv6' },
  { destination: '2001:db8::1', family: 'ipv4' },
  { source: '10.0.0.1', destination: '2001:db8::1' },
  { source: '999.0.0.1' },
  { source: 167772161 },
  { source: ['10.0.0.1'] },
  { source: { toString: () => '10.0.0.1' } },
  { protocol: 'tcp; reboot' },
  { protocol: 'tcp\0' },
  { protocol: 'nope' },
  { protocol: 'TCP ' },
  { protocol: 'tcp', dport: 65536 },
  { protocol: 'tcp', dport: -1 },
  { protocol: 'tcp', dport: 1.5 },
  { protocol: 'tcp', dport: NaN },
  { protocol: 'tcp', dport: '22' },
  { protocol: 'tcp', dport: '22; reboot' },
  { protocol: 'tcp', sport: 2 ** 32 + 22 },
  { protocol: 'tcp', dport: [1024, 1] },
  { protocol: 'tcp', dport: [1, 70000] },
  { protocol: 'icmp', dport: 22 },
  { mark: -1 },
  { mark: 2 ** 32 },
  { mark: 1.5 },
  { mark: '1' },
  { mark: { value: 1 } },
  { mark: { value: 1, mask: 2 ** 32 } },
  { mark: { value: -1, mask: 1 } },
  { zone: -1 },
  { zone: 65536 },
  { zone: 1.5 },
  { zone: '0' },
  { state: 'NOPE' },
  { state: 'ESTABLISHED; reboot' },
  { state: ['ESTABLISHED', 'X\0'] },
  { status: 'NOPE' },
  { status: ['ASSURED', 5] },
  { family: 'ipv5' },
  { family: 4 },
  { frobnicate: 1 },
  JSON.parse('{"__proto__": {"zone": 5}}'),
  JSON.parse('{"__proto__": {"polluted": 1}, "protocol": "tcp"}'),
  JSON.parse('{"constructor": {"prototype": {"polluted": 1}}}'),
  throwing('source'),
  throwing('zone'),
  trap,
  cyclic,
];

// Options that only some entry points take; the filter part is fine.
const BAD_COUNT_BY: unknown[] = [{ mask: 33 }, { mask: -1 }, { mask: 1.5 }, { mask6: 129 }, { top: 0 }, { top: -1 }, { top: 1.5 }, { top: '5' }, { key: 'sport' }, { key: 'source; reboot' }];
const BAD_WATCH: unknown[] = [{ threshold: 0 }, { threshold: -1 }, { threshold: 1.5 }, { receiveBuffer: 10 }, { receiveBuffer: 2 ** 40 }, { updates: 'yes' }, { mask: 33 }, { key: 'x' }];
const GOOD_RULE = '-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT';
const BAD_CT_RULES: unknown[] = [
  '-p tcp --dport 22 -j REJECT',
  '-p tcp --dport 22 -m connlimit --connlimit-above 2 -j REJECT; reboot',
  '-p tcp --dport 22 -m connlimit --connlimit-above 2 -j REJECT\0',
  '-p tcp --dport 65536 -m connlimit --connlimit-above 2 -j REJECT',
  '-m connlimit --connlimit-above 2 --connlimit-mask 33 -j REJECT',
  '-m connlimit --connlimit-above -1 -j REJECT',
  '-m connlimit --connlimit-above $(id) -j REJECT',
  '',
  null,
  5,
  {},
  { connlimit: { above: 2 } },
  JSON.parse('{"__proto__": {"connlimit": {"above": 2}}}'),
  throwing('connlimit'),
  trap,
];
const BAD_RULE_OPTIONS: unknown[] = [null, 'ipv4', { family: 'ipv5' }, { family: 6 }, { frobnicate: 1 }, throwing('family'), trap];

const FILTER_ENTRY_POINTS: Array<[string, (ct: Conntrack, f: unknown) => unknown]> = [
  ['toArray', (ct, f) => ct.toArray(f as never)],
  ['list', async (ct, f) => {
    for await (const _ of ct.list(f as never)) break;
  }],
  ['countBy', (ct, f) => ct.countBy(f as never)],
  ['delete', (ct, f) => ct.delete(f as never)],
  ['watch', (ct, f) => watchOnce(ct.watch(f as never))],
];

/** Awaits a watch that should not have been made, and closes it so it cannot outlive the test. */
async function watchOnce(w: { ready: Promise<void>; close(): Promise<void>; on(e: string, f: () => void): unknown }): Promise<void> {
  w.on('error', () => {});
  try {
    await w.ready;
  } finally {
    await w.close();
  }
}

test('nftables: multiport lists it cannot write (--ports) and ones at the struct\'s limits: refused typed with nothing written, or written and read back whole', async () => {
  const ns = await createNetns();
  try {
    const fw = await Firewall.open({ netns: ns.name, backend: 'nftables' });
    const ruleset = async () => (await ns.run('nft', ['list', 'ruleset'])).stdout;
    for (const rule of [
      '-p tcp -m multiport --ports 80,443 -j DROP',
      '-p udp -m multiport ! --ports 1:65535 -j DROP',
      { protocol: 'tcp', matches: [{ kind: 'multiport', ports: { not: [1, { from: 2, to: 3 }] } }], target: { kind: 'drop' } },
      `-p tcp -m multiport --dports ${Array.from({ length: 16 }, (_, i) => i + 1).join(',')} -j DROP`,
      // Typed rules may hold several lists; each is a set with an id of its own: 16 at most.
      { protocol: 'tcp', matches: Array.from({ length: 17 }, (_, i) => ({ kind: 'multiport', dports: [i + 1, i + 100] })), target: { kind: 'drop' } },
      // Several weekdays are a set too.
      { protocol: 'tcp', matches: [...Array.from({ length: 16 }, (_, i) => ({ kind: 'multiport', dports: [i + 1, i + 100] })), { kind: 'time', weekdays: ['Mon', 'Tue'] }], target: { kind: 'drop' } },
    ] as RuleInput[]) {
      const got = await outcome(() => fw.append('INPUT', rule));
      assert.is(got.code, 'ERR_CONNLIMIT_INVALID', JSON.stringify(rule));
    }
    assert.is(await ruleset(), '');
    // 15 slots: 15 ports, or 7 ranges and a port; the whole port space; all read back as given (sorted).
    for (const list of [Array.from({ length: 15 }, (_, i) => 65535 - i * 7).reverse().join(','), '1:2,4:5,7:8,10:11,13:14,16:17,19:20,65535', '0,1:65534,65535', '0:1,65534:65535']) {
      const line = `-p tcp -m multiport ! --sports ${list} -j DROP`;
      await fw.append('INPUT', line);
      assert.ok(await fw.check('INPUT', line), line);
      assert.is(await fw.delete('INPUT', line), 1, line);
    }
    assert.match(await ruleset(), /^table ip connlimit \{/);
    assert.not.match(await ruleset(), /tcp sport/);
    await fw.close();
  } finally {
    await ns.destroy();
  }
});

test('nftables: -j SET is refused at every entry point before the handle opens the namespace\'s sets, with nothing written', async () => {
  const ns = await createNetns();
  const open = Sets.open;
  let opened = 0;
  Sets.open = (...args: Parameters<typeof Sets.open>) => (opened++, open.apply(Sets, args));
  try {
    const fw = await Firewall.open({ netns: ns.name, backend: 'nftables' });
    const rule = '-p tcp --syn -m connlimit --connlimit-above 2 -j SET --add-set ban src';
    const typed = { protocol: 'tcp', target: { kind: 'set', add: { set: 'ban', dirs: ['src'] } } } as RuleInput;
    for (const [what, call] of [
      ['append', () => fw.append('INPUT', rule)],
      ['append typed', () => fw.append('INPUT', typed)],
      ['insert', () => fw.insert('INPUT', 1, rule)],
      ['replace', () => fw.replace('INPUT', 1, rule)],
      ['delete', () => fw.delete('INPUT', rule)],
      ['check', () => fw.check('INPUT', rule)],
      ['ensure', () => fw.ensure('INPUT', rule)],
      ['transaction, SET last', () => fw.transaction((tx) => tx.append('INPUT', '-p tcp -j DROP').append('INPUT', rule))],
      ['apply', () => fw.apply({ chains: { INPUT: [rule] } })],
      ['apply dry run', () => fw.apply({ chains: { INPUT: [rule] } }, { dryRun: true })],
    ] as const) {
      const got = await outcome(call);
      assert.is(got.code, 'ERR_CONNLIMIT_INVALID', what);
      assert.match(got.message, /-j SET is not available in the native nftables form/, what);
    }
    assert.is(opened, 0, 'a set handle was opened for a rule refused anyway');
    assert.is((await ns.run('nft', ['list', 'ruleset'])).stdout, '');
    await fw.close();
  } finally {
    Sets.open = open;
    await ns.destroy();
  }
});

/** `conntrack -L` sorted, without the ticking timeout column. */
async function ctTable(ns: Netns): Promise<string> {
  const r = await ns.run('conntrack', ['-L']);
  return r.stdout.split('\n').map((l) => l.replace(/^(\S+\s+\d+\s+)\d+ /, '$1')).filter(Boolean).sort().join('\n');
}

test('conntrack: bad filters, options and rules at every entry point: ERR_CONNLIMIT_INVALID, and conntrack -L unchanged', async () => {
  const ns = await createNetns();
  try {
    for (let i = 1; i <= 6; i++) {
      await ns.run('conntrack', ['-I', '-s', `10.1.0.${i}`, '-d', '10.2.0.1', '-p', 'tcp', '--sport', String(40000 + i), '--dport', '22', '--state', 'ESTABLISHED', '-t', '600', '-u', 'ASSURED', '--mark', String(i), '--zone', String(i % 2)]);
    }
    await ns.run('conntrack', ['-I', '-s', '2001:db8::1', '-d', '2001:db8::2', '-p', 'udp', '--sport', '5353', '--dport', '53', '-t', '600']);
    const before = await ctTable(ns);
    assert.is(before.split('\n').length, 7, before);
    const ct = await Conntrack.open({ netns: ns.name });
    let count = 0;
    const wrong: string[] = [];
    const expectInvalid = async (what: string, fn: () => unknown) => {
      count++;
      const r = await outcome(fn);
      if (r.code !== 'ERR_CONNLIMIT_INVALID') wrong.push(`${what}: ${r.code} ${r.message}`);
    };
    for (const [i, f] of BAD_FILTERS.entries()) {
      for (const [entry, call] of FILTER_ENTRY_POINTS) await expectInvalid(`${entry}(BAD_FILTERS[${i}])`, () => call(ct, f));
    }
    for (const [i, o] of BAD_COUNT_BY.entries()) await expectInvalid(`countBy(BAD_COUNT_BY[${i}])`, () => ct.countBy(o as never));
    for (const [i, o] of BAD_WATCH.entries()) await expectInvalid(`watch(BAD_WATCH[${i}])`, () => watchOnce(ct.watch(o as never)));
    for (const [i, r] of BAD_CT_RULES.entries()) {
      await expectInvalid(`countFor(BAD_CT_RULES[${i}])`, () => ct.countFor(r as never));
      await expectInvalid(`watchFor(BAD_CT_RULES[${i}])`, () => watchOnce(ct.watchFor(r as never)));
    }
    for (const [i, o] of [...BAD_RULE_OPTIONS, ...BAD_WATCH.filter((w) => !('mask' in (w as object) || 'key' in (w as object) || 'updates' in (w as object)))].entries()) {
      await expectInvalid(`countFor(GOOD_RULE, options ${i})`, () => ct.countFor(GOOD_RULE, o as never));
      await expectInvalid(`watchFor(GOOD_RULE, options ${i})`, () => watchOnce(ct.watchFor(GOOD_RULE, o as never)));
    }
    for (const [i, o] of BAD_FILTERS.slice(0, 4).entries()) {
      await expectInvalid(`Conntrack.open(${i})`, async () => (await Conntrack.open(o as never)).close());
    }
    for (const [i, o] of [{ netns: '$(id)' }, { netns: 'x\0y' }, { netns: 5 }, { frobnicate: 1 }, throwing('netns'), trap].entries()) {
      await expectInvalid(`Conntrack.open(bad option ${i})`, async () => (await Conntrack.open(o as never)).close());
    }
    assert.equal(wrong, [], `not a ValidationError:\n${wrong.join('\n')}`);
    assert.is(await ctTable(ns), before, 'the conntrack table changed');
    assert.ok(count >= 300, `only ${count} bad inputs`);
    assert.is(({} as Record<string, unknown>).polluted, undefined);
    assert.is(({} as Record<string, unknown>).zone, undefined);
    // The handle still works, and the filters that were refused would have matched something.
    assert.is(await ct.count(), 7);
    assert.is((await ct.toArray({ protocol: 'tcp', dport: 22 })).length, 6);
    await ct.close();
    console.log(`  conntrack: ${count} bad inputs`);
  } finally {
    await ns.destroy();
  }
});

test('the validated value is the encoded value: a getter cannot change its answer after validation', async () => {
  let reads = 0;
  const sly = {
    protocol: 'tcp',
    get dport() {
      reads++;
      return reads === 1 ? 22 : 70000;
    },
  } as unknown as RuleSpec;
  assert.is(renderRule(sly), '-p tcp -m tcp --dport 22');
  assert.is(reads, 1);
});

/**
 * A built-in chain the rule may go to: -i and -o together only fit FORWARD, and so do SYNPROXY
 * (INPUT or FORWARD) and TCPMSS clamping (FORWARD, OUTPUT or POSTROUTING) with either.
 */
const chainFor = (text: string) =>
  /-j SYNPROXY|--clamp-mss-to-pmtu/.test(text) ? 'FORWARD' : /(^| )-o /.test(text) ? (/(^| )-i /.test(text) ? 'FORWARD' : 'OUTPUT') : 'INPUT';

/** Fuzz: a typed spec or a text, per family. Returns what happened. */
function tryOne(input: RuleInput, family: Family): { ok: true; text: string } | { ok: false; code: string; message: string } {
  try {
    const text = renderRule(input, { family });
    // What renders parses back to the same rendering (iptables-save text is our input language).
    const again = renderRule(text.replace(/^-A \S+ /, ''), { family });
    if (again !== text) return { ok: false, code: 'ROUNDTRIP', message: `${text} -> ${again}` };
    return { ok: true, text };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    return { ok: false, code: err.code ?? `${(e as Error)?.name}`, message: String(err.message) };
  }
}

const SEED = Number(process.env.FUZZ_SEED ?? 20261124);

test(`fuzz (seed ${SEED}): 20,000 random specs and strings never throw anything but a ValidationError; a sample the validator accepts is accepted by the kernel`, async () => {
  const r = rng(SEED);
  const accepted: Array<{ family: Family; input: RuleInput; chain: string; text: string }> = [];
  const bad: string[] = [];
  let valid = 0;
  const n = 5000;
  for (let i = 0; i < n; i++) {
    for (const family of ['ipv4', 'ipv6'] as const) {
      for (const input of [randomSpec(r, family, false), randomText(r, family)] as RuleInput[]) {
        const res = tryOne(input, family);
        if (!res.ok) {
          if (res.code !== 'ERR_CONNLIMIT_INVALID') bad.push(`#${i} ${family} ${JSON.stringify(input, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}: ${res.code} ${res.message}`);
          continue;
        }
        valid++;
        const chain = chainFor(res.text);
        if (accepted.length < 400 && r() < 0.1) accepted.push({ family, input, chain, text: res.text });
      }
    }
  }
  assert.equal(bad.slice(0, 10), [], `${bad.length} inputs threw something else`);
  assert.ok(valid > n / 4, `only ${valid} valid draws: the generator is too hostile to test the apply path`);

  const ns = await createNetns();
  try {
    const fws = { ipv4: await Firewall.open({ backend: 'legacy', netns: ns.name }), ipv6: await Firewall.open({ backend: 'legacy', family: 'ipv6', netns: ns.name }) };
    for (const fw of Object.values(fws)) await fw.createChain('LIMITS');
    // The sets a valid -j SET draw names, so that it reaches the kernel.
    for (const [family, set] of Object.entries(FUZZ_SETS)) await ns.run('ipset', ['create', set, 'hash:ip', 'family', family === 'ipv6' ? 'inet6' : 'inet']);
    const refused: string[] = [];
    for (const a of accepted) {
      const res = await outcome(() => fws[a.family].append(a.chain, a.input));
      // The only refusals allowed are ours, before the kernel: a jump to a chain that doesn't
      // exist, --map-set outside mangle (the fuzz writes to filter), a set of the other family.
      if (res.code === 'ok') continue;
      if (res.code === 'ERR_CONNLIMIT_NOT_FOUND' && /-[jg] \S+$/.test(a.text) && !/-[jg] LIMITS$/.test(a.text)) continue;
      if (res.code === 'ERR_CONNLIMIT_INVALID' && (/ --map-set /.test(a.text) || /rule can't use it/.test(res.message))) continue;
      refused.push(`${a.family} ${a.chain} ${a.text}: ${res.code} ${res.message}`);
    }
    assert.equal(refused, [], 'the kernel refused rules that passed validation');
    // The CLI prints what the kernel holds exactly as we render it.
    for (const [family, fw] of Object.entries(fws)) {
      const cli = family === 'ipv4' ? 'iptables-legacy-save' : 'ip6tables-legacy-save';
      const theirs = (await ns.run(cli, ['-t', 'filter'])).stdout.split('\n').filter((l) => l.startsWith('-A'));
      const ours = (await fw.save()).split('\n').filter((l) => l.startsWith('-A'));
      assert.equal(ours, theirs);
      await fw.close();
    }
    console.log(`  ${4 * n} draws, ${valid} valid, ${accepted.length} applied in a namespace`);
  } finally {
    await ns.destroy();
  }
});

test.run();
