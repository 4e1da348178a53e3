// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `JSON.stringify(await fw.list())` without a replacer: JSON has no bigint, so listed rules and
 * chains carry a `toJSON` that writes their counters as decimal strings (a counter passes 2^53
 * long before it passes what a string holds). Non-enumerable: the objects' own keys stay as
 * documented, and deep equality in tests doesn't see it.
 */

export function jsonSafe<T extends { packets: bigint; bytes: bigint }>(value: T): T {
  Object.defineProperty(value, 'toJSON', {
    value(this: T) {
      return { ...this, packets: this.packets.toString(), bytes: this.bytes.toString() };
    },
    enumerable: false,
  });
  return value;
}
