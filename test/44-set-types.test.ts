// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 4 (client sets, beside tests 48 and 59): the types hash:ip,port,ip and hash:net,iface on
// ipset and on the native nftables form, against the real kernel in throwaway namespaces. The
// encoders against bytes captured from `ipset` and `nft` (scripts/capture-golden-ipset.sh,
// scripts/capture-golden-nftables-sets.sh); every operation through the library in one namespace
// and through the CLI in another, `ipset save` / `nft list set` of both compared; hostile input
// refused before the kernel with the sets untouched; real TCP against a
// `-m set --match-set NAME src,dst,dst` rule on legacy and nft, refused with a typed error on
// the native form.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { binding } from '../src/binding';
import type { ValidationIssue } from '../src/errors';
import { Conntrack, Firewall, Sets } from '../src/index';
import { element, testOptions, type SetShape } from '../src/sets/validate';
import { rejects } from './helpers/assert';
import { execResult, withNetns, type Netns } from './helpers/netns';
import { startPeer } from './helpers/tcp';
import { sameMasked, setFixture } from './helpers/set-golden';

const root = join(__dirname, '..');

const fixture = setFixture;


/** nft names the set of an element message by its cache's id too; the kernel finds it by name (test 59). */
function withoutSetId(golden: Buffer): Buffer {
  const at = golden.indexOf(Buffer.from('0800040000000001', 'hex'));
  assert.ok(at > 0);
  const out = Buffer.concat([golden.subarray(0, at), golden.subarray(at + 8)]);
  out.writeUInt32LE(out.length, 0);
  return out;
}

/** An entry as the library parses it for a set of this shape. */
function parsed(text: string, shape: SetShape, defaults = {}) {
  const issues: ValidationIssue[] = [];
  const e = element(text, shape, defaults, 'entry', issues);
  assert.equal(issues, []);
  return e!;
}

const v4 = (type: string, more: Partial<SetShape> = {}): SetShape => ({ type, family: 'ipv4', timeout: false, comment: false, ...more });

test('golden bytes: ipset CREATE, ADD and TEST of hash:ip,port,ip and hash:net,iface as ipset 7.17 sends them', () => {
  const h = binding().IpsetHandle;
  const create = fixture('ipset', 'create-ip-port-ip');
  assert.match(create.command, /create IPI hash:ip,port,ip timeout 600 counters comment$/);
  sameMasked(h._encodeCreate({ name: 'IPI', type: 'hash:ip,port,ip', family: 'ipv4', timeout: 600, counters: true, comment: true, exist: false }, 6, 0), create.bytes);
  const add = fixture('ipset', 'add-ip-port-ip');
  assert.match(add.command, /add IPI 10\.0\.0\.1,udp:53,10\.0\.0\.2 timeout 30 comment x$/);
  sameMasked(h._encodeElement('add', 'IPI', parsed('10.0.0.1,udp:53,10.0.0.2', v4('hash:ip,port,ip', { timeout: true, comment: true }), { timeout: 30, comment: 'x' }), false, 0), add.bytes);
  const add6 = fixture('ipset', 'add-ip-port-ip6');
  const shape6: SetShape = { type: 'hash:ip,port,ip', family: 'ipv6', timeout: false, comment: false };
  sameMasked(h._encodeElement('add', 'IPI6', parsed('2001:db8::1,80,2001:db8::2', shape6), false, 0), add6.bytes);

  const createNi = fixture('ipset', 'create-net-iface');
  assert.match(createNi.command, /create NI hash:net,iface maxelem 1024$/);
  sameMasked(h._encodeCreate({ name: 'NI', type: 'hash:net,iface', family: 'ipv4', maxelem: 1024, counters: false, comment: false, exist: false }, 8, 0), createNi.bytes);
  sameMasked(h._encodeElement('add', 'NI', parsed('10.0.0.0/24,eth0', v4('hash:net,iface')), false, 0), fixture('ipset', 'add-net-iface').bytes);
  // A host entry carries no CIDR; physdev: is IPSET_FLAG_PHYSDEV in the element's CADT_FLAGS.
  const host = fixture('ipset', 'add-net-iface-host');
  assert.match(host.command, /add NI 10\.0\.0\.1,physdev:veth-x1 timeout 9$/);
  sameMasked(h._encodeElement('add', 'NI', parsed('10.0.0.1,physdev:veth-x1', v4('hash:net,iface', { timeout: true }), { timeout: 9 }), false, 0), host.bytes);
  sameMasked(h._encodeElement('test', 'NI', parsed('10.0.0.7,eth0', v4('hash:net,iface')), false, 0), fixture('ipset', 'test-net-iface').bytes);
  // wildcard joins physdev in CADT_FLAGS.
  const wild = fixture('ipset', 'add-net-iface-wildcard');
  assert.match(wild.command, /add NI 10\.0\.0\.0\/16,physdev:eth wildcard$/);
  const issues: ValidationIssue[] = [];
  const wildEntry = element({ address: '10.0.0.0', cidr: 16, iface: 'eth', physdev: true, wildcard: true }, v4('hash:net,iface'), {}, 'entry', issues);
  assert.equal(issues, []);
  sameMasked(h._encodeElement('add', 'NI', wildEntry!, false, 0), wild.bytes);
});

