// SPDX-License-Identifier: GPL-2.0-or-later
/** bigint counters as strings, opaque bytes as hex: JSON cannot carry either. Every --json output uses it. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return value;
}
