// SPDX-License-Identifier: GPL-2.0-or-later
// Client sets on the native nftables form (Sets.open({ backend: 'nftables' })) against the real
// kernel, in throwaway namespaces: the encoder against bytes captured from nft
// (scripts/capture-golden-nftables-sets.sh); every operation on hash:ip, hash:net, hash:ip,port
// and an ip6 set made through the library in one namespace and through `nft add set/element`
// in another, `nft list set` of both compared; timeouts expiring; hostile input refused
// before the kernel, with the sets untouched.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { binding } from '../src/binding';
import { Conntrack, Firewall, Sets, type SetType } from '../src/index';
import { rejects } from './helpers/assert';
import { execResult, withNetns, type Netns } from './helpers/netns';
import { startPeer } from './helpers/tcp';
import { sameMasked, setFixture } from './helpers/set-golden';
import { rng } from './helpers/fuzz-gen';
import { packCalls, type ElementCall } from '../src/sets/packed-calls';

const root = join(__dirname, '..');

const fixture = (name: string) => setFixture('nftables-sets', name).bytes;


/** `nft list set` of each set, with the clock's part (`expires ...`) masked. */
async function listed(ns: Netns, family: 'ip' | 'ip6', names: string[]): Promise<string> {
  const out: string[] = [];
  for (const n of names) out.push((await ns.run('nft', ['list', 'set', family, 'connlimit', n])).stdout.replace(/ expires [0-9hms]+/g, ' expires X'));
  return out.join('\n');
}

async function nft(ns: Netns, ...lines: string[]): Promise<void> {
  await ns.run('nft', ['-f', '-'], { input: lines.join('\n') + '\n' });
}

async function withTwo(family: 'ipv4' | 'ipv6', fn: (lib: Netns, ref: Netns, sets: Sets) => Promise<void>): Promise<void> {
  await withNetns((lib) =>
    withNetns(async (ref) => {
      const sets = await Sets.open({ backend: 'nftables', family, netns: lib.name });
      try {
        await fn(lib, ref, sets);
      } finally {
        await sets.close();
      }
    }),
  );
}

test('golden bytes: NEWSET and NEWSETELEM as nft 1.0.6 sends them', () => {
  const h = binding().NftablesSetHandle;
  sameMasked(h._encodeCreate('ipv4', { name: 'S', type: 'hash:ip', family: 'ipv4', timeout: 600, maxelem: 65536, counters: true, comment: false, exist: true }, 0), fixture('set-create'));
  // nft also names the set by NFTA_SET_ELEM_LIST_SET_ID (its cache's number, 1 here); the
  // kernel finds the set by name first, so we send the name alone: the golden bytes without
  // that attribute (8 bytes after the name) are ours.
  const golden = fixture('set-add');
  const at = golden.indexOf(Buffer.from('0800040000000001', 'hex'));
  assert.ok(at > 0);
  const without = Buffer.concat([golden.subarray(0, at), golden.subarray(at + 8)]);
  without.writeUInt32LE(without.length, 0);
  sameMasked(h._encodeElement('ipv4', 'add', 'S', 'hash:ip', { family: 'ipv4', address: '10.0.0.1', timeout: 30, comment: 'x' }, true, 0), without);
});

test('every operation on three set types: nft list set equals the nft-made sets', () =>
  withTwo('ipv4', async (lib, ref, sets) => {
    await sets.create('ips', { type: 'hash:ip', timeout: 600, maxelem: 1000, counters: true });
    await sets.create('nets', { type: 'hash:net' });
    await sets.create('ipport', { type: 'hash:ip,port' });
    await sets.create('perm', { type: 'hash:ip', timeout: 0 });
    await sets.add('ips', '10.0.0.1', { timeout: 300, comment: 'first' });
    await sets.add('ips', { address: '10.0.0.2' });
    await sets.add('ips', '10.0.0.3');
    await sets.delete('ips', '10.0.0.3');
    await sets.addMany('nets', ['192.168.0.0/24', '10.9.0.0/16', '172.16.5.5']);
    await sets.add('nets', '10.10.0.0/16');
    await sets.delete('nets', '10.10.0.0/16');
    await sets.add('ipport', '10.0.0.1,tcp:80');
    await sets.add('ipport', '10.0.0.1,udp:53');
    await sets.add('ipport', '10.0.0.2,443');
    await sets.delete('ipport', '10.0.0.1,udp:53');
    await sets.add('perm', '10.1.1.1');
    await sets.add('perm', '10.1.1.2', { timeout: 100 });
    await nft(
      ref,
      'add table ip connlimit',
      'add set ip connlimit ips { type ipv4_addr; counter; timeout 600s; size 1000; }',
      'add set ip connlimit nets { type ipv4_addr; flags interval; }',
      'add set ip connlimit ipport { type ipv4_addr . inet_proto . inet_service; }',
      'add set ip connlimit perm { type ipv4_addr; flags timeout; }',
    );
    await nft(ref, 'add element ip connlimit ips { 10.0.0.1 timeout 300s comment "first" }');
    await nft(ref, 'add element ip connlimit ips { 10.0.0.2 }');
    await nft(ref, 'add element ip connlimit ips { 10.0.0.3 }');
    await nft(ref, 'delete element ip connlimit ips { 10.0.0.3 }');
    await nft(ref, 'add element ip connlimit nets { 192.168.0.0/24, 10.9.0.0/16, 172.16.5.5 }');
    await nft(ref, 'add element ip connlimit nets { 10.10.0.0/16 }');
    await nft(ref, 'delete element ip connlimit nets { 10.10.0.0/16 }');
    await nft(ref, 'add element ip connlimit ipport { 10.0.0.1 . tcp . 80 }');
    await nft(ref, 'add element ip connlimit ipport { 10.0.0.1 . udp . 53 }');
    await nft(ref, 'add element ip connlimit ipport { 10.0.0.2 . tcp . 443 }');
    await nft(ref, 'delete element ip connlimit ipport { 10.0.0.1 . udp . 53 }');
    await nft(ref, 'add element ip connlimit perm { 10.1.1.1 }');
    await nft(ref, 'add element ip connlimit perm { 10.1.1.2 timeout 100s }');
    const names = ['ips', 'nets', 'ipport', 'perm'];
    assert.is(await listed(lib, 'ip', names), await listed(ref, 'ip', names));
    assert.equal((await sets.names()).sort(), [...names].sort());

    // test: the kernel's matching (an address inside a net entry is in the set).
    assert.is(await sets.test('ips', '10.0.0.1'), true);
    assert.is(await sets.test('ips', '10.0.0.3'), false);
    assert.is(await sets.test('nets', '192.168.0.77'), true);
    assert.is(await sets.test('nets', '10.10.0.1'), false);
    assert.is(await sets.test('ipport', '10.0.0.2,tcp:443'), true);
    assert.is(await sets.test('ipport', '10.0.0.2,udp:443'), false);

    // list: typed entries with remaining timeouts, counters and comments.
    const ips = await sets.list('ips');
    assert.is(ips.header.type, 'hash:ip');
    assert.is(ips.header.timeout, 600);
    assert.is(ips.header.maxelem, 1000);
    assert.is(ips.header.counters, true);
    assert.is(ips.header.size, 2);
    const first = ips.entries.find((e) => e.address === '10.0.0.1');
    assert.ok(first && first.timeout! > 250 && first.timeout! <= 300);
    assert.is(first!.comment, 'first');
    assert.is(first!.packets, 0n);
    const texts = async (name: string) => (await sets.list(name)).entries.map((e) => e.text).sort();
    assert.equal(await texts('nets'), ['10.9.0.0/16', '172.16.5.5', '192.168.0.0/24']);
    assert.equal(await texts('ipport'), ['10.0.0.1,tcp:80', '10.0.0.2,tcp:443']);
    const perm = await sets.list('perm');
    assert.is(perm.header.timeout, 0);
    assert.is(perm.entries.find((e) => e.address === '10.1.1.1')!.timeout, 0);

    // exist semantics: add of a present entry is EXISTS unless exist; delete of an absent one NOT_FOUND unless exist.
    await rejects(sets.add('ips', '10.0.0.2'), 'ERR_CONNLIMIT_EXISTS');
    await sets.add('ips', '10.0.0.2', { exist: true });
    await rejects(sets.delete('ips', '10.0.0.9'), 'ERR_CONNLIMIT_NOT_FOUND');
    await sets.deleteMany('ips', ['10.0.0.9', '10.0.0.2'], { exist: true });
    assert.is(await sets.test('ips', '10.0.0.2'), false);
    await sets.ensure('nets', { type: 'hash:net' });

    // flush and destroy, against nft's.
    await sets.flush('ipport');
    await nft(ref, 'flush set ip connlimit ipport');
    assert.is(await listed(lib, 'ip', ['ipport']), await listed(ref, 'ip', ['ipport']));
    await sets.destroy('ipport');
    await sets.destroy('ipport', { exist: true });
    await rejects(sets.destroy('ipport'), 'ERR_CONNLIMIT_NOT_FOUND');
    await rejects(sets.add('ipport', '10.0.0.1,tcp:80'), 'ERR_CONNLIMIT_NOT_FOUND');
  }));