test('golden bytes: NEWSET and NEWSETELEM of both types as nft 1.0.6 sends them', () => {
  const h = binding().NftablesSetHandle;
  const create = fixture('nftables-sets', 'set-create-ip-port-ip');
  assert.match(create.command, /type ipv4_addr \. inet_proto \. inet_service \. ipv4_addr; timeout 600s;/);
  sameMasked(h._encodeCreate('ipv4', { name: 'IPI', type: 'hash:ip,port,ip', family: 'ipv4', timeout: 600, counters: false, comment: false, exist: true }, 0), create.bytes);
  const add = fixture('nftables-sets', 'set-add-ip-port-ip');
  const addEntry = parsed('10.0.0.1,udp:53,10.0.0.2', v4('hash:ip,port,ip', { timeout: true, comment: true, nftables: true }), { timeout: 30, comment: 'x' });
  sameMasked(h._encodeElement('ipv4', 'add', 'IPI', 'hash:ip,port,ip', addEntry, true, 0), withoutSetId(add.bytes));
  const shape6: SetShape = { type: 'hash:ip,port,ip', family: 'ipv6', timeout: false, comment: true, nftables: true };
  sameMasked(h._encodeCreate('ipv6', { name: 'IPI6', type: 'hash:ip,port,ip', family: 'ipv6', counters: false, comment: false, exist: true }, 0), fixture('nftables-sets', 'set-create-ip-port-ip6').bytes);
  sameMasked(h._encodeElement('ipv6', 'add', 'IPI6', 'hash:ip,port,ip', parsed('2001:db8::1,tcp:80,2001:db8::2', shape6), true, 0), withoutSetId(fixture('nftables-sets', 'set-add-ip-port-ip6').bytes));

  const createNi = fixture('nftables-sets', 'set-create-net-iface');
  assert.match(createNi.command, /type ipv4_addr \. ifname; flags interval; size 1024;/);
  sameMasked(h._encodeCreate('ipv4', { name: 'NI', type: 'hash:net,iface', family: 'ipv4', maxelem: 1024, counters: false, comment: false, exist: true }, 0), createNi.bytes);
  const addNi = parsed('10.0.0.0/24,eth0', v4('hash:net,iface', { nftables: true }));
  sameMasked(h._encodeElement('ipv4', 'add', 'NI', 'hash:net,iface', addNi, true, 0), withoutSetId(fixture('nftables-sets', 'set-add-net-iface').bytes));
  const wild = fixture('nftables-sets', 'set-add-net-iface-wildcard');
  assert.match(wild.command, /10\.0\.0\.0\/16 \. "eth\*"/);
  const issues: ValidationIssue[] = [];
  const wildEntry = element({ address: '10.0.0.0', cidr: 16, iface: 'eth', wildcard: true }, v4('hash:net,iface', { nftables: true }), {}, 'entry', issues);
  assert.equal(issues, []);
  sameMasked(h._encodeElement('ipv4', 'add', 'NI', 'hash:net,iface', wildEntry!, true, 0), withoutSetId(wild.bytes));
});

/** `ipset save` with the random initval and the remaining timeouts masked, sorted (hash order differs). */
async function save(ns: Netns): Promise<string> {
  const out = (await ns.run('ipset', ['save'])).stdout.replace(/initval 0x[0-9a-f]+/g, 'initval X');
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => (l.startsWith('add ') ? l.replace(/ timeout \d+/, ' timeout T') : l))
    .sort()
    .join('\n');
}

async function withTwo(backend: 'ipset' | 'nftables', family: 'ipv4' | 'ipv6', fn: (lib: Netns, ref: Netns, sets: Sets) => Promise<void>): Promise<void> {
  await withNetns((lib) =>
    withNetns(async (ref) => {
      const sets = await Sets.open({ netns: lib.name, family, ...(backend === 'nftables' ? { backend } : {}) });
      try {
        await fn(lib, ref, sets);
      } finally {
        await sets.close();
      }
    }),
  );
}

