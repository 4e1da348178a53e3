// SPDX-License-Identifier: GPL-2.0-or-later
// The one assertion uvu lacks: a promise rejects with a given error code.
import * as assert from 'uvu/assert';

/**
 * Asserts that `promise` rejects and that the error matches: a `code` string
 * ('ERR_CONNLIMIT_NOT_FOUND'), a RegExp tested against the message, or a predicate.
 * Returns the error for further checks.
 */
export async function rejects(
  promise: Promise<unknown>,
  expected: string | RegExp | ((e: { code?: string; message: string }) => boolean),
  what = '',
): Promise<{ code?: string; message: string }> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  if (error === undefined) assert.unreachable(`expected a rejection${what ? ` (${what})` : ''}`);
  const e = error as { code?: string; message: string };
  if (typeof expected === 'string') assert.is(e.code, expected, `${what} ${e.message}`);
  else if (expected instanceof RegExp) assert.match(e.message, expected, what);
  else assert.ok(expected(e), `${what}: unexpected error ${e.code ?? ''} ${e.message}`);
  return e;
}

/** What a thrown ValidationError looks like to the table-driven tests. */
export interface ErrorLike {
  code?: string;
  path?: string;
  token?: string;
  issues?: { path: string; token?: string; tokenIndex?: number }[];
}

/** Runs `fn`, asserts that it throws, and returns the error. */
export function catchError(fn: () => unknown): ErrorLike {
  try {
    fn();
  } catch (e) {
    return e as ErrorLike;
  }
  assert.unreachable('expected a ValidationError');
  return {};
}
