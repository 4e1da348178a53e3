// SPDX-License-Identifier: GPL-2.0-or-later
/** Bad command-line usage, thrown as the library's own ValidationError so it exits with 2. */
import { ValidationError } from '../index';

export function usageError(path: string, message: string): never {
  throw new ValidationError([{ path, message }]);
}