test('ipset: every operation on hash:ip,port,ip and hash:net,iface; ipset save equals the CLI-made sets', () =>
  withTwo('ipset', 'ipv4', async (lib, ref, sets) => {
    const ipset = (...args: string[]) => ref.run('ipset', args);
    await sets.create('ipi', { type: 'hash:ip,port,ip', timeout: 600, counters: true, comment: true });
    await sets.create('ipi6', { type: 'hash:ip,port,ip', family: 'ipv6', maxelem: 1000 });
    await sets.create('ni', { type: 'hash:net,iface', hashsize: 2048 });
    await sets.add('ipi', '10.0.0.1,udp:53,10.0.0.2', { timeout: 300, comment: 'dns' });
    await sets.add('ipi', { address: '10.0.0.1', port: 80, address2: '10.0.0.3' });
    await sets.addMany('ipi', ['10.0.0.4,sctp:9,10.0.0.5', '10.0.0.6,443,10.0.0.7']);
    await sets.delete('ipi', '10.0.0.6,tcp:443,10.0.0.7');
    await sets.add('ipi6', '2001:db8::1,udp:53,2001:db8::2');
    await sets.create('ni6', { type: 'hash:net,iface', family: 'ipv6' });
    await sets.addMany('ni6', ['2001:db8::/64,eth0', '2001:db8:1::1,physdev:veth-b']);
    await sets.add('ni', '10.0.0.0/24,eth0');
    await sets.add('ni', { address: '10.1.0.1', iface: 'veth-a', physdev: true });
    await sets.add('ni', { address: '10.4.0.0', cidr: 16, iface: 'wg', wildcard: true });
    await sets.addMany('ni', ['192.168.0.0/16,lo', '172.16.0.0/12,br0', '10.2.0.0/16,eth1']);
    await sets.deleteMany('ni', ['172.16.0.0/12,br0']);
    await sets.delete('ni', '10.2.0.0/16,eth1');
    await ipset('create', 'ipi', 'hash:ip,port,ip', 'timeout', '600', 'counters', 'comment');
    await ipset('create', 'ipi6', 'hash:ip,port,ip', 'family', 'inet6', 'maxelem', '1000');
    await ipset('create', 'ni', 'hash:net,iface', 'hashsize', '2048');
    await ipset('add', 'ipi', '10.0.0.1,udp:53,10.0.0.2', 'timeout', '300', 'comment', 'dns');
    await ipset('add', 'ipi', '10.0.0.1,80,10.0.0.3');
    await ipset('add', 'ipi', '10.0.0.4,sctp:9,10.0.0.5');
    await ipset('add', 'ipi', '10.0.0.6,443,10.0.0.7');
    await ipset('del', 'ipi', '10.0.0.6,tcp:443,10.0.0.7');
    await ipset('add', 'ipi6', '2001:db8::1,udp:53,2001:db8::2');
    await ipset('create', 'ni6', 'hash:net,iface', 'family', 'inet6');
    await ipset('add', 'ni6', '2001:db8::/64,eth0');
    await ipset('add', 'ni6', '2001:db8:1::1,physdev:veth-b');
    await ipset('add', 'ni', '10.0.0.0/24,eth0');
    await ipset('add', 'ni', '10.1.0.1,physdev:veth-a');
    await ipset('add', 'ni', '10.4.0.0/16,wg', 'wildcard');
    for (const e of ['192.168.0.0/16,lo', '172.16.0.0/12,br0', '10.2.0.0/16,eth1']) await ipset('add', 'ni', e);
    await ipset('del', 'ni', '172.16.0.0/12,br0');
    await ipset('del', 'ni', '10.2.0.0/16,eth1');
    assert.is(await save(lib), await save(ref));
    // Memory differs with the random initval (which entries share a bucket), so it is masked.
    const header = (ns: Netns) => ns.run('ipset', ['list', '-t']).then((r) => r.stdout.replace(/initval 0x[0-9a-f]+/g, '').replace(/Size in memory: \d+/g, 'Size in memory: M'));
    assert.is(await header(lib), await header(ref));

    // test: the kernel's matching (an address inside a net entry, on its interface).
    assert.is(await sets.test('ipi', '10.0.0.1,udp:53,10.0.0.2'), true);
    assert.is(await sets.test('ipi', '10.0.0.1,tcp:53,10.0.0.2'), false);
    assert.is(await sets.test('ipi', '10.0.0.1,udp:53,10.0.0.9'), false);
    assert.is(await sets.test('ipi6', '2001:db8::1,udp:53,2001:db8::2'), true);
    assert.is(await sets.test('ni', '10.0.0.77,eth0'), true);
    assert.is(await sets.test('ni', '10.0.0.77,eth1'), false);
    assert.is(await sets.test('ni', '10.1.0.1,physdev:veth-a'), true);
    assert.is(await sets.test('ni', '10.1.0.1,veth-a'), false, 'physdev: is part of the entry');
    assert.is(await sets.test('ni', '10.4.1.1,wg7'), true, 'a wildcard entry matches by name prefix');
    assert.is(await sets.test('ni', '10.4.1.1,eth0'), false);

    // list and entries: typed entries, texts as `ipset save` prints them.
    const ipi = await sets.list('ipi');
    assert.is(ipi.header.type, 'hash:ip,port,ip');
    assert.is(ipi.header.revision, 6);
    const dns = ipi.entries.find((e) => e.port === 53)!;
    assert.equal({ address: dns.address, proto: dns.proto, address2: dns.address2, comment: dns.comment, packets: dns.packets }, { address: '10.0.0.1', proto: 'udp', address2: '10.0.0.2', comment: 'dns', packets: 0n });
    assert.ok(dns.timeout! > 250 && dns.timeout! <= 300);
    const saved = async (name: string) => (await ref.run('ipset', ['save', name])).stdout.split('\n').filter((l) => l.startsWith('add ')).map((l) => l.split(' ')[2]).sort();
    const texts = async (name: string) => (await sets.list(name)).entries.map((e) => e.text).sort();
    const streamed = async (name: string) => {
      const out: string[] = [];
      for await (const e of sets.entries(name, { batchSize: 1 })) out.push(e.text);
      return out.sort();
    };
    assert.is(await sets.test('ni6', '2001:db8::9,eth0'), true);
    for (const name of ['ipi', 'ipi6', 'ni', 'ni6']) {
      assert.equal(await texts(name), await saved(name), name);
      assert.equal(await streamed(name), await saved(name), name);
    }
    const ni = await sets.list('ni');
    assert.is(ni.header.revision, 8);
    assert.equal(ni.entries.find((e) => e.physdev), { text: '10.1.0.1,physdev:veth-a', address: '10.1.0.1', cidr: 32, iface: 'veth-a', physdev: true });
    assert.equal(ni.entries.find((e) => e.wildcard), { text: '10.4.0.0/16,wg', address: '10.4.0.0', cidr: 16, iface: 'wg', wildcard: true });

    // swap, rename, flush, destroy.
    await sets.create('ni2', { type: 'hash:net,iface', hashsize: 2048 });
    await sets.add('ni2', '10.9.0.0/16,eth9');
    await sets.swap('ni', 'ni2');
    await sets.rename('ni2', 'old');
    await sets.flush('ipi6');
    await sets.destroy('ipi');
    await ipset('create', 'ni2', 'hash:net,iface', 'hashsize', '2048');
    await ipset('add', 'ni2', '10.9.0.0/16,eth9');
    await ipset('swap', 'ni', 'ni2');
    await ipset('rename', 'ni2', 'old');
    await ipset('flush', 'ipi6');
    await ipset('destroy', 'ipi');
    assert.is(await save(lib), await save(ref));
    assert.is(await sets.test('ni', '10.9.1.1,eth9'), true);

    // Counts filter by sets of clients only: a member here is a net on an interface.
    const ct = await Conntrack.open({ netns: lib.name });
    try {
      await rejects(ct.countBy({ set: 'ni' }), 'ERR_CONNLIMIT_INVALID');
    } finally {
      await ct.close();
    }
  }));

/** `nft list set` of each set, with the clock's part masked. */
async function listed(ns: Netns, family: 'ip' | 'ip6', names: string[]): Promise<string> {
  const out: string[] = [];
  for (const n of names) out.push((await ns.run('nft', ['list', 'set', family, 'connlimit', n])).stdout.replace(/ expires [0-9hms]+/g, ' expires X'));
  return out.join('\n');
}

async function nft(ns: Netns, ...lines: string[]): Promise<void> {
  await ns.run('nft', ['-f', '-'], { input: lines.join('\n') + '\n' });
}