test('ipv6: hash:ip and hash:net in the ip6 table equal the nft-made sets', () =>
  withTwo('ipv6', async (lib, ref, sets) => {
    await sets.create('six', { type: 'hash:ip' });
    await sets.create('six-nets', { type: 'hash:net', counters: true });
    await sets.addMany('six', ['2001:db8::1', '2001:db8::2']);
    await sets.add('six-nets', '2001:db8:1::/48');
    await nft(
      ref,
      'add table ip6 connlimit',
      'add set ip6 connlimit six { type ipv6_addr; }',
      'add set ip6 connlimit six-nets { type ipv6_addr; flags interval; counter; }',
      'add element ip6 connlimit six { 2001:db8::1, 2001:db8::2 }',
      'add element ip6 connlimit six-nets { 2001:db8:1::/48 }',
    );
    assert.is(await listed(lib, 'ip6', ['six', 'six-nets']), await listed(ref, 'ip6', ['six', 'six-nets']));
    assert.is(await sets.test('six-nets', '2001:db8:1:2::3'), true);
    assert.equal((await sets.list('six-nets')).entries.map((e) => e.text), ['2001:db8:1::/48']);
    // An IPv6 rule of the ip6 table refers to it: `ip6 daddr != @six-nets`, listed back as written.
    const fw = await Firewall.open({ family: 'ipv6', backend: 'nftables', netns: lib.name });
    try {
      await fw.append('INPUT', '-m set ! --match-set six-nets dst -j DROP');
      assert.match((await lib.run('nft', ['list', 'chain', 'ip6', 'connlimit', 'INPUT'])).stdout, /ip6 daddr != @six-nets counter packets \d+ bytes \d+ drop/);
      assert.equal((await fw.list('INPUT')).map((r) => r.text), ['-A INPUT -m set ! --match-set six-nets dst -j DROP']);
      await fw.delete('INPUT', '-m set ! --match-set six-nets dst -j DROP');
      assert.equal(await fw.list('INPUT'), []);
    } finally {
      await fw.close();
    }
  }));

/** nft's bytes without NFTA_SET_ELEM_LIST_SET_ID (its cache's number for the set, 1 here). */
function withoutSetId(golden: Buffer): Buffer {
  const at = golden.indexOf(Buffer.from('0800040000000001', 'hex'));
  assert.ok(at > 0);
  const without = Buffer.concat([golden.subarray(0, at), golden.subarray(at + 8)]);
  without.writeUInt32LE(without.length, 0);
  return without;
}

