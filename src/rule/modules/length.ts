// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-m length [!] --length N[:M]`: the packet's layer-3 length (header included),
 * `struct xt_length_info`, revision 0, both families (u16-range.ts has the layout and the
 * forms; `:M` saves as `0:M`, `N:` as `N:65535`). Stricter than the CLI: a backwards range,
 * which never matches, is refused.
 */
import type { Negatable } from '../types';
import { u16RangeModule } from './u16-range';
import type { RangeSpec } from './values';

/**
 * `-m length`. @example { kind: 'length', length: { from: 0, to: 128 } }
 * @example { kind: 'length', length: { not: 1500 } }
 */
export interface LengthMatch {
  kind: 'length';
  length: Negatable<RangeSpec>;
}

declare module '../types' {
  interface ModuleParts {
    length: LengthMatch;
  }
}

export const length = u16RangeModule({ name: 'length', field: 'length', option: '--length', what: 'packet length' });