test('native form: every operation on both types; nft list set equals the nft-made sets', () =>
  withTwo('nftables', 'ipv4', async (lib, ref, sets) => {
    await sets.create('ipi', { type: 'hash:ip,port,ip', timeout: 600, counters: true });
    await sets.create('ni', { type: 'hash:net,iface', maxelem: 1024 });
    await sets.add('ipi', '10.0.0.1,udp:53,10.0.0.2', { timeout: 300, comment: 'dns' });
    await sets.add('ipi', { address: '10.0.0.1', port: 80, address2: '10.0.0.3' });
    await sets.addMany('ipi', ['10.0.0.4,sctp:9,10.0.0.5', '10.0.0.6,443,10.0.0.7']);
    await sets.delete('ipi', '10.0.0.6,tcp:443,10.0.0.7');
    await sets.add('ni', '10.0.0.0/24,eth0');
    await sets.add('ni', { address: '10.1.0.1', iface: 'veth-a' });
    await sets.add('ni', { address: '10.4.0.0', cidr: 16, iface: 'wg', wildcard: true });
    await sets.addMany('ni', ['192.168.0.0/16,lo', '172.16.0.0/12,br0', '10.2.0.0/16,eth1']);
    await sets.deleteMany('ni', ['172.16.0.0/12,br0']);
    await sets.delete('ni', '10.2.0.0/16,eth1');
    await nft(
      ref,
      'add table ip connlimit',
      'add set ip connlimit ipi { type ipv4_addr . inet_proto . inet_service . ipv4_addr; counter; timeout 600s; }',
      'add set ip connlimit ni { type ipv4_addr . ifname; flags interval; size 1024; }',
    );
    await nft(ref, 'add element ip connlimit ipi { 10.0.0.1 . udp . 53 . 10.0.0.2 timeout 300s comment "dns" }');
    await nft(ref, 'add element ip connlimit ipi { 10.0.0.1 . tcp . 80 . 10.0.0.3 }');
    await nft(ref, 'add element ip connlimit ipi { 10.0.0.4 . sctp . 9 . 10.0.0.5, 10.0.0.6 . tcp . 443 . 10.0.0.7 }');
    await nft(ref, 'delete element ip connlimit ipi { 10.0.0.6 . tcp . 443 . 10.0.0.7 }');
    await nft(ref, 'add element ip connlimit ni { 10.0.0.0/24 . "eth0" }');
    await nft(ref, 'add element ip connlimit ni { 10.1.0.1 . "veth-a" }');
    await nft(ref, 'add element ip connlimit ni { 10.4.0.0/16 . "wg*" }');
    await nft(ref, 'add element ip connlimit ni { 192.168.0.0/16 . "lo", 172.16.0.0/12 . "br0", 10.2.0.0/16 . "eth1" }');
    await nft(ref, 'delete element ip connlimit ni { 172.16.0.0/12 . "br0" }');
    await nft(ref, 'delete element ip connlimit ni { 10.2.0.0/16 . "eth1" }');
    assert.is(await listed(lib, 'ip', ['ipi', 'ni']), await listed(ref, 'ip', ['ipi', 'ni']));
    assert.equal((await sets.names()).sort(), ['ipi', 'ni']);

    assert.is(await sets.test('ipi', '10.0.0.1,udp:53,10.0.0.2'), true);
    assert.is(await sets.test('ipi', '10.0.0.1,udp:53,10.0.0.9'), false);
    assert.is(await sets.test('ni', '10.0.0.77,eth0'), true);
    assert.is(await sets.test('ni', '10.0.0.77,eth1'), false);
    assert.is(await sets.test('ni', '10.1.0.1,veth-a'), true);
    assert.is(await sets.test('ni', '10.4.1.1,wg7'), true, 'a wildcard entry matches by name prefix');
    assert.is(await sets.test('ni', '10.4.1.1,eth0'), false);

    const ipi = await sets.list('ipi');
    assert.is(ipi.header.type, 'hash:ip,port,ip');
    assert.is(ipi.header.counters, true);
    const dns = ipi.entries.find((e) => e.port === 53)!;
    assert.equal({ address: dns.address, proto: dns.proto, address2: dns.address2, comment: dns.comment, packets: dns.packets }, { address: '10.0.0.1', proto: 'udp', address2: '10.0.0.2', comment: 'dns', packets: 0n });
    const texts = async (name: string) => (await sets.list(name)).entries.map((e) => e.text).sort();
    const streamed = async (name: string) => {
      const out: string[] = [];
      for await (const e of sets.entries(name, { batchSize: 1 })) out.push(e.text);
      return out.sort();
    };
    const wantIpi = ['10.0.0.1,tcp:80,10.0.0.3', '10.0.0.1,udp:53,10.0.0.2', '10.0.0.4,sctp:9,10.0.0.5'];
    const wantNi = ['10.0.0.0/24,eth0', '10.1.0.1,veth-a', '10.4.0.0/16,wg', '192.168.0.0/16,lo'];
    assert.equal(await texts('ipi'), wantIpi);
    assert.equal(await streamed('ipi'), wantIpi);
    assert.equal(await texts('ni'), wantNi);
    assert.equal(await streamed('ni'), wantNi);
    assert.is((await sets.header('ni')).type, 'hash:net,iface');
    const wg = (await sets.list('ni')).entries.filter((e) => e.wildcard);
    assert.equal(wg.map((e) => [e.text, e.iface]), [['10.4.0.0/16,wg', 'wg']]);
    await sets.delete('ni', { address: '10.4.0.0', cidr: 16, iface: 'wg', wildcard: true });
    await nft(ref, 'delete element ip connlimit ni { 10.4.0.0/16 . "wg*" }');
    assert.is(await listed(lib, 'ip', ['ni']), await listed(ref, 'ip', ['ni']));
    assert.is(await sets.test('ni', '10.4.1.1,wg7'), false);

    // A handle that did not create them learns their shape from the kernel.
    const other = await Sets.open({ backend: 'nftables', netns: lib.name });
    try {
      assert.is(await other.test('ni', '192.168.3.3,lo'), true);
      await rejects(other.add('ni', '10.3.0.0/16,physdev:br0'), 'ERR_CONNLIMIT_INVALID');
    } finally {
      await other.close();
    }

    await rejects(sets.rename('ni', 'x'), 'ERR_CONNLIMIT_UNSUPPORTED');
    await rejects(sets.swap('ni', 'ipi'), 'ERR_CONNLIMIT_UNSUPPORTED');
    await sets.flush('ipi');
    await sets.destroy('ni');
    await nft(ref, 'flush set ip connlimit ipi', 'delete set ip connlimit ni');
    assert.is(await listed(lib, 'ip', ['ipi']), await listed(ref, 'ip', ['ipi']));
    await rejects(sets.list('ni'), 'ERR_CONNLIMIT_NOT_FOUND');
  }));

test('native form, ip6: both types equal the nft-made sets', () =>
  withTwo('nftables', 'ipv6', async (lib, ref, sets) => {
    await sets.create('ipi6', { type: 'hash:ip,port,ip' });
    await sets.add('ipi6', '2001:db8::1,tcp:80,2001:db8::2');
    await sets.add('ipi6', '2001:db8::1,udp:53,2001:db8::3');
    await sets.create('ni6', { type: 'hash:net,iface' });
    await sets.addMany('ni6', ['2001:db8::/64,eth0', '2001:db8:1::1,lo']);
    await nft(ref, 'add table ip6 connlimit', 'add set ip6 connlimit ipi6 { type ipv6_addr . inet_proto . inet_service . ipv6_addr; }');
    await nft(ref, 'add element ip6 connlimit ipi6 { 2001:db8::1 . tcp . 80 . 2001:db8::2, 2001:db8::1 . udp . 53 . 2001:db8::3 }');
    await nft(ref, 'add set ip6 connlimit ni6 { type ipv6_addr . ifname; flags interval; }');
    await nft(ref, 'add element ip6 connlimit ni6 { 2001:db8::/64 . "eth0", 2001:db8:1::1 . "lo" }');
    assert.is(await listed(lib, 'ip6', ['ipi6', 'ni6']), await listed(ref, 'ip6', ['ipi6', 'ni6']));
    assert.equal((await sets.list('ni6')).entries.map((e) => e.text).sort(), ['2001:db8:1::1,lo', '2001:db8::/64,eth0']);
    assert.is(await sets.test('ni6', '2001:db8::77,eth0'), true);
    assert.equal((await sets.list('ipi6')).entries.map((e) => e.text).sort(), ['2001:db8::1,tcp:80,2001:db8::2', '2001:db8::1,udp:53,2001:db8::3']);
    assert.is(await sets.test('ipi6', '2001:db8::1,udp:53,2001:db8::3'), true);
  }));

