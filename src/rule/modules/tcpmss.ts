// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-p tcp -m tcpmss [!] --mss N[:M]`: the MSS option of TCP SYN packets,
 * `struct xt_tcpmss_match_info`, revision 0, both families (u16-range.ts has the layout and the
 * forms). The kernel takes it with `-p tcp` only; a backwards range is refused, as the CLI does.
 */
import type { Negatable } from '../types';
import { u16RangeModule } from './u16-range';
import type { RangeSpec } from './values';

/** `-m tcpmss`. @example { kind: 'tcpmss', mss: { from: 1, to: 500 } } */
export interface TcpmssMatch {
  kind: 'tcpmss';
  mss: Negatable<RangeSpec>;
}

declare module '../types' {
  interface ModuleParts {
    tcpmss: TcpmssMatch;
  }
}

export const tcpmss = u16RangeModule({ name: 'tcpmss', field: 'mss', option: '--mss', what: 'MSS', protocols: [6] });
