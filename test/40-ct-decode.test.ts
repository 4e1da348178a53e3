// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 4 (conntrack), pure: the ctnetlink decoder on replies the kernel sent to the
// reference tool (test/fixtures/ct, recorded by scripts/capture-ct-replies.sh), checked
// against what `conntrack` printed from the same bytes; then damaged bytes, which must give
// an error and never a crash; then the dump request encoder. No kernel is touched.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { binding } from '../src/binding';
import { toNativeFilter } from '../src/conntrack/filter';
import type { NativeCtEntry } from '../src/native-types';
import { parseCliLine, readCtFixture } from './helpers/ct-fixtures';

const Ct = binding().Conntrack;
const EBADMSG = 74;
const NLM_F_DUMP_INTR = 0x10;
const NLM_F_DUMP_FILTERED = 0x20;
const NLM_F_CREATE = 0x400;

function decodeAll(recvs: Buffer[]) {
  const entries: NativeCtEntry[] = [];
  const infos = recvs.map((b) => {
    const r = Ct._decode(b);
    entries.push(...r.entries);
    return r;
  });
  return { entries, infos };
}

/** Offsets of the netlink messages in one receive buffer. */
function messages(buf: Buffer): number[] {
  const out: number[] = [];
  for (let off = 0; off + 16 <= buf.length; ) {
    out.push(off);
    off += (buf.readUInt32LE(off) + 3) & ~3;
  }
  return out;
}

test('dump-mixed: every entry as conntrack -L printed it (v4, v6, tcp, udp, icmp, mark, zone, counters)', () => {
  const fx = readCtFixture('dump-mixed');
  const cli = fx.out.filter((l) => /^(tcp|udp|icmp)/.test(l)).map(parseCliLine);
  assert.is(cli.length, 5);
  const { entries, infos } = decodeAll(fx.recvs);
  assert.is(entries.length, cli.length);
  assert.ok(infos.at(-1)!.done, 'the last receive ends with NLMSG_DONE');
  assert.ok(infos.slice(0, -1).every((i) => !i.done));
  for (const c of cli) {
    const id = Number(c.rest.id);
    const e = entries.find((x) => x.id === id);
    assert.ok(e, `entry id ${id} decoded`);
    assert.is(e!.protocol, { tcp: 6, udp: 17, icmp: 1 }[c.proto]);
    assert.is(e!.family, c.orig.src!.includes(':') ? 'ipv6' : 'ipv4');
    assert.is(e!.orig.src, c.orig.src);
    assert.is(e!.orig.dst, c.orig.dst);
    assert.is(e!.reply!.src, c.reply.src);
    assert.is(e!.reply!.dst, c.reply.dst);
    if (c.proto === 'icmp') {
      assert.is(e!.orig.icmpType, Number(c.orig.type));
      assert.is(e!.orig.icmpCode, Number(c.orig.code));
      assert.is(e!.orig.icmpId, Number(c.orig.id));
      assert.is(e!.reply!.icmpType, Number(c.reply.type));
    } else {
      assert.is(e!.orig.sport, Number(c.orig.sport));
      assert.is(e!.orig.dport, Number(c.orig.dport));
      assert.is(e!.reply!.sport, Number(c.reply.sport));
      assert.is(e!.reply!.dport, Number(c.reply.dport));
    }
    assert.is(e!.timeout, c.timeout);
    const states = ['NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2'];
    assert.is(e!.tcpState === null ? null : states[e!.tcpState], c.state);
    assert.is(e!.mark, Number(c.rest.mark));
    assert.is(e!.zone, Number(c.rest.zone ?? 0));
    assert.is(Boolean(e!.status & 4), c.flags.includes('ASSURED'), 'IPS_ASSURED');
    assert.is(Boolean(e!.status & 2), !c.flags.includes('UNREPLIED'), 'IPS_SEEN_REPLY');
    assert.ok(e!.counters, 'nf_conntrack_acct=1 gives counters');
    assert.is(e!.counters!.origPackets, BigInt(c.orig.packets!));
    assert.is(e!.kind, 'entry');
  }
});