for (const backend of ['ipset', 'nftables'] as const) {
  test(`${backend}: hostile input on the new types: typed errors before the kernel, sets untouched`, () =>
    withNetns(async (ns) => {
      const sets = await Sets.open({ netns: ns.name, ...(backend === 'nftables' ? { backend } : {}) });
      const state = () => (backend === 'ipset' ? save(ns) : listed(ns, 'ip', ['ipi', 'ni']));
      try {
        await sets.create('ipi', { type: 'hash:ip,port,ip', timeout: 60 });
        await sets.create('ni', { type: 'hash:net,iface' });
        await sets.add('ipi', '10.0.0.1,80,10.0.0.2');
        await sets.add('ni', '10.0.0.0/8,eth0');
        const before = await state();
        const bad: Array<[string, () => Promise<unknown>]> = [
          ['no second address', () => sets.add('ipi', '10.0.0.1,80')],
          ['no port', () => sets.add('ipi', { address: '10.0.0.1', address2: '10.0.0.2' })],
          ['four parts', () => sets.add('ipi', '10.0.0.1,80,10.0.0.2,10.0.0.3')],
          ['second address of the other family', () => sets.add('ipi', '10.0.0.1,80,2001:db8::1')],
          ['second address not an address', () => sets.add('ipi', '10.0.0.1,80,example.com')],
          ['second address with NUL', () => sets.add('ipi', { address: '10.0.0.1', port: 80, address2: '10.0.0.2\0' })],
          ['second address not a string', () => sets.add('ipi', { address: '10.0.0.1', port: 80, address2: 167772162 as never })],
          ['prefix on hash:ip,port,ip', () => sets.add('ipi', '10.0.0.0/24,80,10.0.0.2')],
          ['port out of range', () => sets.add('ipi', '10.0.0.1,65536,10.0.0.2')],
          ['unknown protocol', () => sets.add('ipi', '10.0.0.1,icmp:8,10.0.0.2')],
          ['timeout out of range', () => sets.add('ipi', '10.0.0.1,80,10.0.0.2', { timeout: 2147484 })],
          ['interface on hash:ip,port,ip', () => sets.add('ipi', { address: '10.0.0.1', port: 80, address2: '10.0.0.2', iface: 'eth0' })],
          ['no interface', () => sets.add('ni', '10.0.0.0/24')],
          ['empty interface', () => sets.add('ni', '10.0.0.0/24,')],
          ['interface of 16 bytes', () => sets.add('ni', '10.0.0.0/24,abcdefghijklmnop')],
          ['interface with a slash', () => sets.add('ni', { address: '10.0.0.0', cidr: 24, iface: 'a/b' })],
          ['interface with a space', () => sets.add('ni', { address: '10.0.0.0', cidr: 24, iface: 'a b' })],
          ['interface with NUL', () => sets.add('ni', { address: '10.0.0.0', cidr: 24, iface: 'eth\0' })],
          ['interface ..', () => sets.add('ni', '10.0.0.0/24,..')],
          ['interface not a string', () => sets.add('ni', { address: '10.0.0.0', iface: 7 as never })],
          ['physdev not a boolean', () => sets.add('ni', { address: '10.0.0.0', iface: 'eth0', physdev: 'yes' as never })],
          ['wildcard not a boolean', () => sets.add('ni', { address: '10.0.0.0', iface: 'eth0', wildcard: 1 as never })],
          ['wildcard without an interface type', () => sets.add('ipi', { address: '10.0.0.1', port: 80, address2: '10.0.0.2', wildcard: true })],
          ['physdev without an interface type', () => sets.add('ipi', { address: '10.0.0.1', port: 80, address2: '10.0.0.2', physdev: true })],
          ['prefix 33', () => sets.add('ni', '10.0.0.0/33,eth0')],
          ['IPv6 into an inet set', () => sets.add('ni', '2001:db8::/64,eth0')],
          ['port on hash:net,iface', () => sets.add('ni', { address: '10.0.0.0', iface: 'eth0', port: 80 })],
          ['second address on hash:net,iface', () => sets.add('ni', { address: '10.0.0.0', iface: 'eth0', address2: '10.0.0.1' })],
          ['one bad entry of many', () => sets.addMany('ni', ['10.1.0.0/16,eth1', '10.2.0.0/16,', '10.3.0.0/16,eth3'])],
          ['a bad test', () => sets.test('ni', '10.0.0.1')],
          ['a bad delete', () => sets.delete('ipi', '10.0.0.1,80')],
        ];
        if (backend === 'nftables') bad.push(['physdev: on the native form', () => sets.add('ni', '10.0.0.0/24,physdev:eth0')]);
        for (const [what, call] of bad) await rejects(call(), 'ERR_CONNLIMIT_INVALID', what);
        assert.is(await state(), before);
        if (backend === 'nftables') {
          const e = (await rejects(sets.add('ni', '10.0.0.0/24,physdev:eth0'), 'ERR_CONNLIMIT_INVALID')) as Error;
          assert.match(e.message, /bridge port/);
        }
      } finally {
        await sets.close();
      }
    }));
}

