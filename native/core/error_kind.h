// SPDX-License-Identifier: GPL-2.0-or-later
// What a KernelError is about, as a closed list the code that makes the error picks from.
// src/errors.ts gives each kind its class, code and hint in one table, reading the errno where
// the kernel's errno is what carries the meaning (a refused commit, a socket that won't open).
// The op text is context for people only: nothing, in C++ or TypeScript, decides on it.
//
// JS sees the kind as a stable string (js/errors.cc ErrorKindName, NativeErrorKind in
// src/native-types.ts). Values are implicit and contiguous from 0: the addon lists them by
// counting up (test/14 checks both sides name the same kinds).
#pragma once

namespace connlimit::core {

enum class ErrorKind {
  kNone,               // nothing beyond the errno: EPERM, EEXIST, EMLINK, ENOTEMPTY, ... say it all
  kClosed,             // the handle was closed before the call
  kNetnsPathInvalid,   // the netns path names something that is no network namespace (found unopened)
  kLockPathInvalid,    // the xtables lock path names something that is no regular file
  kNetnsOpen,          // opening the netns file failed
  kNetnsEnter,         // setns(2) into the namespace failed
  kNetnsGone,          // the path no longer names the namespace the handle opened (ENOENT: deleted, ESTALE: another one now)
  kXtablesLock,        // opening or taking the xtables lock failed (EWOULDBLOCK: still held at the timeout)
  kTableInit,          // reading a legacy table failed (iptc_init, IPT_SO_GET_INFO)
  kLegacyCommit,       // the kernel refused a legacy table replace (iptc_commit)
  kNftSocket,          // an nf_tables socket or its generation-id request failed
  kNftCommit,          // the kernel refused a batch: on a message other than a rule, or on the batch itself
  kNftCommitRule,      // the kernel refused a rule message of a batch (EMLINK there: a jump loop)
  kTableOwned,         // the nf_tables table has the 'owner' flag and another socket owns it
  kChainNotFound,      // the chain an op names does not exist
  kRuleNotFound,       // no rule in the chain matches the one an op names
  kPositionNotFound,   // no rule at the position an op names
  kCtSocket,           // opening a ctnetlink socket failed
  kConntrack,          // a ctnetlink request failed: sending, receiving, or the kernel's answer
  kCtDumpInterrupted,  // the conntrack table kept changing during a dump (NLM_F_DUMP_INTR)
  kMalformed,          // bytes from the kernel that do not read as they must
  kIpsetSocket,        // an ipset socket could not be opened, or a send or receive on it failed
  kIpsetHandshake,     // the kernel refused the PROTOCOL request every ipset session starts with
  kIpsetType,          // the kernel refused the TYPE query for a set type (the detail names the type)
  kIpset,              // the kernel refused a request about a set (the detail names the set)
  kIpsetDelete,        // ... a delete of elements (IPSET_ERR_EXIST there: the element is absent)
  kIpsetSwap,          // ... a swap (IPSET_ERR_EXIST_SETNAME2 there: the second set is absent)
  kNftSet,             // the kernel refused a request about an nf_tables named set (ENOENT: no such set, EBUSY: a rule refers to it)
  kNftSetElement,      // ... about its elements (ENOENT: the element is absent, EEXIST: it is there already)
  kSetOutsideTable,    // a native-form rule would land in a table after the first, where the client set it names is not seen
  kMeterNameTaken,     // a native-form rule's hashlimit meter is named as another meter of its table (detail: the name)
};

}  // namespace connlimit::core
