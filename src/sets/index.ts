// SPDX-License-Identifier: GPL-2.0-or-later
/** Client sets (ipset): the Sets handle and its types. */
export { Sets } from './sets';
export type * from './types';