for (const backend of ['legacy', 'nft'] as const) {
  test(`${backend}: real TCP against -m set src,dst,dst on hash:ip,port,ip and src,src on hash:net,iface: a member refused, a non-member let through`, () =>
    withNetns(async (ns) => {
      const peer = await startPeer(ns);
      const sets = await Sets.open({ netns: ns.name });
      const fw = await Firewall.open({ family: 'ipv4', backend, netns: ns.name });
      try {
        const { port } = await peer.listen(0, '127.0.0.1');
        await sets.create('flows', { type: 'hash:ip,port,ip' });
        const RULE = '-p tcp -m set --match-set flows src,dst,dst -j REJECT --reject-with tcp-reset';
        await fw.append('INPUT', RULE);
        const [rule] = await fw.list('INPUT');
        assert.equal(rule!.rule.matches, [{ kind: 'set', set: 'flows', dirs: ['src', 'dst', 'dst'] }]);
        assert.is(rule!.text, `-A INPUT ${RULE}`);
        const save = backend === 'legacy' ? 'iptables-legacy-save' : 'iptables-nft-save';
        assert.match((await ns.run(save, [])).stdout, /-A INPUT -p tcp -m set --match-set flows src,dst,dst -j REJECT --reject-with tcp-reset/);

        const from = (localAddress: string) => peer.connect({ host: '127.0.0.1', port, localAddress, timeoutMs: 2000 }).then((r) => r.result);
        await sets.add('flows', `127.0.7.10,tcp:${port},127.0.0.1`);
        assert.is(await from('127.0.7.10'), 'refused', 'the member (client, port, server) is refused');
        assert.is(await from('127.0.7.11'), 'ok', 'another client passes');
        await sets.add('flows', `127.0.7.11,udp:${port},127.0.0.1`);
        assert.is(await from('127.0.7.11'), 'ok', 'the same address and port over udp is another entry');
        await sets.delete('flows', `127.0.7.10,tcp:${port},127.0.0.1`);
        assert.is(await from('127.0.7.10'), 'ok', 'out of the set, let through');
        await rejects(sets.destroy('flows'), 'ERR_CONNLIMIT_IN_USE');

        // hash:net,iface: the iface part of `src,src` is the interface the packet came in on.
        await fw.delete('INPUT', RULE);
        await sets.create('nets', { type: 'hash:net,iface' });
        await fw.append('INPUT', '-p tcp -m set --match-set nets src,src -j REJECT --reject-with tcp-reset');
        await sets.add('nets', '127.0.8.0/24,lo');
        await sets.add('nets', '127.0.9.0/24,eth0');
        assert.is(await from('127.0.8.10'), 'refused', 'a member: its net, in on lo');
        assert.is(await from('127.0.9.10'), 'ok', 'its net, but in on lo, not eth0');
        assert.is(await from('127.0.10.10'), 'ok', 'another net');
      } finally {
        await fw.close();
        await sets.close();
        await peer.exit();
      }
    }));
}

test('native form: a -m set rule over a multi-dimension set is refused with a typed error, nothing written', () =>
  withNetns(async (ns) => {
    const sets = await Sets.open({ backend: 'nftables', netns: ns.name });
    const fw = await Firewall.open({ family: 'ipv4', backend: 'nftables', netns: ns.name });
    try {
      await sets.create('flows', { type: 'hash:ip,port,ip' });
      await sets.create('ni', { type: 'hash:net,iface' });
      const before = (await ns.run('nft', ['list', 'ruleset'])).stdout;
      // iptables-translate 1.8.9 has no translation of -m set to hold a concatenation to (docs/sets.md).
      const e = (await rejects(fw.append('INPUT', '-p tcp -m set --match-set flows src,dst,dst -j DROP'), 'ERR_CONNLIMIT_INVALID')) as Error;
      assert.match(e.message, /src,dst,dst is not available in the native nftables form.*use backend 'nft'/);
      await rejects(fw.append('INPUT', '-m set --match-set ni src,src -j DROP'), 'ERR_CONNLIMIT_INVALID');
      // One address looked up in a set of several fields: refused before the kernel (which would say ENODATA).
      const one = (await rejects(fw.append('INPUT', '-m set --match-set ni src -j DROP'), 'ERR_CONNLIMIT_INVALID')) as Error;
      assert.match(one.message, /set 'ni' is hash:net,iface: the native nftables form looks up one address/);
      await rejects(fw.append('INPUT', '-m set --match-set flows dst -j DROP'), 'ERR_CONNLIMIT_INVALID');
      assert.is((await ns.run('nft', ['list', 'ruleset'])).stdout, before);
    } finally {
      await fw.close();
      await sets.close();
    }
  }));

test('golden bytes: nomatch is IPSET_FLAG_NOMATCH in the element\'s CADT_FLAGS, as ipset 7.17 sends it', () => {
  const h = binding().IpsetHandle;
  const net = fixture('ipset', 'add-net-nomatch');
  assert.match(net.command, /add N 10\.0\.0\.0\/24 timeout 9 nomatch$/);
  sameMasked(h._encodeElement('add', 'N', parsed('10.0.0.0/24', v4('hash:net', { timeout: true }), { timeout: 9, nomatch: true }), false, 0), net.bytes);
  const np = fixture('ipset', 'add-net-port-nomatch');
  assert.match(np.command, /add NP 10\.0\.0\.0\/24,udp:53 nomatch$/);
  sameMasked(h._encodeElement('add', 'NP', parsed('10.0.0.0/24,udp:53', v4('hash:net,port'), { nomatch: true }), false, 0), np.bytes);
  const ni = fixture('ipset', 'add-net-iface-nomatch');
  assert.match(ni.command, /add NI 10\.0\.0\.0\/16,physdev:eth wildcard nomatch$/);
  const issues: ValidationIssue[] = [];
  const e = element({ address: '10.0.0.0', cidr: 16, iface: 'eth', physdev: true, wildcard: true }, v4('hash:net,iface'), { nomatch: true }, 'entry', issues);
  assert.equal(issues, []);
  sameMasked(h._encodeElement('add', 'NI', e!, false, 0), ni.bytes);
  // A test with nomatch carries the same flag.
  const t = fixture('ipset', 'test-net-nomatch');
  assert.match(t.command, /test N 10\.0\.0\.0\/24 nomatch$/);
  sameMasked(h._encodeElement('test', 'N', parsed('10.0.0.0/24', v4('hash:net'), testOptions({ nomatch: true })), false, 0), t.bytes);
});