test('hash:net,port: concatenated intervals as nft 1.0.6 writes them; every operation equals the nft-made set; hostile entries typed', () =>
  withTwo('ipv4', async (lib, ref, sets) => {
    const h = binding().NftablesSetHandle;
    sameMasked(h._encodeCreate('ipv4', { name: 'NP', type: 'hash:net,port', family: 'ipv4', counters: false, comment: false, exist: true }, 0), fixture('set-create-net-port'));
    sameMasked(
      h._encodeElement('ipv4', 'add', 'NP', 'hash:net,port', { family: 'ipv4', address: '10.0.0.0', cidr: 24, port: 80, proto: 6 }, true, 0),
      withoutSetId(fixture('set-add-net-port')),
    );

    await sets.create('np', { type: 'hash:net,port', timeout: 600, counters: true });
    await sets.add('np', '10.0.0.0/24,tcp:80', { comment: 'web' });
    await sets.addMany('np', ['10.0.2.0/23,udp:53', '192.168.1.1,8080', '172.16.0.0/12,sctp:9']);
    await sets.add('np', '10.9.0.0/16,tcp:22');
    await sets.delete('np', '10.9.0.0/16,tcp:22');
    await nft(
      ref,
      'add table ip connlimit',
      'add set ip connlimit np { type ipv4_addr . inet_proto . inet_service; flags interval,timeout; counter; timeout 600s; }',
      'add element ip connlimit np { 10.0.0.0/24 . tcp . 80 comment "web" }',
      'add element ip connlimit np { 10.0.2.0/23 . udp . 53, 192.168.1.1 . tcp . 8080, 172.16.0.0/12 . sctp . 9 }',
      'add element ip connlimit np { 10.9.0.0/16 . tcp . 22 }',
      'delete element ip connlimit np { 10.9.0.0/16 . tcp . 22 }',
    );
    assert.is(await listed(lib, 'ip', ['np']), await listed(ref, 'ip', ['np']));
    const listing = await sets.list('np');
    assert.is(listing.header.type, 'hash:net,port');
    assert.is(listing.header.timeout, 600);
    assert.equal(listing.entries.map((e) => e.text).sort(), ['10.0.0.0/24,tcp:80', '10.0.2.0/23,udp:53', '172.16.0.0/12,sctp:9', '192.168.1.1,tcp:8080']);
    assert.is(listing.entries.find((e) => e.cidr === 24)!.comment, 'web');
    // The kernel's matching: an address inside the net with the same proto and port.
    assert.is(await sets.test('np', '10.0.3.200,udp:53'), true);
    assert.is(await sets.test('np', '10.0.3.200,tcp:53'), false);
    assert.is(await sets.test('np', '10.0.4.1,udp:53'), false);
    assert.is(await sets.test('np', '192.168.1.1,8080'), true);
    await rejects(sets.add('np', '10.0.0.0/24,tcp:80'), 'ERR_CONNLIMIT_EXISTS');
    await sets.add('np', '10.0.0.0/24,tcp:80', { exist: true });
    await sets.deleteMany('np', ['10.0.0.0/24,tcp:80', '10.77.0.0/16,tcp:1'], { exist: true });
    assert.is(await sets.test('np', '10.0.0.5,tcp:80'), false);

    // Hostile entries: typed before the kernel, the set untouched.
    const before = await listed(lib, 'ip', ['np']);
    await rejects(sets.add('np', '10.0.0.0/24'), 'ERR_CONNLIMIT_INVALID'); // no port on a port type
    await rejects(sets.add('np', '10.0.0.0/33,tcp:80'), 'ERR_CONNLIMIT_INVALID');
    await rejects(sets.add('np', '10.0.0.0/0,tcp:80'), 'ERR_CONNLIMIT_INVALID');
    await rejects(sets.add('np', '2001:db8::/64,tcp:80'), 'ERR_CONNLIMIT_INVALID');
    await rejects(sets.add('np', '10.0.0.0/24,tcp:65536'), 'ERR_CONNLIMIT_INVALID');
    await rejects(sets.add('np', '10.0.0.0/24,icmp:80'), 'ERR_CONNLIMIT_INVALID');
    await rejects(sets.add('np', '10.0.0.0/24,tcp:80\0'), 'ERR_CONNLIMIT_INVALID');
    await sets.create('plain', { type: 'hash:net' });
    await rejects(sets.add('plain', '10.0.0.0/24,tcp:80'), 'ERR_CONNLIMIT_INVALID'); // a port without a port type
    assert.is(await listed(lib, 'ip', ['np']), before);
    assert.equal((await sets.list('plain')).entries, []);
    // Rules: a two-dimension lookup (`ip saddr . meta l4proto . th dport @np`) has no
    // translation in iptables-translate; refused with the reason, as before.
    const fw = await Firewall.open({ family: 'ipv4', backend: 'nftables', netns: lib.name });
    try {
      await rejects(fw.append('INPUT', '-m set --match-set np src,dst -j DROP'), 'ERR_CONNLIMIT_INVALID');
    } finally {
      await fw.close();
    }
  }));

test('ipv6 hash:net,port equals the nft-made set', () =>
  withTwo('ipv6', async (lib, ref, sets) => {
    await sets.create('np6', { type: 'hash:net,port' });
    await sets.addMany('np6', ['2001:db8::/64,udp:53', '2001:db8:1::1,tcp:22']);
    await nft(
      ref,
      'add table ip6 connlimit',
      'add set ip6 connlimit np6 { type ipv6_addr . inet_proto . inet_service; flags interval; }',
      'add element ip6 connlimit np6 { 2001:db8::/64 . udp . 53, 2001:db8:1::1 . tcp . 22 }',
    );
    assert.is(await listed(lib, 'ip6', ['np6']), await listed(ref, 'ip6', ['np6']));
    assert.equal((await sets.list('np6')).entries.map((e) => e.text).sort(), ['2001:db8:1::1,tcp:22', '2001:db8::/64,udp:53']);
    assert.is(await sets.test('np6', '2001:db8::77,udp:53'), true);
  }));

