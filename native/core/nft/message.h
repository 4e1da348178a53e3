// SPDX-License-Identifier: GPL-2.0-or-later
// One netlink message (or a whole batch) as bytes: what the pure builders return and the socket sends.
#pragma once

#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace connlimit::core::nft {

using Message = std::vector<uint8_t>;

// How a small message of fixed attributes (DELRULE, DELSET) is written: attribute by attribute
// into its room, in libnftnl's order (kDirect), or through a libnftnl object (kObjects): the
// reference, which test 26 holds the direct bytes to, both families, every variant.
enum class Writing { kDirect, kObjects };

// Room to build one message in with libmnl and libnftnl, zeroed (they leave some padding
// unwritten, and nft sends it as zeros); the message is then taken out at its own length, so
// what a batch holds and copies is the message, not the room. Size the room by what the
// message can hold: every byte of it is cleared, and a page touched after the process forked
// (a service spawning a child, the benchmark's floor) is a page fault.
class MessageRoom {
 public:
  explicit MessageRoom(size_t size) : bytes_(new uint8_t[size]()), size_(size) {}
  char* data() { return reinterpret_cast<char*>(bytes_.get()); }
  size_t size() const { return size_; }
  // The message built at the start of the room, exactly its length.
  Message Take(const struct nlmsghdr* nlh) const { return Message(bytes_.get(), bytes_.get() + nlh->nlmsg_len); }

 private:
  std::unique_ptr<uint8_t[]> bytes_;
  size_t size_;
};

}  // namespace connlimit::core::nft