test('dump-multipart: 400 entries over many receives, NLMSG_DONE only at the end', () => {
  const fx = readCtFixture('dump-multipart');
  assert.ok(fx.recvs.length > 5, `${fx.recvs.length} receives`);
  const cli = fx.out.filter((l) => l.startsWith('tcp')).map(parseCliLine);
  const { entries, infos } = decodeAll(fx.recvs);
  assert.is(entries.length, 400);
  assert.is(cli.length, 400);
  assert.equal(infos.map((i) => i.done), [...Array(fx.recvs.length - 1).fill(false), true]);
  const key = (src: string, sport: number) => `${src}:${sport}`;
  assert.equal(new Set(entries.map((e) => key(e.orig.src, e.orig.sport!))), new Set(cli.map((c) => key(c.orig.src!, Number(c.orig.sport)))));
  // The seq of the request is on every message: another seq makes them all stale.
  const seq = fx.recvs[0]!.readUInt32LE(8);
  assert.is(Ct._decode(fx.recvs[0]!, seq).entries.length, Ct._decode(fx.recvs[0]!).entries.length);
  const other = Ct._decode(fx.recvs[0]!, (seq + 1) >>> 0);
  assert.is(other.entries.length, 0);
  assert.is(other.stale, messages(fx.recvs[0]!).length);
});

test('stats: CTA_STATS_GLOBAL_ENTRIES as conntrack -C printed it, and no NLMSG_DONE', () => {
  const fx = readCtFixture('stats');
  assert.is(fx.recvs.length, 1);
  const r = Ct._decode(fx.recvs[0]!);
  assert.is(r.stats?.entries, Number(fx.out[0]));
  assert.ok(r.stats!.maxEntries > 0);
  assert.is(r.done, false, 'the kernel sends no NLMSG_DONE after the stats reply (NOTES §5.2)');
});

test('error-enoent: NLMSG_ERROR becomes the errno, op kept', () => {
  const fx = readCtFixture('error-enoent');
  assert.match(fx.out.join('\n'), /doesn't exist/);
  try {
    Ct._decode(fx.recvs[0]!);
    assert.unreachable('should throw');
  } catch (e) {
    const err = e as { errno: number; op: string };
    assert.is(err.errno, 2);
    assert.is(err.op, 'ct dump');
  }
});

test("extended ack: the kernel's text (NLMSGERR_ATTR_MSG) is the error's detail, the request echoed whole or capped", () => {
  // One reader for ctnetlink and nf_tables (native/core/netlink_extack): nlmsgerr, then the
  // echoed request (whole, padded to 4, unless NLM_F_CAPPED), then the attributes.
  const NLM_F_CAPPED = 0x100;
  const NLM_F_ACK_TLVS = 0x200;
  const message = (capped: boolean, echoLen: number, text: string) => {
    const echoBody = capped ? Buffer.alloc(0) : Buffer.alloc((Math.max(echoLen, 16) - 16 + 3) & ~3, 0xaa);
    const attrLen = 4 + Buffer.byteLength(text) + 1;
    const attr = Buffer.alloc((attrLen + 3) & ~3);
    attr.writeUInt16LE(attrLen, 0);
    attr.writeUInt16LE(1, 2); // NLMSGERR_ATTR_MSG
    attr.write(text, 4);
    const err = Buffer.alloc(20);
    err.writeInt32LE(-22, 0); // EINVAL
    err.writeUInt32LE(echoLen, 4);
    const body = Buffer.concat([err, echoBody, attr]);
    const hdr = Buffer.alloc(16);
    hdr.writeUInt32LE(16 + body.length, 0);
    hdr.writeUInt16LE(2, 4); // NLMSG_ERROR
    hdr.writeUInt16LE(NLM_F_ACK_TLVS | (capped ? NLM_F_CAPPED : 0), 6);
    return Buffer.concat([hdr, body]);
  };
  const detail = (buf: Buffer) => {
    try {
      Ct._decode(buf);
    } catch (e) {
      return (e as { errno: number; detail: string }).errno === 22 ? (e as { detail: string }).detail : 'wrong errno';
    }
    return 'no error';
  };
  assert.is(detail(message(true, 40, 'Invalid zone')), 'Invalid zone');
  assert.is(detail(message(false, 16 + 6, 'Unknown attribute')), 'Unknown attribute', 'an echo of 22 bytes is padded to 24');
  assert.is(detail(message(false, 16 + 40, 'whole request')), 'whole request');
  // An echo length past the end, or shorter than a header: no text, and no read past the end.
  const long = message(false, 16, 'x');
  long.writeUInt32LE(4096, 16 + 4);
  assert.is(detail(long), '');
  long.writeUInt32LE(3, 16 + 4);
  assert.is(detail(long), '');
});

test('NLM_F_DUMP_INTR, NLM_F_DUMP_FILTERED and event kinds are read from the header', () => {
  const buf = Buffer.from(readCtFixture('dump-mixed').recvs[0]!);
  assert.is(Ct._decode(buf).interrupted, false);
  const [first, second] = messages(buf);
  buf.writeUInt16LE(buf.readUInt16LE(first! + 6) | NLM_F_DUMP_INTR | NLM_F_DUMP_FILTERED, first! + 6);
  const r = Ct._decode(buf);
  assert.ok(r.interrupted);
  assert.ok(r.filtered);
  // As events: NEW carries NLM_F_CREATE, DESTROY is IPCTNL_MSG_CT_DELETE (type 1<<8 | 2).
  buf.writeUInt16LE(buf.readUInt16LE(first! + 6) | NLM_F_CREATE, first! + 6);
  buf.writeUInt16LE((1 << 8) | 2, second! + 4);
  const kinds = Ct._decode(buf).entries.map((e) => e.kind);
  assert.equal(kinds.slice(0, 2), ['new', 'destroy']);
});

test('truncated replies: an error (EBADMSG, op ct decode) at every cut not on a message boundary', () => {
  for (const buf of readCtFixture('dump-mixed').recvs) {
    const bounds = new Set([...messages(buf), buf.length]);
    let errors = 0;
    for (let cut = 1; cut < buf.length; cut++) {
      const part = buf.subarray(0, cut);
      if (bounds.has(cut)) {
        const r = Ct._decode(part);
        assert.is(r.entries.length, messages(part).length - (r.done ? 1 : 0));
        continue;
      }
      try {
        Ct._decode(part);
        assert.unreachable(`cut at ${cut} of ${buf.length} decoded`);
      } catch (e) {
        const err = e as { errno: number; op: string };
        assert.is(err.op, 'ct decode', String(e));
        assert.is(err.errno, EBADMSG);
        errors++;
      }
    }
    assert.ok(errors > 0);
  }
});

test('garbage and bit flips: decoded or refused, never a crash or a read past the end', () => {
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const real = readCtFixture('dump-mixed').recvs[0]!;
  let refused = 0;
  let decoded = 0;
  for (let i = 0; i < 3000; i++) {
    let buf: Buffer;
    if (i % 2 === 0) {
      buf = Buffer.alloc(1 + Math.floor(rand() * 300));
      for (let j = 0; j < buf.length; j++) buf[j] = Math.floor(rand() * 256);
      if (buf.length >= 4 && i % 4 === 0) buf.writeUInt32LE(buf.length, 0); // a plausible nlmsg_len
    } else {
      buf = Buffer.from(real);
      for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) buf[Math.floor(rand() * buf.length)] ^= 1 << Math.floor(rand() * 8);
    }
    try {
      Ct._decode(buf);
      decoded++;
    } catch (e) {
      const err = e as { errno: number; op: string };
      assert.ok(err.op === 'ct decode' || err.op === 'ct dump', `op ${err.op}`);
      assert.ok(Number.isInteger(err.errno) && err.errno > 0);
      refused++;
    }
  }
  assert.ok(refused > 1000, `${refused} refused`);
  assert.ok(decoded > 0, `${decoded} decoded`);
});