test('entries() streams a 100k native set batch by batch: every entry once, the handle usable inside the loop; intervals paired across batches', () =>
  withTwo('ipv4', async (_lib, _ref, sets) => {
    const all = Array.from({ length: 100_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    // A size and no timeouts: the kernel makes a fixed-size hash, which no background resize
    // reorders under a listing (docs/sets.md: a resizing rhashtable can list entries twice).
    await sets.create('big', { type: 'hash:ip', maxelem: 262_144 });
    await sets.addMany('big', all);
    // One native step reads whole dump parts until it has the batch: a part of the set, not all of it.
    const native = (sets as unknown as { native: ConstructorParameters<ReturnType<typeof binding>['NftablesSetList']>[0] }).native;
    const listing = new (binding().NftablesSetList)(native, 'big', 1000);
    const first = await listing.next();
    listing.close();
    assert.ok(first.entries.length >= 1000 && first.entries.length < 5000, `first batch of ${first.entries.length}`);
    assert.is(first.done, false);
    assert.is(first.header.type, 'hash:ip');

    const seen = new Set<string>();
    let inside = 0;
    for await (const e of sets.entries('big', { batchSize: 1000 })) {
      seen.add(e.text);
      // The listing has its own socket: the handle answers while it is open.
      if (seen.size % 25_000 === 0 && (await sets.test('big', e.address))) inside++;
    }
    assert.is(seen.size, 100_000);
    assert.is(inside, 4);
    assert.ok(all.every((a) => seen.has(a)));
    // Leaving early closes the listing's socket; the set is free for the next call.
    let n = 0;
    for await (const e of sets.entries('big')) if (e && ++n === 10) break;
    await sets.destroy('big');
    await rejects(iterate(sets.entries('big')), 'ERR_CONNLIMIT_NOT_FOUND', 'a missing set, from the first step');

    // An interval set read one entry a step: each start meets its end element across steps,
    // adjacent intervals and one reaching the top of the address space included; as list() reads it.
    await sets.create('nets', { type: 'hash:net', counters: true });
    const nets = ['10.0.0.0/24', '10.0.1.0/24', '10.0.3.0/24', '1.2.3.4', '192.168.0.0/16', '255.255.255.0/24', '0.0.0.0/8'];
    await sets.addMany('nets', nets);
    const streamed: string[] = [];
    for await (const e of sets.entries('nets', { batchSize: 1 })) streamed.push(e.text);
    assert.equal([...streamed].sort(), [...nets].sort());
    assert.equal(streamed, (await sets.list('nets')).entries.map((e) => e.text));
    // hash:net,port carries its own end in each element.
    await sets.create('np', { type: 'hash:net,port' });
    await sets.addMany('np', ['10.0.0.0/24,tcp:80', '10.0.1.0/24,udp:53', '10.2.0.0/16,22']);
    const np: string[] = [];
    for await (const e of sets.entries('np', { batchSize: 1 })) np.push(e.text);
    assert.equal(np.sort(), ['10.0.0.0/24,tcp:80', '10.0.1.0/24,udp:53', '10.2.0.0/16,tcp:22']);
  }));

async function iterate(it: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of it) n++;
  return n;
}

test('header().size counts the entries, as list(), `nft -j list set` and the ipset backend\'s header for the same entries', () =>
  withTwo('ipv4', async (lib, _ref, sets) => {
    const ipset = await Sets.open({ netns: lib.name });
    try {
      const many = Array.from({ length: 5000 }, (_, i) => `10.1.${i >> 8}.${i & 255}`); // several dump parts
      const cases: Array<[string, SetType, string[]]> = [
        ['ips', 'hash:ip', many],
        // intervals: the kernel keeps an end element beside each start; adjacent and top-reaching ones too
        ['nets', 'hash:net', ['10.0.0.0/24', '10.0.1.0/24', '1.2.3.4', '255.255.255.0/24', '0.0.0.0/8']],
        ['np', 'hash:net,port', ['10.0.0.0/24,tcp:80', '10.2.0.0/16,udp:53']],
        ['ni', 'hash:net,iface', ['10.0.0.0/24,eth0', '10.0.1.0/24,wg0']],
        ['none', 'hash:ip', []],
      ];
      for (const [name, type, entries] of cases) {
        await sets.create(name, { type });
        await ipset.create(name, { type });
        if (entries.length) {
          await sets.addMany(name, entries);
          await ipset.addMany(name, entries);
        }
        const h = await sets.header(name);
        const json = JSON.parse((await lib.run('nft', ['-j', 'list', 'set', 'ip', 'connlimit', name])).stdout) as { nftables: Array<{ set?: { elem?: unknown[] } }> };
        const nftCount = json.nftables.find((o) => o.set)?.set?.elem?.length ?? 0;
        assert.is(h.size, entries.length, `${name}: header().size`);
        assert.is(h.size, nftCount, `${name}: nft -j list set`);
        assert.is(h.size, (await sets.list(name)).header.size, `${name}: list()`);
        assert.is(h.size, (await ipset.header(name)).size, `${name}: the ipset header`);
      }
      // A count after changes, not a remembered one.
      await sets.delete('ips', many[0]!);
      assert.is((await sets.header('ips')).size, 4999);
    } finally {
      await ipset.close();
    }
  }));

test('timeouts expire (bounded wait), and addMany is one batch: all or nothing', () =>
  withTwo('ipv4', async (lib, _ref, sets) => {
    await sets.create('t', { type: 'hash:ip', timeout: 0 });
    await sets.add('t', '10.0.0.1', { timeout: 1 });
    await sets.add('t', '10.0.0.2');
    const deadline = Date.now() + 10_000;
    while ((await sets.test('t', '10.0.0.1')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.is(await sets.test('t', '10.0.0.1'), false);
    assert.is(await sets.test('t', '10.0.0.2'), true);
    // The second entry is there already: the kernel refuses the batch and applies none of it.
    await rejects(sets.addMany('t', ['10.0.0.3', '10.0.0.2', '10.0.0.4']), 'ERR_CONNLIMIT_EXISTS');
    assert.is(await sets.test('t', '10.0.0.3'), false);
    assert.is(await sets.test('t', '10.0.0.4'), false);
    const many = Array.from({ length: 1000 }, (_, i) => `10.1.${i >> 8}.${i & 255}`);
    await sets.addMany('t', many);
    // A set with timeouts is a resizable hash: while the kernel regrows it in the background
    // (and collects the expired entry), a dump walked part by part can miss entries (docs/sets.md).
    const deadline2 = Date.now() + 10_000;
    while ((await sets.list('t')).header.size !== 1001 && Date.now() < deadline2) await new Promise((r) => setTimeout(r, 100));
    assert.is((await sets.list('t')).header.size, 1001);
    assert.match((await lib.run('nft', ['list', 'set', 'ip', 'connlimit', 't'])).stdout, /10\.1\.3\.231/);
  }));

test('calls in flight together: adds and deletes side by side in one batch, each answered as if awaited alone in call order', () =>
  withTwo('ipv4', async (lib, ref, sets) => {
    const other = await Sets.open({ backend: 'nftables', family: 'ipv4', netns: ref.name });
    try {
      for (const h of [sets, other]) {
        await h.create('a', { type: 'hash:ip', timeout: 0 });
        await h.create('b', { type: 'hash:net' });
      }
      // Few addresses, so adds meet present entries and deletes absent ones; `exist` both ways;
      // tests between them; some calls on a set nobody made.
      const next = rng(59);
      const pick = (n: number) => Math.floor(next() * n);
      type Call = (h: Sets) => Promise<unknown>;
      const calls: Call[] = Array.from({ length: 600 }, () => {
        const set = ['a', 'a', 'b', 'b', 'gone'][pick(5)]!;
        const entry = set === 'b' ? `10.${pick(3)}.0.0/16` : `10.0.0.${pick(12)}`;
        const exist = pick(3) === 0;
        const options = set === 'a' && pick(2) ? { exist, timeout: 600 } : { exist };
        switch (pick(5)) {
          case 0:
          case 1:
            return (h) => h.add(set, entry, options);
          case 2:
          case 3:
            return (h) => h.delete(set, entry, { exist });
          default:
            return (h) => h.test(set, entry);
        }
      });
      const outcome = async (p: Promise<unknown>) => {
        try {
          return `ok ${JSON.stringify(await p)}`;
        } catch (e) {
          const err = e as { code?: string; errno?: string };
          return `${err.code} ${err.errno ?? ''}`;
        }
      };
      const together = await Promise.all(calls.map((c) => outcome(c(sets))));
      const alone: string[] = [];
      for (const c of calls) alone.push(await outcome(c(other)));
      assert.equal(together, alone);
      assert.ok(together.some((o) => o.startsWith('ERR_CONNLIMIT_EXISTS')) && together.some((o) => o.startsWith('ERR_CONNLIMIT_NOT_FOUND')), 'refusals in the mix');
      assert.is(await listed(lib, 'ip', ['a', 'b']), await listed(ref, 'ip', ['a', 'b']));
    } finally {
      await other.close();
    }
  }));

test('each()\'s batch: an IPv4 address into a hash:ip set written from its record, the same bytes as the general encoder', () => {
  const h = binding().NftablesSetHandle;
  const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  for (const family of ['ipv4', 'ipv6'] as const) {
    const v4 = family === 'ipv4';
    const a = (i: number) => (v4 ? { family, address: `10.0.${i}.${255 - i}` } : { family, address: `2001:db8::${i}` });
    const sets: Record<string, string> = { ips: 'hash:ip', [`n${'x'.repeat(200)}`]: 'hash:net', ipport: 'hash:ip,port' };
    const calls: ElementCall[] = [
      ['add', 'ips', a(1), false],
      ['add', 'ips', { ...a(2), timeout: 0 }, true],
      ['add', 'ips', { ...a(3), timeout: 4294967 }, false],
      ['del', 'ips', a(4), false],
      ['add', 'ips', { ...a(5), comment: 'a comment' }, false],
      ['add', `n${'x'.repeat(200)}`, { ...a(6), cidr: v4 ? 24 : 64 }, false],
      ['del', `n${'x'.repeat(200)}`, a(7), false],
      ['add', 'ipport', { ...a(8), port: 443, proto: 6, timeout: 9 }, true],
      ['add', 'ips', { ...a(9), timeout: 30 }, true],
    ];
    const packed = packCalls(calls);
    if (v4) assert.is(packed.objects.length, 3, 'six records of their own, three objects');
    const fast = h._encodeEach(family, packed.records, packed.names, packed.objects, packed.names.map((n) => sets[n]!), 7);
    const general = Buffer.concat(calls.map(([cmd, set, e, exist], i) => pad(h._encodeElement(family, cmd as 'add' | 'del', set, sets[set]!, e, exist, 7 + i))));
    assert.ok(fast.equals(general), `${family}: ${fast.toString('hex')}\n!= ${general.toString('hex')}`);
  }
});

test('adds in flight over several sends: refusals at the edges (present without exist, a full set, a wrong family), object entries, each answered as alone', () =>
  withTwo('ipv4', async (lib, ref, sets) => {
    const other = await Sets.open({ backend: 'nftables', family: 'ipv4', netns: ref.name });
    try {
      for (const h of [sets, other]) {
        await h.create('f', { type: 'hash:ip', timeout: 600, maxelem: 1000 });
        await h.create('c', { type: 'hash:net', comment: true });
        await h.add('f', '10.9.0.0');
      }
      type Call = (h: Sets) => Promise<unknown>;
      const addr = (i: number) => `10.9.${i >> 8}.${i & 255}`;
      // 1050 adds to a set of 1000 with one entry in it: the first (present, no exist) and
      // every add after the set fills are refused; a wrong-family address among them is typed
      // before the kernel; adds with a comment and prefixes to a hash:net set go as objects.
      const calls: Call[] = [];
      for (let i = 0; i < 1050; i++) {
        if (i === 1) calls.push((h) => h.add('f', '2001:db8::1'));
        if (i % 100 === 7) calls.push((h) => h.add('c', { address: `10.${i >> 8}.${i & 255}.0`, cidr: 24 }, { comment: `n${i}` }));
        if (i === 600) calls.push((h) => h.add('f', addr(599), { exist: true, timeout: 5 }));
        if (i === 601) calls.push((h) => h.add('f', addr(599)));
        calls.push((h) => h.add('f', addr(i), { timeout: 300 }));
      }
      calls.push((h) => h.add('f', '10.9.255.255'));
      const outcome = async (p: Promise<unknown>) => {
        try {
          await p;
          return 'ok';
        } catch (e) {
          const err = e as { code?: string; errno?: string; message?: string };
          return `${err.code} ${err.errno ?? ''} ${/full/.test(err.message ?? '') ? 'full' : ''}`;
        }
      };
      const together = await Promise.all(calls.map((c) => outcome(c(sets))));
      const alone: string[] = [];
      for (const c of calls) alone.push(await outcome(c(other)));
      assert.equal(together, alone);
      assert.is(together[0], 'ERR_CONNLIMIT_EXISTS EEXIST ', 'the first add of a send meets an entry already there');
      assert.is(together[1]!.trim(), 'ERR_CONNLIMIT_INVALID', 'a wrong family is typed');
      assert.is(together.at(-1), 'ERR_CONNLIMIT_KERNEL ENFILE full', 'the last add of a send meets a full set');
      assert.is(together.filter((o) => o === 'ok').length, 999 + 1 + 11);
      assert.is(await listed(lib, 'ip', ['f', 'c']), await listed(ref, 'ip', ['f', 'c']));
    } finally {
      await other.close();
    }
  }));

test('hostile input is typed before the kernel; rename and swap are UNSUPPORTED; sets untouched', () =>
  withTwo('ipv4', async (lib, _ref, sets) => {
    await sets.create('h', { type: 'hash:ip' });
    await sets.add('h', '10.0.0.1');
    const before = (await lib.run('nft', ['list', 'table', 'ip', 'connlimit'])).stdout;
    await rejects(sets.create('x'.repeat(256), { type: 'hash:ip' }), 'ERR_CONNLIMIT_INVALID');
    await rejects(sets.create('a\0b', { type: 'hash:ip' }), 'ERR_CONNLIMIT_INVALID');
    await rejects(sets.create('connlimit0', { type: 'hash:ip' }), 'ERR_CONNLIMIT_INVALID');
    await rejects(sets.create('f6', { type: 'hash:ip', family: 'ipv6' }), 'ERR_CONNLIMIT_INVALID');
    await rejects(sets.create('hs', { type: 'hash:ip', hashsize: 1024 }), 'ERR_CONNLIMIT_INVALID');
    await rejects(sets.create('to', { type: 'hash:ip', timeout: 2147484 }), 'ERR_CONNLIMIT_INVALID');
    await rejects(sets.add('h', '2001:db8::1'), 'ERR_CONNLIMIT_INVALID');
    await rejects(sets.add('h', '10.0.0.2,tcp:80'), 'ERR_CONNLIMIT_INVALID');
    await rejects(sets.add('h', '10.0.0.2', { timeout: 5 }), 'ERR_CONNLIMIT_INVALID');
    await rejects(sets.add('h', '10.0.0.2\0'), 'ERR_CONNLIMIT_INVALID');
    await rejects(sets.test('h', 'not-an-address'), 'ERR_CONNLIMIT_INVALID');
    await rejects(Sets.open({ backend: 'iptables' as never }), 'ERR_CONNLIMIT_INVALID');
    await rejects(sets.rename('h', 'g'), 'ERR_CONNLIMIT_UNSUPPORTED');
    await rejects(sets.swap('h', 'g'), 'ERR_CONNLIMIT_UNSUPPORTED');
    // Rules: a set that is not there is NOT_FOUND (not the kernel's bare ENOENT); what a lookup can't say is INVALID.
    const fw = await Firewall.open({ family: 'ipv4', backend: 'nftables', netns: lib.name });
    try {
      await rejects(fw.append('INPUT', '-m set --match-set nope src -j DROP'), 'ERR_CONNLIMIT_NOT_FOUND');
      await rejects(fw.append('INPUT', '-m set --match-set h src,dst -j DROP'), 'ERR_CONNLIMIT_INVALID');
      await rejects(fw.append('INPUT', '-m set --match-set h src --packets-gt 3 -j DROP'), 'ERR_CONNLIMIT_INVALID');
      await rejects(fw.append('INPUT', '-m set --match-set h src --return-nomatch -j DROP'), 'ERR_CONNLIMIT_INVALID');
    } finally {
      await fw.close();
    }
    // A name of 255 bytes is nf_tables' limit and works.
    await sets.create('n'.repeat(255), { type: 'hash:ip' });
    await sets.destroy('n'.repeat(255));
    assert.is((await lib.run('nft', ['list', 'table', 'ip', 'connlimit'])).stdout, before);
  }));

test('real TCP: `-m set --match-set banned src -j REJECT` on the native form refuses a banned client; unban lets it in', () =>
  withNetns(async (ns) => {
    const sets = await Sets.open({ backend: 'nftables', netns: ns.name });
    const fw = await Firewall.open({ family: 'ipv4', backend: 'nftables', netns: ns.name });
    const peer = await startPeer(ns);
    try {
      await sets.create('banned', { type: 'hash:ip', timeout: 0 });
      const { port } = await peer.listen(0, '127.0.0.1');
      const rule = `-p tcp --dport ${port} -m set --match-set banned src -j REJECT --reject-with tcp-reset`;
      await fw.append('INPUT', rule);
      const table = (await ns.run('nft', ['list', 'chain', 'ip', 'connlimit', 'INPUT'])).stdout;
      assert.match(table, new RegExp(`tcp dport ${port} ip saddr @banned counter packets \\d+ bytes \\d+ reject with tcp reset`));
      // Listed back as the rule language wrote it, and found by spec.
      const listed = (await fw.list('INPUT')).map((r) => r.text);
      assert.is(listed.length, 1);
      assert.match(listed[0]!, /-m set --match-set banned src -j REJECT --reject-with tcp-reset/);
      assert.is(await fw.check('INPUT', rule), true);
      const from = (localAddress: string) => peer.connect({ host: '127.0.0.1', port, localAddress, timeoutMs: 2000 }).then((r) => r.result);
      assert.is(await from('127.0.1.10'), 'ok');
      await sets.add('banned', '127.0.1.10');
      assert.is(await from('127.0.1.10'), 'refused');
      assert.is(await from('127.0.1.11'), 'ok', 'others pass');
      await rejects(sets.destroy('banned'), 'ERR_CONNLIMIT_IN_USE');
      await sets.delete('banned', '127.0.1.10');
      assert.is(await from('127.0.1.10'), 'ok');
      await fw.delete('INPUT', rule);
      await sets.destroy('banned');
    } finally {
      await peer.exit();
      await fw.close();
      await sets.close();
    }
  }));

test('real TCP: a VIP set gets connlimit 5 where everyone else gets 2 (`! --match-set`)', () =>
  withNetns(async (ns) => {
    const sets = await Sets.open({ backend: 'nftables', netns: ns.name });
    const fw = await Firewall.open({ family: 'ipv4', backend: 'nftables', netns: ns.name });
    const peer = await startPeer(ns);
    try {
      await sets.create('vip', { type: 'hash:net' });
      await sets.add('vip', '127.0.2.0/24');
      const { port } = await peer.listen(0, '127.0.0.1');
      await fw.append('INPUT', `-p tcp --syn --dport ${port} -m set --match-set vip src -m connlimit --connlimit-above 5 -j REJECT --reject-with tcp-reset`);
      await fw.append('INPUT', `-p tcp --syn --dport ${port} -m set ! --match-set vip src -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset`);
      const many = async (localAddress: string, n: number) => (await peer.connectMany(n, { host: '127.0.0.1', port, localAddress, timeoutMs: 2000 })).map((r) => r.result);
      assert.equal(await many('127.0.2.7', 7), ['ok', 'ok', 'ok', 'ok', 'ok', 'refused', 'refused']);
      assert.equal(await many('127.0.3.7', 4), ['ok', 'ok', 'refused', 'refused']);
      assert.match((await fw.list('INPUT')).map((r) => r.text).join('\n'), /-m set ! --match-set vip src -m connlimit --connlimit-above 2/);
    } finally {
      await peer.exit();
      await fw.close();
      await sets.close();
    }
  }));

test('fw.flush() keeps the client sets (and so the first table); fw.destroy() removes them with it', () =>
  withNetns(async (ns) => {
    const sets = await Sets.open({ backend: 'nftables', netns: ns.name });
    const fw = await Firewall.open({ family: 'ipv4', backend: 'nftables', netns: ns.name });
    try {
      await sets.create('keep', { type: 'hash:ip' });
      await sets.add('keep', '10.0.0.1');
      await fw.append('INPUT', '-m set --match-set keep src -j DROP');
      await fw.append('INPUT', '-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j DROP');
      await fw.flush();
      assert.equal(await fw.list(), []);
      assert.equal(await sets.names(), ['keep']);
      assert.is(await sets.test('keep', '10.0.0.1'), true);
      const listed = (await ns.run('nft', ['list', 'table', 'ip', 'connlimit'])).stdout;
      assert.not.match(listed, /connlimit0/, 'the rule sets go with their rules');
      assert.is(await fw.destroy(), 1);
      assert.equal(await sets.names(), []);
    } finally {
      await fw.close();
      await sets.close();
    }
  }));

test('a -m set rule that would land past the first table (500 rules) is UNSUPPORTED before the kernel; inserted into the first table it works', () =>
  withNetns(async (ns) => {
    const sets = await Sets.open({ backend: 'nftables', netns: ns.name });
    const fw = await Firewall.open({ family: 'ipv4', backend: 'nftables', netns: ns.name });
    const tables = async () => (await ns.run('nft', ['list', 'tables', 'ip'])).stdout.trim().split('\n');
    const setRule = '-m set --match-set vip src -j DROP';
    try {
      await sets.create('vip', { type: 'hash:ip' });
      await fw.transaction((tx) => {
        for (let i = 0; i < 500; i++) tx.append('INPUT', `-p tcp --dport ${20000 + i} -j DROP`);
      });
      assert.equal(await tables(), ['table ip connlimit']);
      // The 501st rule goes to connlimit_1, which can't see `vip`: said before the kernel (no
      // table made), with the set and the way out, not a missing extension.
      const e = (await rejects(fw.append('INPUT', setRule), 'ERR_CONNLIMIT_UNSUPPORTED')) as { message: string; hint?: string };
      assert.match(e.message, /rule INPUT in table connlimit_1 can't use set 'vip': nf_tables sets belong to one table/);
      assert.match(e.hint ?? '', /insert the rule within the first table's rules/);
      // In a transaction after a rule that opens connlimit_1: the whole batch is refused.
      await rejects(
        fw.transaction((tx) => {
          tx.append('INPUT', '-p tcp --dport 1 -j DROP');
          tx.append('INPUT', setRule);
        }),
        'ERR_CONNLIMIT_UNSUPPORTED',
      );
      assert.equal(await tables(), ['table ip connlimit']);
      assert.is((await fw.list('INPUT')).length, 500);
      // A replace of a rule in connlimit_1, committed or in the same batch, is refused the same way.
      await fw.append('INPUT', '-p tcp --dport 2 -j DROP');
      await rejects(fw.replace('INPUT', 501, setRule), 'ERR_CONNLIMIT_UNSUPPORTED');
      await rejects(
        fw.transaction((tx) => {
          tx.append('INPUT', '-p tcp --dport 3 -j DROP');
          tx.replace('INPUT', 502, setRule);
        }),
        'ERR_CONNLIMIT_UNSUPPORTED',
      );
      assert.equal(await tables(), ['table ip connlimit', 'table ip connlimit_1']);
      // Inserted within the first table's rules it goes there (past 500: only appends open tables).
      await fw.insert('INPUT', 1, setRule);
      assert.match((await ns.run('nft', ['list', 'chain', 'ip', 'connlimit', 'INPUT'])).stdout, /^\t\tip saddr @vip counter packets \d+ bytes \d+ drop$/m);
      const listed = (await fw.list('INPUT')).map((r) => r.text);
      assert.is(listed.length, 502);
      assert.match(listed[0]!, /-m set --match-set vip src -j DROP/);
    } finally {
      await fw.close();
      await sets.close();
    }
  }));

test('countBy({ set }) and watch({ set }) read a native-form set given as { name, backend: "nftables" }', () =>
  withNetns(async (ns) => {
    const peer = await startPeer(ns);
    const ct = await Conntrack.open({ netns: ns.name });
    const sets = await Sets.open({ backend: 'nftables', netns: ns.name });
    const fw = await Firewall.open({ family: 'ipv4', backend: 'nftables', netns: ns.name });
    try {
      // A connlimit rule turns conntrack on in the namespace.
      await fw.append('INPUT', '-p tcp --syn -m connlimit --connlimit-above 100 -j DROP');
      await sets.create('vip', { type: 'hash:net' });
      await sets.add('vip', '127.0.7.0/30');
      const { port } = await peer.listen(0, '127.0.0.1');
      const many = async (localAddress: string, n: number) => (await peer.connectMany(n, { host: '127.0.0.1', port, localAddress, timeoutMs: 2000 })).map((r) => r.result);
      assert.equal(await many('127.0.7.1', 3), ['ok', 'ok', 'ok']);
      assert.equal(await many('127.0.7.9', 2), ['ok', 'ok']); // outside the /30
      const filter = { protocol: 'tcp' as const, dport: port };
      const vip = { name: 'vip', backend: 'nftables' as const };
      assert.equal([...(await ct.countBy({ ...filter, set: vip }))], [['127.0.7.1', 3]]);
      assert.equal([...(await ct.countBy({ ...filter, set: { ...vip, family: 'ipv4' }, mask: 24 }))], [['127.0.7.0/24', 3]]);
      // A name alone is an ipset set (none here); the ip6 table has no vip; bad refs are typed.
      await rejects(ct.countBy({ ...filter, set: 'vip' }), 'ERR_CONNLIMIT_NOT_FOUND');
      await rejects(ct.countBy({ ...filter, set: { ...vip, family: 'ipv6' } }), 'ERR_CONNLIMIT_NOT_FOUND');
      await rejects(ct.countBy({ ...filter, set: { name: 'vip', backend: 'iptables' as never } }), 'ERR_CONNLIMIT_INVALID');
      await rejects(ct.countBy({ ...filter, set: { ...vip, extra: 1 } as never }), 'ERR_CONNLIMIT_INVALID');
      await rejects(ct.countBy({ ...filter, set: { backend: 'nftables' } as never }), 'ERR_CONNLIMIT_INVALID');
      await rejects(ct.countBy({ ...filter, set: { ...vip, name: 'n'.repeat(256) } }), 'ERR_CONNLIMIT_INVALID');
      await ct.countBy({ ...filter, set: { ...vip, name: 'n'.repeat(255) } }).then(
        () => assert.unreachable('no such set'),
        (e: { code: string }) => assert.is(e.code, 'ERR_CONNLIMIT_NOT_FOUND', 'a 255-byte name is checked by the kernel, not refused'),
      );
      // The watch follows the set's element notices: no refresh timer (an hour), yet a member
      // added or deleted after it started shows within a bounded wait, as a 'resync' change.
      const watch = ct.watch({ ...filter, set: vip, setRefreshMs: 3_600_000 });
      const changes: { key: string; count: number; event: string }[] = [];
      watch.on('change', (c) => changes.push(c));
      try {
        await watch.ready;
        assert.equal([...watch.counts()], [['127.0.7.1', 3]]);
        await sets.add('vip', '127.0.7.9');
        await until(() => watch.count('127.0.7.9') === 2);
        assert.ok(changes.some((c) => c.key === '127.0.7.9' && c.count === 2 && c.event === 'resync'));
        // A change to another set, or a rule commit in the same table, is none of this watch's business.
        await sets.create('other', { type: 'hash:ip' });
        await sets.add('other', '127.0.7.1');
        await sets.delete('vip', '127.0.7.0/30');
        await until(() => watch.count('127.0.7.1') === 0);
        assert.ok(changes.some((c) => c.key === '127.0.7.1' && c.count === 0 && c.event === 'resync'));
        assert.equal([...watch.counts()], [['127.0.7.9', 2]]);
        // Each notice's elements were applied (the interval's start and end paired): the set was read once.
        assert.is(watch.setReads, 1);
        // The set destroyed under the watch: its DELSET notice leads to a read that fails, ending the watch.
        const failed = new Promise<{ code: string }>((resolve) => watch.once('error', resolve));
        await sets.destroy('vip');
        assert.is((await failed).code, 'ERR_CONNLIMIT_NOT_FOUND');
      } finally {
        await watch.close();
      }
      // A set with timeouts: expiries come with no notice, so the timer still runs for it.
      await sets.create('brief', { type: 'hash:ip', timeout: 0 });
      await sets.add('brief', '127.0.7.9', { timeout: 1 });
      const timed = ct.watch({ ...filter, set: { name: 'brief', backend: 'nftables' }, setRefreshMs: 200 });
      try {
        await timed.ready;
        await until(() => timed.count('127.0.7.9') === 0);
      } finally {
        await timed.close();
      }
    } finally {
      await fw.close();
      await sets.close();
      await ct.close();
      await peer.exit();
    }
  }));

test('a watch on a 10k-member native-form set applies one add or delete from its notice, without reading the set again', () =>
  withNetns(async (ns) => {
    const peer = await startPeer(ns);
    const ct = await Conntrack.open({ netns: ns.name });
    const sets = await Sets.open({ backend: 'nftables', netns: ns.name });
    const fw = await Firewall.open({ family: 'ipv4', backend: 'nftables', netns: ns.name });
    try {
      await fw.append('INPUT', '-p tcp --syn -m connlimit --connlimit-above 100 -j DROP'); // conntrack on
      for (const type of ['hash:ip', 'hash:net'] as const) {
        const name = type === 'hash:ip' ? 'big' : 'nets';
        await sets.create(name, { type });
        await sets.addMany(name, Array.from({ length: 10_000 }, (_, i) => `10.${i >> 8}.${i & 255}.${type === 'hash:ip' ? 1 : '0/24'}`));
      }
      const { port } = await peer.listen(0, '127.0.0.1');
      const many = async (localAddress: string, n: number) => (await peer.connectMany(n, { host: '127.0.0.1', port, localAddress, timeoutMs: 2000 })).map((r) => r.result);
      assert.equal(await many('127.0.9.1', 2), ['ok', 'ok']);
      assert.equal(await many('127.0.9.130', 3), ['ok', 'ok', 'ok']);
      for (const [name, entry, key, n] of [['big', '127.0.9.1', '127.0.9.1', 2], ['nets', '127.0.9.128/25', '127.0.9.130', 3]] as const) {
        const watch = ct.watch({ protocol: 'tcp', dport: port, set: { name, backend: 'nftables' }, setRefreshMs: 3_600_000 });
        try {
          await watch.ready;
          assert.is(watch.count(key), 0);
          await sets.add(name, entry);
          await until(() => watch.count(key) === n);
          await sets.delete(name, entry);
          await until(() => watch.count(key) === 0);
          await sets.add(name, entry);
          await until(() => watch.count(key) === n);
          assert.is(watch.setReads, 1, `${name}: read once, at the start`);
          // An overrun or the set made anew still reads it whole: destroying it ends the watch.
          const failed = new Promise<{ code: string }>((resolve) => watch.once('error', resolve));
          await sets.flush(name);
          await until(() => watch.count(key) === 0);
          assert.is(watch.setReads, 1, `${name}: a flush is element notices too`);
          await sets.destroy(name);
          assert.is((await failed).code, 'ERR_CONNLIMIT_NOT_FOUND');
        } finally {
          await watch.close();
        }
      }
    } finally {
      await fw.close();
      await sets.close();
      await ct.close();
      await peer.exit();
    }
  }));

/** Waits for a condition, up to 10 s. */
async function until(cond: () => boolean): Promise<void> {
  const end = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > end) assert.unreachable('condition not met in 10 s');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('the CLI: ban/unban and set commands with --backend nftables', () =>
  withNetns(async (ns) => {
    const cli = (...args: string[]) =>
      execResult(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...args, '--backend', 'nftables', '--netns', ns.name], {
        env: { ...process.env, NODE_OPTIONS: '' },
        timeoutMs: 30_000,
      });
    assert.match((await cli('ban', '203.0.113.7', '--for', '10m')).stdout, /banned 203\.0\.113\.7 for 600s/);
    assert.match((await cli('ban', '2001:db8::7')).stdout, /set connlimit-ban6/);
    assert.match((await ns.run('nft', ['list', 'set', 'ip', 'connlimit', 'connlimit-ban'])).stdout, /203\.0\.113\.7 timeout 10m expires/);
    assert.match((await ns.run('nft', ['list', 'set', 'ip6', 'connlimit', 'connlimit-ban6'])).stdout, /elements = \{ 2001:db8::7 \}/);
    assert.is((await cli('set', 'create', 'vip', 'hash:net')).code, 0);
    assert.is((await cli('set', 'add', 'vip', '10.0.0.0/8')).code, 0);
    assert.is((await cli('set', 'test', 'vip', '10.1.1.1')).code, 0);
    assert.is((await cli('set', 'test', 'vip', '11.1.1.1')).code, 1);
    assert.match((await cli('unban', '203.0.113.7')).stdout, /unbanned/);
    assert.match((await cli('unban', '203.0.113.7')).stdout, /was not banned/);
    assert.is((await cli('set', 'rename', 'vip', 'vip2')).code !== 0, true);
  }));

test.run();