test('nomatch on ipset: listed, tested and counted as the kernel matches; ipset save equals the CLI-made sets; refused where it has no meaning', () =>
  withTwo('ipset', 'ipv4', async (lib, ref, sets) => {
    const ipset = (...args: string[]) => ref.run('ipset', args);
    await sets.create('n', { type: 'hash:net', timeout: 600, counters: true, comment: true });
    await sets.add('n', '127.0.7.0/24');
    await sets.add('n', '127.0.7.0/30', { nomatch: true, timeout: 300, comment: 'carved out' });
    await sets.addMany('n', ['127.0.7.8/29', '127.0.7.9'], { nomatch: true });
    await sets.create('np', { type: 'hash:net,port' });
    await sets.add('np', '10.0.0.0/24,udp:53', { nomatch: true });
    await sets.create('ni', { type: 'hash:net,iface' });
    await sets.add('ni', '10.0.0.0/16,eth0');
    await sets.add('ni', { address: '10.0.1.0', cidr: 24, iface: 'eth0' }, { nomatch: true });
    await ipset('create', 'n', 'hash:net', 'timeout', '600', 'counters', 'comment');
    await ipset('add', 'n', '127.0.7.0/24');
    await ipset('add', 'n', '127.0.7.0/30', 'nomatch', 'timeout', '300', 'comment', 'carved out');
    await ipset('add', 'n', '127.0.7.8/29', 'nomatch');
    await ipset('add', 'n', '127.0.7.9', 'nomatch');
    await ipset('create', 'np', 'hash:net,port');
    await ipset('add', 'np', '10.0.0.0/24,udp:53', 'nomatch');
    await ipset('create', 'ni', 'hash:net,iface');
    await ipset('add', 'ni', '10.0.0.0/16,eth0');
    await ipset('add', 'ni', '10.0.1.0/24,eth0', 'nomatch');
    assert.is(await save(lib), await save(ref));

    const listed = (await sets.list('n')).entries;
    assert.equal(listed.filter((e) => e.nomatch).map((e) => e.text).sort(), ['127.0.7.0/30', '127.0.7.8/29', '127.0.7.9']);
    assert.is(listed.find((e) => e.text === '127.0.7.0/24')!.nomatch, undefined);
    assert.equal((await sets.list('np')).entries.map((e) => [e.text, e.nomatch]), [['10.0.0.0/24,udp:53', true]]);
    const streamed: string[] = [];
    for await (const e of sets.entries('ni')) if (e.nomatch) streamed.push(e.text);
    assert.equal(streamed, ['10.0.1.0/24,eth0']);

    // test() is the kernel's answer, compared with `ipset test` of the same set.
    for (const [set, entry] of [
      ['n', '127.0.7.1'], ['n', '127.0.7.5'], ['n', '127.0.7.9'], ['n', '127.0.7.12'], ['n', '127.0.7.200'], ['n', '127.0.8.1'],
      ['n', '127.0.7.0/30'], ['np', '10.0.0.1,udp:53'], ['ni', '10.0.1.1,eth0'], ['ni', '10.0.2.1,eth0'],
    ] as const) {
      const cli = await ref.exec('ipset', ['test', set, entry]);
      assert.is(await sets.test(set, entry), cli.code === 0, `${set} ${entry}: ${cli.stderr}`);
    }
    assert.is(await sets.test('n', '127.0.7.1'), false, 'inside a nomatch /30');
    assert.is(await sets.test('n', '127.0.7.5'), true, 'inside the /24 only');

    // test(..., { nomatch: true }) is `ipset test ... nomatch`: whether the entry that decides
    // is a nomatch one. One at a time, then all at once (one group, one sendmsg).
    const withFlag = [
      ['n', '127.0.7.0/30'], ['n', '127.0.7.0/24'], ['n', '127.0.7.8/29'], ['n', '127.0.7.9'], ['n', '127.0.7.0/29'],
      ['n', '127.0.7.1'], ['n', '127.0.7.5'], ['n', '127.0.8.1'], ['np', '10.0.0.0/24,udp:53'], ['np', '10.0.0.1,udp:53'],
      ['np', '10.0.0.0/24,tcp:53'], ['ni', '10.0.1.0/24,eth0'], ['ni', '10.0.0.0/16,eth0'], ['ni', '10.0.1.1,eth0'],
    ] as const;
    const cliAnswers: boolean[] = [];
    for (const [set, entry] of withFlag) {
      const cli = await ref.exec('ipset', ['test', set, entry, 'nomatch']);
      cliAnswers.push(cli.code === 0);
      assert.is(await sets.test(set, entry, { nomatch: true }), cli.code === 0, `${set} ${entry} nomatch: ${cli.stderr}`);
    }
    assert.equal(await Promise.all(withFlag.map(([set, entry]) => sets.test(set, entry, { nomatch: true }))), cliAnswers);
    assert.is(await sets.test('n', '127.0.7.0/30', { nomatch: true }), true, 'stored with nomatch');
    assert.is(await sets.test('n', '127.0.7.0/30'), false, 'without the flag a nomatch entry counts as absent');
    assert.is(await sets.test('n', '127.0.7.0/24', { nomatch: true }), false, 'an ordinary entry');

    // countBy({ set }) matches as `-m set` does: the most specific entry decides.
    const peer = await startPeer(lib);
    const ct = await Conntrack.open({ netns: lib.name });
    try {
      const { port } = await peer.listen(0, '127.0.0.1');
      const fw = await Firewall.open({ backend: 'legacy', netns: lib.name });
      await fw.append('INPUT', '-p tcp --syn -m connlimit --connlimit-above 100 -j ACCEPT'); // conntrack on
      await fw.close();
      for (const [from, n] of [['127.0.7.1', 2], ['127.0.7.5', 3], ['127.0.7.9', 1], ['127.0.7.200', 1]] as const) {
        const r = await peer.connectMany(n, { host: '127.0.0.1', port, localAddress: from });
        assert.ok(r.every((x) => x.result === 'ok'));
      }
      assert.equal([...(await ct.countBy({ protocol: 'tcp', dport: port, set: 'n' }))], [['127.0.7.5', 3], ['127.0.7.200', 1]]);
    } finally {
      await ct.close();
      await peer.exit();
    }

    // Refused before the kernel, the sets untouched.
    const before = await save(lib);
    await sets.create('h', { type: 'hash:ip' });
    const e = await rejects(sets.add('h', '10.0.0.1', { nomatch: true }), 'ERR_CONNLIMIT_INVALID', 'hash:ip has no nomatch');
    assert.match(e.message, /options\.nomatch[\s\S]*hash:ip has no nomatch entries/);
    await rejects(sets.add('n', '10.0.0.1', { nomatch: 1 as never }), 'ERR_CONNLIMIT_INVALID', 'not a boolean');
    await rejects(sets.delete('n', '127.0.7.0/30', { nomatch: true } as never), 'ERR_CONNLIMIT_INVALID', 'not a delete option');
    const t = await rejects(sets.test('h', '10.0.0.1', { nomatch: true }), 'ERR_CONNLIMIT_INVALID', 'test: hash:ip has no nomatch');
    assert.match(t.message, /options\.nomatch[\s\S]*hash:ip has no nomatch entries/);
    await rejects(sets.test('n', '127.0.7.0/30', { nomatch: 'yes' as never }), 'ERR_CONNLIMIT_INVALID', 'test: not a boolean');
    await rejects(sets.test('n', '127.0.7.0/30', { exist: true } as never), 'ERR_CONNLIMIT_INVALID', 'not a test option');
    await sets.destroy('h');
    assert.is(await save(lib), before);
  }));