test('a message length of 2 GiB or more (a flipped top bit) is refused, not read past the end', () => {
  // NLMSG_DONE (the step past it used the length: 0xf0000000 moved the read 3.75 GiB on), and
  // an entry (its attributes read on for the length).
  const done = Buffer.alloc(20);
  done.writeUInt16LE(3, 4);
  const entry = readCtFixture('dump-mixed').recvs[0]!;
  for (const [buf, len] of [
    [done, 0xf0000000],
    [done, 0x80000014],
    [entry, entry.readUInt32LE(0) + 0x80000000],
  ] as const) {
    const bad = Buffer.from(buf);
    bad.writeUInt32LE(len, 0);
    try {
      Ct._decode(bad);
      assert.unreachable(`nlmsg_len ${len} decoded`);
    } catch (e) {
      const err = e as { errno: number; op: string };
      assert.is(err.op, 'ct decode', String(e));
      assert.is(err.errno, EBADMSG);
    }
  }
});

/** The attributes of a ctnetlink request after nlmsghdr + nfgenmsg, nests opened. */
function attrs(buf: Buffer, start = 20, end = buf.readUInt32LE(0)): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (let off = start; off + 4 <= end; ) {
    const len = buf.readUInt16LE(off);
    out.set(buf.readUInt16LE(off + 2) & 0x3fff, buf.subarray(off + 4, off + len));
    off += (len + 3) & ~3;
  }
  return out;
}

