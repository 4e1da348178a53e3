// SPDX-License-Identifier: GPL-2.0-or-later
// Golden netlink messages for client sets, captured from the ipset and nft CLIs by
// scripts/capture-golden-ipset.sh and capture-golden-nftables-sets.sh (in throwaway namespaces;
// reading them touches no kernel).
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** `test/fixtures/DIR/NAME.hex`: the message's bytes and the CLI command that sent them. */
export function setFixture(dir: 'ipset' | 'nftables-sets', name: string): { bytes: Buffer; command: string } {
  const text = readFileSync(join(__dirname, '..', 'fixtures', dir, `${name}.hex`), 'utf8');
  const command = /^# (?:command|nft): (.*)$/m.exec(text)?.[1] ?? '';
  const hex = text.split('\n').filter((l) => l && !l.startsWith('#')).join('');
  return { bytes: Buffer.from(hex, 'hex'), command };
}

/** Both CLIs number messages from the clock: compare without the sequence number (bytes 8-11). */
export function sameMasked(ours: Buffer, golden: Buffer): void {
  const a = Buffer.from(ours);
  const b = Buffer.from(golden);
  a.fill(0, 8, 12);
  b.fill(0, 8, 12);
  assert.is(a.toString('hex'), b.toString('hex'));
}
