// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 4 (client sets, ipset) against the real kernel, in throwaway namespaces: the encoder
// against bytes captured from `ipset` (scripts/capture-golden-ipset.sh); every operation on
// hash:ip, hash:net, hash:ip,port and an inet6 set made through the library in one namespace
// and through the ipset CLI in another, `ipset save` of both compared; timeouts expiring;
// -exist semantics; hostile input refused with the sets untouched; real TCP against a
// `-m set --match-set` rule; the connlimit CLI's set, ban and unban.
import type { ValidationIssue } from '../src/errors';
import type { NativeSetElement } from '../src/native-types';
import { packElements } from '../src/sets/packed-calls';
import { element } from '../src/sets/validate';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { binding } from '../src/binding';
import { main } from '../src/cli/main';
import { BusyError } from '../src/errors';
import { Sets } from '../src/index';
import { rejects } from './helpers/assert';
import { execResult, withNetns, type ExecResult, type Netns } from './helpers/netns';
import { startPeer } from './helpers/tcp';
import { sameMasked, setFixture } from './helpers/set-golden';

const root = join(__dirname, '..');
const cliMain = join(root, 'src', 'cli', 'main.ts');
const env = { ...process.env, NODE_OPTIONS: '' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cli(args: string[]): Promise<ExecResult> {
  return execResult(process.execPath, ['--import', 'tsx', cliMain, ...args], { env, timeoutMs: 30_000 });
}

/** `ipset save` with the random initval and (optionally) the remaining timeouts masked. */
async function save(ns: Netns, maskTimeouts = false): Promise<string> {
  const out = (await ns.run('ipset', ['save'])).stdout.replace(/initval 0x[0-9a-f]+/g, 'initval X');
  const lines = out.split('\n').filter(Boolean);
  const masked = maskTimeouts ? lines.map((l) => (l.startsWith('add ') ? l.replace(/ timeout \d+/, ' timeout T') : l)) : lines;
  // Entries come in hash order, which differs between two sets of equal content.
  return masked.sort().join('\n');
}

async function ipset(ns: Netns, ...args: string[]): Promise<void> {
  await ns.run('ipset', args);
}

async function withTwo(fn: (lib: Netns, ref: Netns, sets: Sets) => Promise<void>): Promise<void> {
  await withNetns((lib) =>
    withNetns(async (ref) => {
      const sets = await Sets.open({ netns: lib.name });
      try {
        await fn(lib, ref, sets);
      } finally {
        await sets.close();
      }
    }),
  );
}

const fixture = (name: string) => setFixture('ipset', name);


test('golden bytes: CREATE and ADD as ipset 7.17 sends them', () => {
  const h = binding().IpsetHandle;
  const create = fixture('create');
  assert.match(create.command, /create S hash:ip timeout 600 maxelem 65536 counters comment/);
  sameMasked(h._encodeCreate({ name: 'S', type: 'hash:ip', family: 'ipv4', timeout: 600, maxelem: 65536, counters: true, comment: true, exist: false }, 6, 0), create.bytes);
  const add = fixture('add');
  sameMasked(h._encodeElement('add', 'S', { family: 'ipv4', address: '10.0.0.1', timeout: 30, comment: 'x' }, false, 0), add.bytes);
  const add6 = fixture('add-port6');
  sameMasked(h._encodeElement('add', 'P6', { family: 'ipv6', address: '2001:db8::', cidr: 64, port: 53, proto: 17, timeout: 9 }, false, 0), add6.bytes);
  // hash:net,port at the revision ipset 7.17 picks (8); `10.0.0.0/24,80` is tcp, as ipset reads it.
  const createNp = fixture('create-net-port');
  assert.match(createNp.command, /create NP hash:net,port counters/);
  sameMasked(h._encodeCreate({ name: 'NP', type: 'hash:net,port', family: 'ipv4', counters: true, comment: false, exist: false }, 8, 0), createNp.bytes);
  const addNp = fixture('add-net-port');
  assert.match(addNp.command, /add NP 10\.0\.0\.0\/24,80$/);
  const issues: ValidationIssue[] = [];
  const parsed = element('10.0.0.0/24,80', { type: 'hash:net,port', family: 'ipv4', timeout: false, comment: false }, {}, 'entry', issues);
  assert.equal(issues, []);
  sameMasked(h._encodeElement('add', 'NP', parsed!, false, 0), addNp.bytes);
});

test('batch bytes: an address alone written from its record equals its element encoded whole', () => {
  const h = binding().IpsetHandle;
  // Enough for several messages, with timeouts, nomatch and a whole element between them.
  const elements: NativeSetElement[] = [];
  for (let i = 0; i < 5000; i++) {
    const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    if (i % 1000 === 7) elements.push({ family: 'ipv4', address, cidr: 24 });
    else elements.push({ family: 'ipv4', address, ...(i % 3 ? { timeout: i } : {}), ...(i % 5 ? {} : { nomatch: true }) });
  }
  const plain = packElements(elements);
  assert.ok(plain.objects.length === 5, 'the addresses alone go as records');
  // The same elements every one an object: the encoder's whole-element path.
  const records = Buffer.alloc(elements.length * 20);
  const words = new Uint32Array(records.buffer, records.byteOffset, records.length / 4); // host order, as packed-calls.ts
  elements.forEach((_, i) => {
    records[i * 20 + 1] = 8;
    words[i * 5 + 3] = i;
  });
  for (const exist of [false, true]) {
    const fast = h._encodeElements('add', 'S', plain.records, plain.objects, exist, 5);
    const whole = h._encodeElements('add', 'S', records, elements, exist, 5);
    assert.ok(fast.length > 3 * 32 * 1024, 'several messages');
    assert.ok(fast.equals(whole), 'byte for byte');
  }
});

test('every operation on four set types: ipset save equals the CLI-made sets', () =>
  withTwo(async (lib, ref, sets) => {
    // Library side.
    await sets.create('ips', { type: 'hash:ip', timeout: 600, maxelem: 1000, counters: true, comment: true });
    await sets.create('nets', { type: 'hash:net', hashsize: 2048 });
    await sets.create('ipport', { type: 'hash:ip,port' });
    await sets.create('net6', { type: 'hash:net,port', family: 'ipv6', counters: true });
    await sets.add('ips', '10.0.0.1', { timeout: 300, comment: 'first' });
    await sets.add('ips', { address: '10.0.0.2' });
    await sets.add('ips', '10.0.0.3');
    await sets.delete('ips', '10.0.0.3');
    await sets.addMany('nets', ['192.168.0.0/24', '10.9.0.0/16', '172.16.5.5']);
    await sets.add('ipport', '10.0.0.1,tcp:80');
    await sets.add('ipport', '10.0.0.1,udp:53');
    await sets.add('ipport', '10.0.0.2,443');
    await sets.delete('ipport', '10.0.0.1,udp:53');
    await sets.add('net6', '2001:db8::/64,udp:53');
    await sets.add('net6', { address: '2001:db8:1::1', port: 22, proto: 'tcp' });
    // The CLI, the same operations.
    await ipset(ref, 'create', 'ips', 'hash:ip', 'timeout', '600', 'maxelem', '1000', 'counters', 'comment');
    await ipset(ref, 'create', 'nets', 'hash:net', 'hashsize', '2048');
    await ipset(ref, 'create', 'ipport', 'hash:ip,port');
    await ipset(ref, 'create', 'net6', 'hash:net,port', 'family', 'inet6', 'counters');
    await ipset(ref, 'add', 'ips', '10.0.0.1', 'timeout', '300', 'comment', 'first');
    await ipset(ref, 'add', 'ips', '10.0.0.2');
    await ipset(ref, 'add', 'ips', '10.0.0.3');
    await ipset(ref, 'del', 'ips', '10.0.0.3');
    for (const n of ['192.168.0.0/24', '10.9.0.0/16', '172.16.5.5']) await ipset(ref, 'add', 'nets', n);
    await ipset(ref, 'add', 'ipport', '10.0.0.1,tcp:80');
    await ipset(ref, 'add', 'ipport', '10.0.0.1,udp:53');
    await ipset(ref, 'add', 'ipport', '10.0.0.2,443');
    await ipset(ref, 'del', 'ipport', '10.0.0.1,udp:53');
    await ipset(ref, 'add', 'net6', '2001:db8::/64,udp:53');
    await ipset(ref, 'add', 'net6', '2001:db8:1::1,tcp:22');
    assert.is(await save(lib, true), await save(ref, true));
    // The header is the same too, down to the revision and the memory size.
    const header = (ns: Netns) => ns.run('ipset', ['list', '-t']).then((r) => r.stdout.replace(/initval 0x[0-9a-f]+/g, ''));
    assert.is(await header(lib), await header(ref));

    // test: the kernel's matching (an address inside a net entry is in the set).
    assert.is(await sets.test('ips', '10.0.0.1'), true);
    assert.is(await sets.test('ips', '10.0.0.3'), false);
    assert.is(await sets.test('nets', '192.168.0.77'), true);
    assert.is(await sets.test('ipport', '10.0.0.2,tcp:443'), true);
    assert.is(await sets.test('ipport', '10.0.0.2,udp:443'), false);
    assert.is(await sets.test('net6', '2001:db8::5,udp:53'), true);

    // list: typed entries with what the set carries, as ipset lists them.
    const ips = await sets.list('ips');
    assert.is(ips.header.type, 'hash:ip');
    assert.is(ips.header.revision, 6);
    assert.is(ips.header.timeout, 600);
    assert.is(ips.header.maxelem, 1000);
    assert.is(ips.header.size, 2);
    const first = ips.entries.find((e) => e.address === '10.0.0.1');
    assert.ok(first && first.timeout! > 250 && first.timeout! <= 300, JSON.stringify(first, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
    assert.is(first!.comment, 'first');
    assert.is(first!.packets, 0n);
    const texts = async (name: string) => (await sets.list(name)).entries.map((e) => e.text).sort();
    assert.equal(await texts('nets'), ['10.9.0.0/16', '172.16.5.5', '192.168.0.0/24']);
    assert.equal(await texts('ipport'), ['10.0.0.1,tcp:80', '10.0.0.2,tcp:443']);
    assert.equal(await texts('net6'), ['2001:db8:1::1,tcp:22', '2001:db8::/64,udp:53']);
    const ipsave = (await ref.run('ipset', ['save', 'ipport'])).stdout.split('\n').filter((l) => l.startsWith('add ')).map((l) => l.split(' ')[2]).sort();
    assert.equal(await texts('ipport'), ipsave);
    assert.equal((await sets.names()).sort(), ['ipport', 'ips', 'net6', 'nets']);

    // swap, rename, flush, destroy.
    await sets.create('ips2', { type: 'hash:ip', timeout: 600, maxelem: 1000, counters: true, comment: true });
    await sets.add('ips2', '10.7.7.7');
    await sets.swap('ips', 'ips2');
    await sets.rename('ips2', 'old');
    await sets.flush('nets');
    await sets.destroy('ipport');
    await ipset(ref, 'create', 'ips2', 'hash:ip', 'timeout', '600', 'maxelem', '1000', 'counters', 'comment');
    await ipset(ref, 'add', 'ips2', '10.7.7.7');
    await ipset(ref, 'swap', 'ips', 'ips2');
    await ipset(ref, 'rename', 'ips2', 'old');
    await ipset(ref, 'flush', 'nets');
    await ipset(ref, 'destroy', 'ipport');
    assert.is(await save(lib, true), await save(ref, true));
    assert.is(await sets.test('ips', '10.7.7.7'), true);
    await rejects(sets.list('ipport'), 'ERR_CONNLIMIT_NOT_FOUND');
  }));

test('timeouts expire (1 s entries, bounded wait); timeout 0 stays', () =>
  withNetns(async (ns) => {
    const sets = await Sets.open({ netns: ns.name });
    try {
      await sets.create('t', { type: 'hash:ip', timeout: 0 });
      await sets.add('t', '10.0.0.1', { timeout: 1 });
      await sets.add('t', '10.0.0.2');
      assert.is(await sets.test('t', '10.0.0.1'), true);
      const deadline = Date.now() + 15_000;
      while ((await sets.test('t', '10.0.0.1')) && Date.now() < deadline) await sleep(100);
      assert.is(await sets.test('t', '10.0.0.1'), false, 'the 1 s entry expired');
      assert.is(await sets.test('t', '10.0.0.2'), true, 'timeout 0 is permanent');
      assert.match((await ns.run('ipset', ['save', 't'])).stdout, /add t 10\.0\.0\.2 timeout 0/);
    } finally {
      await sets.close();
    }
  }));

test('-exist semantics: add, del, create, destroy', () =>
  withNetns(async (ns) => {
    const sets = await Sets.open({ netns: ns.name });
    try {
      await sets.create('e', { type: 'hash:ip', timeout: 600, comment: true });
      await sets.add('e', '10.0.0.1', { timeout: 30, comment: 'x' });
      const dup = await rejects(sets.add('e', '10.0.0.1'), 'ERR_CONNLIMIT_EXISTS');
      assert.match(dup.message, /already in set 'e'/);
      // -exist add replaces the extensions: timeout back to the set's default, comment gone.
      await sets.add('e', '10.0.0.1', { exist: true });
      const listed = (await sets.list('e')).entries[0]!;
      assert.ok(listed.timeout! > 500, String(listed.timeout));
      assert.is(listed.comment, undefined);
      await sets.delete('e', '10.0.0.1');
      await rejects(sets.delete('e', '10.0.0.1'), 'ERR_CONNLIMIT_NOT_FOUND');
      await sets.delete('e', '10.0.0.1', { exist: true });
      await rejects(sets.create('e', { type: 'hash:ip', timeout: 600, comment: true }), 'ERR_CONNLIMIT_EXISTS');
      await sets.ensure('e', { type: 'hash:ip', timeout: 600, comment: true });
      await rejects(sets.ensure('e', { type: 'hash:net' }), 'ERR_CONNLIMIT_EXISTS');
      await rejects(sets.destroy('nope'), 'ERR_CONNLIMIT_NOT_FOUND');
      await sets.destroy('nope', { exist: true });
      // addMany: one duplicate names its entry; entries before it are in.
      const many = Array.from({ length: 2000 }, (_, i) => `10.1.${i >> 8}.${i & 255}`);
      await sets.addMany('e', many);
      assert.is((await sets.list('e')).header.size, 2000);
      const e = (await rejects(sets.addMany('e', ['10.2.0.1', many[7]!, '10.2.0.2']), 'ERR_CONNLIMIT_EXISTS')) as { message: string; cause?: { opIndex?: number } };
      assert.match(e.message, /entry 1 is already in set 'e'/);
      assert.is(await sets.test('e', '10.2.0.1'), true);
      await sets.addMany('e', ['10.2.0.1', many[7]!, '10.2.0.2'], { exist: true });
      await sets.deleteMany('e', many);
      assert.is((await sets.list('e')).header.size, 2);
    } finally {
      await sets.close();
    }
  }));

test('a closed handle rejects with ERR_CONNLIMIT_CLOSED, also a call that reaches the addon after close()', () =>
  withNetns(async (ns) => {
    await ipset(ns, 'create', 'late', 'hash:ip');
    const sets = await Sets.open({ netns: ns.name });
    // close() lands while add() looks the set up; add() then reaches the closed native
    // handle, whose own refusal must say closed too, not a kernel failure.
    const native = (sets as unknown as { native: { header(set: string): Promise<unknown> } }).native;
    const header = native.header.bind(native);
    // defineProperty: the addon's methods are read-only on the prototype.
    Object.defineProperty(native, 'header', {
      value: (set: string) => {
        const looked = header(set);
        void sets.close();
        return looked;
      },
    });
    await rejects(sets.add('late', '10.0.0.1'), 'ERR_CONNLIMIT_CLOSED', 'in flight');
    await rejects(sets.names(), 'ERR_CONNLIMIT_CLOSED', 'after close');
    assert.not.match(await save(ns), /add late/);
  }));

test('hostile input: typed errors before the kernel, sets untouched', () =>
  withNetns(async (ns) => {
    const sets = await Sets.open({ netns: ns.name });
    try {
      await sets.create('h', { type: 'hash:ip' });
      await sets.create('hp', { type: 'hash:ip,port', timeout: 60 });
      await sets.add('h', '10.0.0.1');
      const before = await save(ns);
      const bad: Array<[string, () => Promise<unknown>]> = [
        ['name of 32 bytes', () => sets.create('x'.repeat(32), { type: 'hash:ip' })],
        ['name with NUL', () => sets.add('h\0x', '10.0.0.2')],
        ['empty name', () => sets.flush('')],
        ['unknown type', () => sets.create('y', { type: 'hash:mac' as 'hash:ip' })],
        ['unknown option', () => sets.create('y', { type: 'hash:ip', bogus: 1 } as never)],
        ['timeout out of range', () => sets.create('y', { type: 'hash:ip', timeout: 2147484 })],
        ['negative maxelem', () => sets.create('y', { type: 'hash:ip', maxelem: -1 })],
        ['IPv6 into an inet set', () => sets.add('h', '2001:db8::1')],
        ['port on hash:ip', () => sets.add('h', '10.0.0.2,tcp:80')],
        ['prefix on hash:ip', () => sets.add('h', '10.0.0.0/30')],
        ['no port on hash:ip,port', () => sets.add('hp', '10.0.0.2')],
        ['port out of range', () => sets.add('hp', '10.0.0.2,70000')],
        ['unknown protocol', () => sets.add('hp', '10.0.0.2,icmp:1')],
        ['timeout on a set without timeouts', () => sets.add('h', '10.0.0.2', { timeout: 5 })],
        ['comment on a set without comments', () => sets.add('h', '10.0.0.2', { comment: 'x' })],
        ['timeout too large', () => sets.add('hp', '10.0.0.2,80', { timeout: 99999999 })],
        ['NUL in an address', () => sets.add('h', '10.0.0.2\0')],
        ['zone index', () => sets.add('h', 'fe80::1%lo')],
        ['not an address', () => sets.add('h', 'example.com')],
        ['one bad entry of many', () => sets.addMany('h', ['10.0.0.5', '10.0.0.6', '300.0.0.1'])],
        ['entries not an array', () => sets.addMany('h', '10.0.0.5' as never)],
      ];
      for (const [what, call] of bad) await rejects(call(), 'ERR_CONNLIMIT_INVALID', what);
      assert.is(await save(ns), before);
      const many = (await rejects(sets.addMany('h', ['10.0.0.5', 'x', '2001:db8::1']), 'ERR_CONNLIMIT_INVALID')) as { issues?: { path: string }[] };
      assert.equal(many.issues?.map((i) => i.path), ['entries[1]', 'entries[2]']);
    } finally {
      await sets.close();
    }
  }));

test('real TCP: a -m set rule refuses a banned client; unban lets it in; destroy while referenced is IN_USE', () =>
  withNetns(async (ns) => {
    const sets = await Sets.open({ netns: ns.name });
    const peer = await startPeer(ns);
    try {
      await sets.create('connlimit-ban', { type: 'hash:ip', timeout: 0 });
      const { port } = await peer.listen(0, '127.0.0.1');
      await ns.run('iptables-legacy', ['-A', 'INPUT', '-p', 'tcp', '--dport', String(port), '-m', 'set', '--match-set', 'connlimit-ban', 'src', '-j', 'REJECT', '--reject-with', 'tcp-reset']);
      const from = (localAddress: string) => peer.connect({ host: '127.0.0.1', port, localAddress, timeoutMs: 2000 }).then((r) => r.result);
      assert.is(await from('127.0.1.10'), 'ok');
      await sets.add('connlimit-ban', '127.0.1.10');
      assert.is(await from('127.0.1.10'), 'refused');
      assert.is(await from('127.0.1.11'), 'ok', 'others pass');
      await rejects(sets.destroy('connlimit-ban'), 'ERR_CONNLIMIT_IN_USE');
      await sets.delete('connlimit-ban', '127.0.1.10');
      assert.is(await from('127.0.1.10'), 'ok');
      // A ban with a timeout lifts itself.
      await sets.add('connlimit-ban', '127.0.1.12', { timeout: 1 });
      assert.is(await from('127.0.1.12'), 'refused');
      const deadline = Date.now() + 15_000;
      while ((await sets.test('connlimit-ban', '127.0.1.12')) && Date.now() < deadline) await sleep(100);
      assert.is(await from('127.0.1.12'), 'ok');
    } finally {
      await peer.exit();
      await sets.close();
    }
  }));

/** The CLI run in this process with list() unavailable (it holds a set whole): its exit code, stdout write by write, and stderr. */
async function streamed(args: string[], entries?: typeof Sets.prototype.entries): Promise<{ code: number; pieces: string[]; errors: string[] }> {
  const pieces: string[] = [];
  const errors: string[] = [];
  const writeError = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => errors.push(String(chunk)) > 0) as typeof process.stderr.write;
  const { list, entries: realEntries } = Sets.prototype;
  const write = process.stdout.write;
  Sets.prototype.list = () => Promise.reject(new Error('set ls listed the set whole (list())'));
  if (entries) Sets.prototype.entries = entries;
  process.stdout.write = ((chunk: string | Uint8Array) => pieces.push(String(chunk)) > 0) as typeof process.stdout.write;
  try {
    return { code: await main(args), pieces, errors };
  } finally {
    process.stderr.write = writeError;
    process.stdout.write = write;
    Sets.prototype.list = list;
    Sets.prototype.entries = realEntries;
  }
}

test('CLI: set create/add/del/test/ls/flush/destroy, ban and unban; --json', () =>
  withTwo(async (lib, ref, sets) => {
    const ok = async (args: string[]) => {
      const r = await cli([...args, '--netns', lib.name]);
      assert.is(r.code, 0, `connlimit ${args.join(' ')} -> ${r.code}: ${r.stderr}`);
      return r.stdout;
    };
    await ok(['set', 'create', 'S', 'hash:ip', '--timeout', '10m', '--counters', '--comment']);
    // 300 s: on a loaded machine a dozen CLI processes can outlast 30 s before `ls` reads it.
    await ok(['set', 'add', 'S', '10.0.0.1', '--timeout', '300', '--comment', 'x']);
    await ok(['set', 'add', 'S', '10.0.0.2']);
    await ok(['set', 'add', 'S', '10.0.0.2', '--exist']);
    await ok(['set', 'del', 'S', '10.0.0.2']);
    await ipset(ref, 'create', 'S', 'hash:ip', 'timeout', '600', 'counters', 'comment');
    await ipset(ref, 'add', 'S', '10.0.0.1', 'timeout', '300', 'comment', 'x');
    await ipset(ref, 'add', 'S', '10.0.0.2');
    await ipset(ref, '-exist', 'add', 'S', '10.0.0.2');
    await ipset(ref, 'del', 'S', '10.0.0.2');
    assert.is(await save(lib, true), await save(ref, true));
    const dup = await cli(['set', 'add', 'S', '10.0.0.1', '--netns', lib.name]);
    assert.is(dup.code, 1);
    assert.match(dup.stderr, /already in set 'S'/);
    assert.is((await cli(['set', 'test', 'S', '10.0.0.1', '--netns', lib.name])).code, 0);
    assert.is((await cli(['set', 'test', 'S', '10.0.0.9', '--netns', lib.name])).code, 1);
    assert.is((await cli(['set', 'add', 'S', '2001:db8::1', '--netns', lib.name])).code, 2);
    const listed = JSON.parse(await ok(['set', 'ls', 'S', '--json']));
    assert.is(listed.ok, true);
    assert.is(listed.header.type, 'hash:ip');
    assert.is(listed.entries[0].text, '10.0.0.1');
    assert.is(listed.entries[0].comment, 'x');
    assert.match(await ok(['set', 'ls', 'S']), /^Name: S\nType: hash:ip\nRevision: 6\nHeader: family inet hashsize 1024 maxelem 65536 timeout 600 counters comment bucketsize 12\n/);
    assert.equal((await ok(['set', 'ls'])).trim().split('\n'), ['S']);
    // ls NAME streams through entries(): in-process with list() unavailable, 10,000 members
    // come out in several writes and still make one JSON document (and ipset's text).
    const many = Array.from({ length: 10_000 }, (_, i) => `10.2.${i >> 8}.${i & 255}`);
    await sets.create('BIG', { type: 'hash:ip' });
    await sets.addMany('BIG', many);
    const json = await streamed(['set', 'ls', 'BIG', '--json', '--netns', lib.name]);
    assert.is(json.code, 0);
    assert.ok(json.pieces.length > 3, `${json.pieces.length} writes`);
    const doc = JSON.parse(json.pieces.join('')) as { ok: boolean; header: { size: number }; entries: { text: string }[] };
    assert.is(doc.ok, true);
    assert.is(doc.header.size, 10_000);
    assert.equal(doc.entries.map((e) => e.text).sort(), [...many].sort());
    const text = await streamed(['set', 'ls', 'BIG', '--netns', lib.name]);
    assert.is(text.code, 0);
    assert.ok(text.pieces.length > 1, `${text.pieces.length} writes`);
    const lines = text.pieces.join('').split('\n');
    assert.equal(lines.slice(0, 2), ['Name: BIG', 'Type: hash:ip']);
    assert.equal(lines.slice(lines.indexOf('Members:') + 1, -1).sort(), [...many].sort());
    assert.is(lines.at(-1), '');
    // A failure after output began closes the document (it still parses, with the error in
    // it) and exits with the failure's code; one before it is the usual single {"ok":false}.
    const realEntries = Sets.prototype.entries;
    const failing = async function* (this: Sets, name: string) {
      let n = 0;
      for await (const e of realEntries.call(this, name)) {
        if (n++ === 6000) throw new BusyError('ERR_CONNLIMIT_BUSY', 'the listing was cut short');
        yield e;
      }
    };
    const cut = await streamed(['set', 'ls', 'BIG', '--json', '--netns', lib.name], failing);
    assert.is(cut.code, 4);
    assert.match(cut.errors.join(''), /the listing was cut short \(after 6000 entries\)/);
    const partial = JSON.parse(cut.pieces.join('')) as { entries: unknown[]; error: { code: string } };
    assert.is(partial.error.code, 'ERR_CONNLIMIT_BUSY');
    assert.ok(partial.entries.length >= 1000 && partial.entries.length <= 6000, String(partial.entries.length));
    const none = await streamed(['set', 'ls', 'NOSUCH', '--json', '--netns', lib.name]);
    assert.is(none.code, 5);
    assert.equal(none.pieces.length, 1);
    assert.is(JSON.parse(none.pieces[0]!).error.code, 'ERR_CONNLIMIT_NOT_FOUND');
    await sets.destroy('BIG');
    await ok(['ban', '10.9.9.9', '--for', '10m']);
    await ok(['ban', '2001:db8::7']);
    const bans = await save(lib, true);
    assert.match(bans, /create connlimit-ban hash:ip family inet hashsize 1024 maxelem 65536 timeout 0 bucketsize 12 initval X/);
    assert.match(bans, /add connlimit-ban 10\.9\.9\.9 timeout T/);
    assert.match(bans, /add connlimit-ban6 2001:db8::7 timeout T/);
    const left = Number(/add connlimit-ban 10\.9\.9\.9 timeout (\d+)/.exec((await lib.run('ipset', ['save'])).stdout)?.[1]);
    assert.ok(left > 550 && left <= 600, String(left));
    assert.match(await ok(['unban', '10.9.9.9']), /unbanned 10\.9\.9\.9/);
    assert.match(await ok(['unban', '10.9.9.9']), /was not banned/);
    await ok(['set', 'flush', 'S']);
    await ok(['set', 'destroy', 'S']);
    assert.is((await cli(['set', 'destroy', 'S', '--netns', lib.name])).code, 5);
  }));

test.run();