test('dump request: the filter the kernel can apply goes into CTA_TUPLE_ORIG + CTA_FILTER, the rest stays out', () => {
  const req = Ct._encodeDump(toNativeFilter({ source: '10.0.0.1', protocol: 'tcp', dport: 443, mark: { value: 7, mask: 0xff }, zone: 3, status: 'ASSURED' }), 9);
  assert.is(req.readUInt16LE(4), (1 << 8) | 1, 'IPCTNL_MSG_CT_GET');
  assert.is(req.readUInt16LE(6), 0x1 | 0x300, 'NLM_F_REQUEST|NLM_F_DUMP');
  assert.is(req.readUInt32LE(8), 9);
  assert.is(req[16], 2, 'nfgen_family AF_INET');
  const a = attrs(req);
  const tupleOrig = attrs(a.get(1)!, 0, a.get(1)!.length); // CTA_TUPLE_ORIG
  const ip = attrs(tupleOrig.get(1)!, 0, tupleOrig.get(1)!.length);
  assert.equal([...ip.get(1)!], [10, 0, 0, 1], 'CTA_IP_V4_SRC');
  assert.not.ok(ip.has(2), 'no destination');
  const proto = attrs(tupleOrig.get(2)!, 0, tupleOrig.get(2)!.length);
  assert.is(proto.get(1)![0], 6, 'CTA_PROTO_NUM');
  assert.is(proto.get(3)!.readUInt16BE(0), 443, 'CTA_PROTO_DST_PORT, big-endian');
  const filter = attrs(a.get(25)!, 0, a.get(25)!.length); // CTA_FILTER
  assert.is(filter.get(1)!.readUInt32LE(0), 1 | 8 | 32, 'IP_SRC|PROTO_NUM|PROTO_DST_PORT, host order');
  assert.is(filter.get(2)!.readUInt32LE(0), 0);
  assert.is(a.get(8)!.readUInt32BE(0), 7, 'CTA_MARK');
  assert.is(a.get(21)!.readUInt32BE(0), 0xff, 'CTA_MARK_MASK');
  assert.is(a.get(18)!.readUInt16BE(0), 3, 'CTA_ZONE');
  assert.is(a.get(3)!.readUInt32BE(0), 4, 'CTA_STATUS');
  assert.is(a.get(26)!.readUInt32BE(0), 4, 'CTA_STATUS_MASK');

  // A CIDR, a port range, an inversion: not expressible in CTA_FILTER, so left to C++.
  const wide = attrs(Ct._encodeDump(toNativeFilter({ source: '10.0.0.0/24', protocol: 'tcp', dport: { from: 1, to: 9 } }), 1));
  const wideFilter = attrs(wide.get(25)!, 0, wide.get(25)!.length);
  assert.is(wideFilter.get(1)!.readUInt32LE(0), 8, 'PROTO_NUM only');
  // No family: the kernel refuses CTA_FILTER (EOPNOTSUPP), so none is sent.
  const bare = Ct._encodeDump(toNativeFilter({ protocol: 'udp', dport: 53 }), 1);
  assert.is(bare.length, 20, 'a bare dump request');
});

test('filter validation: every problem with its field path, before any kernel call', () => {
  const bad: Array<[object, string]> = [
    [{ dport: 80 }, 'dport'],
    [{ protocol: 'tcp', dport: 70000 }, 'dport'],
    [{ source: '10.0.0.1', family: 'ipv6' }, 'source'],
    [{ source: '10.0.0.0/255.0.255.0' }, 'source'],
    [{ state: 'OPEN' }, 'state'],
    [{ protocol: 'udp', state: 'ESTABLISHED' }, 'state'],
    [{ mark: -1 }, 'mark'],
    [{ mark: { value: 3, mask: 1 } }, 'mark.value'],
    [{ zone: 70000 }, 'zone'],
    [{ status: ['ASSURED', 'NOPE'] }, 'status[1]'],
    [{ srcport: 1 }, 'srcport'],
  ];
  for (const [f, path] of bad) {
    try {
      toNativeFilter(f as never);
      assert.unreachable(JSON.stringify(f));
    } catch (e) {
      const err = e as { code: string; path: string };
      assert.is(err.code, 'ERR_CONNLIMIT_INVALID', JSON.stringify(f));
      assert.is(err.path, path, JSON.stringify(f));
    }
  }
  const f = toNativeFilter({ source: '2001:db8::/32', protocol: { not: 'udp' } });
  assert.is(f.family, 10, 'family inferred from the address');
  assert.is(f.src!.prefix, 32);
  assert.is(f.invertProtocol, true);
});

test.run();
