// SPDX-License-Identifier: GPL-2.0-or-later

/**
 * Whether `text` is an IPv4 address as isIP takes one: four decimal parts 0-255, no leading
 * zeros. Its four parts are written to out[at..at+3] as they are read, so a caller that packs
 * addresses reads each text once (a check and then a pack read it twice); after a false, what
 * was written there means nothing. Always a Buffer, written unconditionally: a second kind of
 * array or an optional one made packing 100k addresses 4.2 -> 5.0 ms (micro-benchmark, 2026-12-07).
 */
export function dottedQuad(text: string, out: Buffer, at: number): boolean {
  let parts = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || value > 255 || ++parts > 4) return false;
      out[at++] = value;
      digits = 0;
      value = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && value === 0) return false; // a leading zero
      value = value * 10 + c - 48;
      if (++digits > 3) return false;
    } else return false;
  }
  return parts === 4;
}