test('nomatch on the native form: ERR_CONNLIMIT_INVALID naming the option, before the kernel', () =>
  withTwo('nftables', 'ipv4', async (lib, _ref, sets) => {
    await sets.create('n', { type: 'hash:net' });
    await sets.add('n', '10.0.0.0/24');
    const before = (await lib.run('nft', ['list', 'ruleset'])).stdout;
    const e = await rejects(sets.add('n', '10.0.0.0/30', { nomatch: true }), 'ERR_CONNLIMIT_INVALID');
    assert.match(e.message, /options\.nomatch[\s\S]*nf_tables sets have no nomatch/);
    await rejects(sets.addMany('n', ['10.0.0.8/30'], { nomatch: true }), 'ERR_CONNLIMIT_INVALID');
    const t = await rejects(sets.test('n', '10.0.0.0/24', { nomatch: true }), 'ERR_CONNLIMIT_INVALID');
    assert.match(t.message, /options\.nomatch[\s\S]*nf_tables sets have no nomatch/);
    // Even for a set that does not exist: nothing is asked of the kernel.
    await rejects(sets.add('missing', '10.0.0.0/30', { nomatch: true }), 'ERR_CONNLIMIT_INVALID');
    await rejects(sets.test('missing', '10.0.0.0/30', { nomatch: true }), 'ERR_CONNLIMIT_INVALID');
    assert.is((await lib.run('nft', ['list', 'ruleset'])).stdout, before);
  }));

test('CLI: set create/add/test/ls of both types on ipset and the native form; physdev: refused on the native form', () =>
  withNetns(async (ns) => {
    const cliMain = join(root, 'src', 'cli', 'main.ts');
    const cli = (...args: string[]) => execResult(process.execPath, ['--import', 'tsx', cliMain, ...args, '--netns', ns.name], { env: { ...process.env, NODE_OPTIONS: '' }, timeoutMs: 30_000 });
    const ok = async (...args: string[]) => {
      const r = await cli(...args);
      assert.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    for (const backend of [[], ['--backend', 'nftables']]) {
      await ok('set', 'create', 'flows', 'hash:ip,port,ip', ...backend);
      await ok('set', 'add', 'flows', '10.0.0.1,udp:53,10.0.0.2', ...backend);
      await ok('set', 'create', 'ni', 'hash:net,iface', ...backend);
      await ok('set', 'add', 'ni', '10.0.0.0/24,eth0', ...backend);
      assert.is((await cli('set', 'test', 'ni', '10.0.0.9,eth0', ...backend)).code, 0);
      assert.is((await cli('set', 'test', 'ni', '10.0.0.9,eth1', ...backend)).code, 1);
      const flows = JSON.parse(await ok('set', 'ls', 'flows', '--json', ...backend));
      assert.equal(flows.entries.map((e: { text: string; address2: string }) => [e.text, e.address2]), [['10.0.0.1,udp:53,10.0.0.2', '10.0.0.2']]);
      assert.match(await ok('set', 'ls', 'ni', ...backend), /Type: hash:net,iface[\s\S]*Members:\n10\.0\.0\.0\/24,eth0\n/);
    }
    await ok('set', 'add', 'ni', '10.1.0.0/16,physdev:eth1');
    assert.match(await ok('set', 'ls', 'ni'), /10\.1\.0\.0\/16,physdev:eth1/);
    const refused = await cli('set', 'add', 'ni', '10.1.0.0/16,physdev:eth1', '--backend', 'nftables');
    assert.is(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /physdev: \(a bridge port\) has no meaning/);
    // --nomatch: ipset's nomatch, shown by set ls as `ipset save` shows it; refused on the native form.
    await ok('set', 'create', 'nets', 'hash:net', '--timeout', '600');
    await ok('set', 'add', 'nets', '10.2.0.0/16');
    await ok('set', 'add', 'nets', '10.2.3.0/24', '--nomatch', '--timeout', '60');
    assert.is((await cli('set', 'test', 'nets', '10.2.3.4')).code, 1);
    assert.is((await cli('set', 'test', 'nets', '10.2.4.4')).code, 0);
    // set test --nomatch: in the set as a nomatch entry (exit 0), as `ipset test ... nomatch`.
    assert.is((await cli('set', 'test', 'nets', '10.2.3.0/24', '--nomatch')).code, 0);
    assert.is((await cli('set', 'test', 'nets', '10.2.0.0/16', '--nomatch')).code, 1);
    assert.is((await ns.run('ipset', ['test', 'nets', '10.2.3.0/24', 'nomatch'])).code, 0);
    assert.match(await ok('set', 'ls', 'nets'), /\n10\.2\.3\.0\/24 timeout \d+ nomatch\n/);
    assert.match((await ns.run('ipset', ['save', 'nets'])).stdout, /add nets 10\.2\.3\.0\/24 timeout \d+ nomatch/);
    const del = await cli('set', 'del', 'nets', '10.2.3.0/24', '--nomatch');
    assert.is(del.code, 2, del.stderr);
    await ok('set', 'create', 'nets', 'hash:net', '--backend', 'nftables');
    const native = await cli('set', 'add', 'nets', '10.2.3.0/24', '--nomatch', '--backend', 'nftables');
    assert.is(native.code, 2, native.stderr);
    assert.match(native.stderr, /nomatch/);
    const nativeTest = await cli('set', 'test', 'nets', '10.2.3.0/24', '--nomatch', '--backend', 'nftables');
    assert.is(nativeTest.code, 2, nativeTest.stderr);
    assert.match(nativeTest.stderr, /nomatch/);
  }));

test.run();
