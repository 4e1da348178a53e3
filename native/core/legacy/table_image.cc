// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/legacy/table_image.h"

#include <linux/netfilter.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/legacy/iptc_error_text.h"
#include "core/xt/standard.h"

namespace connlimit::core::legacy {
namespace {

// ipt_replace and ip6t_replace are one layout (name, valid_hooks, num_entries, size,
// hook_entry[], underflow[], num_counters, counters, entries[]).
static_assert(sizeof(struct ipt_replace) == sizeof(struct ip6t_replace), "one replace header");
static_assert(offsetof(struct ipt_replace, entries) == offsetof(struct ip6t_replace, entries), "one replace header");

// libiptc's IPTCB_CHAIN_START_SIZE / IPTCB_CHAIN_FOOT_SIZE / IPTCB_CHAIN_ERROR_SIZE, after the entry.
constexpr size_t kErrorTarget = XT_ALIGN(sizeof(struct xt_error_target));        // 64
constexpr size_t kStandardTarget = XT_ALIGN(sizeof(struct xt_standard_target));  // 40
constexpr size_t kTargetHeader = XT_ALIGN(sizeof(struct xt_entry_target));       // 32
constexpr const char* kErrorName = "ERROR";                                      // XT_ERROR_TARGET

// The two entry layouts differ before target_offset; these read and write what both have.
template <typename Entry>
void Frame(uint8_t* at, size_t size) {
  auto* e = reinterpret_cast<Entry*>(at);
  e->target_offset = sizeof(Entry);
  e->next_offset = static_cast<uint16_t>(size);
}
template <typename Entry>
uint16_t TargetOffset(const uint8_t* at) {
  return reinterpret_cast<const Entry*>(at)->target_offset;
}

KernelError Refused(const char* op, int err, const std::string& chain) {
  return KernelError{op, err, chain + ": " + IptcErrorText(op, err), -1};
}

KernelError NoChain(const std::string& chain) {
  return KernelError{"chain", ENOENT, chain, -1, ErrorKind::kChainNotFound};
}

int Verdict(const std::string& label) {
  if (label == "ACCEPT") return -NF_ACCEPT - 1;
  if (label == "DROP") return -NF_DROP - 1;
  if (label == "QUEUE") return -NF_QUEUE - 1;
  return XT_RETURN;
}

}  // namespace

const char* HookChainName(int hook) {
  static constexpr const char* kNames[kHooks] = {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"};
  return hook >= 0 && hook < kHooks ? kNames[hook] : "";
}

unsigned TableHooks(const std::string& name) {
  constexpr unsigned kIn = 1u << NF_INET_LOCAL_IN, kForward = 1u << NF_INET_FORWARD, kOut = 1u << NF_INET_LOCAL_OUT;
  constexpr unsigned kPre = 1u << NF_INET_PRE_ROUTING, kPost = 1u << NF_INET_POST_ROUTING;
  if (name == "filter" || name == "security") return kIn | kForward | kOut;
  if (name == "mangle") return kPre | kIn | kForward | kOut | kPost;
  if (name == "nat") return kPre | kIn | kOut | kPost;
  if (name == "raw") return kPre | kOut;
  return 0;
}

TableImage::TableImage(Family family, unsigned valid_hooks)
    : family_(family),
      entry_size_(family == Family::kIpv4 ? sizeof(struct ipt_entry) : sizeof(struct ip6t_entry)),
      encoder_(family) {
  for (int hook = 0; hook < kHooks; hook++) {
    if (!(valid_hooks & (1u << hook))) continue;
    index_.emplace(HookChainName(hook), static_cast<int>(chains_.size()));
    Chain c;
    c.name = HookChainName(hook);
    c.hook = hook;
    chains_.push_back(std::move(c));
  }
}

int TableImage::Find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? -1 : it->second;
}

Result<OpResult> TableImage::Apply(const Op& op) {
  switch (op.kind) {
    case Op::Kind::kAppend: return Append(op);
    case Op::Kind::kCreateChain: return CreateChain(op.chain);
    case Op::Kind::kSetPolicy: return SetPolicy(op.chain, op.to);
    default:
      return KernelError{"packed ops", EINVAL, "a whole-table write takes appends, chain creations and policies only", -1,
                         ErrorKind::kMalformed};
  }
}

Result<OpResult> TableImage::Append(const Op& op) {
  int at = Find(op.chain);
  if (at < 0) return NoChain(op.chain);
  const Target& t = op.rule.target;
  int jump_to = -1;
  if (t.kind == Target::Kind::kJump || t.kind == Target::Kind::kGoto) {
    jump_to = Find(t.name);
    if (jump_to < 0) return NoChain(t.name);
    // iptcc_map_target: "Can't jump to builtins."
    if (chains_[jump_to].hook >= 0) return Refused("iptc_append_entry", EINVAL, op.chain);
  }
  auto bytes = encoder_.Encode(op.rule);
  if (!bytes.ok()) return bytes.error();
  const std::vector<uint8_t>& entry = *bytes.value();
  Chain& c = chains_[at];
  const size_t from = arena_.size();
  arena_.insert(arena_.end(), entry.begin(), entry.end());
  if (!c.runs.empty() && c.runs.back().from + c.runs.back().size == from)
    c.runs.back().size += entry.size();
  else
    c.runs.push_back(Run{from, entry.size()});
  const size_t start = c.bytes;  // the entry's place among the chain's rules
  c.bytes += entry.size();
  c.count++;
  rules_++;
  bool standard = t.kind == Target::Kind::kNone || t.kind == Target::Kind::kVerdict || jump_to >= 0;
  if (standard) {
    uint8_t* e = &arena_[from];
    size_t target = family_ == Family::kIpv4 ? TargetOffset<struct ipt_entry>(e) : TargetOffset<struct ip6t_entry>(e);
    // iptcc_standard_map / iptcc_compile_rule: the name cleared (a jump's revision too), the
    // verdict written; an offset when the layout is known.
    std::memset(e + target + offsetof(struct xt_entry_target, u.user.name), 0, XT_EXTENSION_MAXNAMELEN + 1);
    size_t verdict_at = target + kTargetHeader;
    if (t.kind == Target::Kind::kVerdict) {
      int verdict = Verdict(t.name);
      std::memcpy(e + verdict_at, &verdict, sizeof verdict);
    } else {
      c.fixups.push_back(Fixup{start + verdict_at, jump_to, c.bytes});
    }
  }
  return OpResult{true, -1};
}

Result<OpResult> TableImage::CreateChain(const std::string& name) {
  // iptc_create_chain: an existing chain or a verdict's name is EEXIST, a long name EINVAL.
  if (Find(name) >= 0 || xt::IsVerdictLabel(name)) return Refused("iptc_create_chain", EEXIST, name);
  if (name.size() + 1 > XT_EXTENSION_MAXNAMELEN + 3) return Refused("iptc_create_chain", EINVAL, name);
  index_.emplace(name, static_cast<int>(chains_.size()));
  Chain c;
  c.name = name;
  chains_.push_back(std::move(c));
  return OpResult{};
}

Result<OpResult> TableImage::SetPolicy(const std::string& name, const std::string& policy) {
  int at = Find(name);
  if (at < 0) return NoChain(name);
  Chain& c = chains_[at];
  if (c.hook < 0) return Refused("iptc_set_policy", ENOENT, name);
  if (policy != "ACCEPT" && policy != "DROP") return Refused("iptc_set_policy", EINVAL, name);
  c.has_policy = true;
  c.verdict = Verdict(policy);
  return OpResult{};
}

bool TableImage::KeepsPolicy(int hook) const {
  for (const Chain& c : chains_)
    if (c.hook == hook) return !c.has_policy;
  return false;
}

void TableImage::KeepPolicy(int hook, int verdict) {
  for (Chain& c : chains_)
    if (c.hook == hook) c.verdict = verdict;
}

std::vector<const TableImage::Chain*> TableImage::Ordered() const {
  std::vector<const Chain*> out;
  for (const Chain& c : chains_) out.push_back(&c);
  std::stable_sort(out.begin(), out.end(), [](const Chain* a, const Chain* b) {
    if ((a->hook < 0) != (b->hook < 0)) return a->hook >= 0;
    if (a->hook >= 0) return a->hook < b->hook;
    return std::strcmp(a->name.c_str(), b->name.c_str()) < 0;
  });
  return out;
}

unsigned TableImage::Entries() const {
  unsigned n = 1;  // the final ERROR entry
  for (const Chain& c : chains_) n += c.count + (c.hook >= 0 ? 1 : 2);
  return n;
}

unsigned TableImage::PolicyIndex(int hook) const {
  unsigned n = 0;
  for (const Chain* c : Ordered()) {
    if (c->hook == hook) return n + c->count;
    n += c->count + (c->hook >= 0 ? 1 : 2);
  }
  return n;
}

void TableImage::Reserve(size_t bytes) {
  arena_.reserve(bytes);
  table_.reserve(sizeof(struct ipt_replace) + bytes);
}

void TableImage::Release() {
  std::vector<uint8_t>().swap(arena_);
  std::vector<uint8_t>().swap(table_);
}

void TableImage::PrepareBuild() {
  const size_t chain_frames = (chains_.size() + 1) * (entry_size_ + kErrorTarget + entry_size_ + kStandardTarget);
  const size_t size = sizeof(struct ipt_replace) + arena_.size() + chain_frames;
  if (table_.size() < size) table_.resize(size);
}

std::vector<uint8_t>& TableImage::Build(const std::string& name) {
  const size_t head_size = entry_size_ + kErrorTarget;
  const size_t foot_size = entry_size_ + kStandardTarget;
  std::vector<const Chain*> order = Ordered();
  // Where each chain's rules start, by its index in chains_: a jump's verdict.
  std::vector<uint32_t> first_rule(chains_.size());
  size_t size = 0;
  for (const Chain* c : order) {
    size += c->hook < 0 ? head_size : 0;
    first_rule[c - chains_.data()] = static_cast<uint32_t>(size);
    size += c->bytes + foot_size;
  }
  size += head_size;  // the final ERROR entry
  const size_t header = sizeof(struct ipt_replace);
  std::vector<uint8_t>& out = table_;
  out.resize(header + size);
  // Every byte is written below: the rules copied whole, the rest zeroed first.
  std::memset(out.data(), 0, header);
  auto* repl = reinterpret_cast<struct ipt_replace*>(out.data());
  std::strncpy(repl->name, name.c_str(), sizeof repl->name - 1);
  repl->num_entries = Entries();
  repl->size = static_cast<unsigned>(size);
  uint8_t* table = out.data() + header;
  const bool v4 = family_ == Family::kIpv4;
  auto frame = [&](size_t at, size_t bytes) {
    std::memset(table + at, 0, bytes);
    v4 ? Frame<struct ipt_entry>(table + at, bytes) : Frame<struct ip6t_entry>(table + at, bytes);
  };
  auto error_entry = [&](size_t at, const std::string& text) {
    frame(at, head_size);
    auto* t = reinterpret_cast<struct xt_error_target*>(table + at + entry_size_);
    t->target.u.user.target_size = kErrorTarget;
    std::strncpy(t->target.u.user.name, kErrorName, sizeof t->target.u.user.name - 1);
    std::strncpy(t->errorname, text.c_str(), sizeof t->errorname - 1);
  };
  size_t at = 0;
  for (const Chain* c : order) {
    if (c->hook >= 0) {
      repl->valid_hooks |= 1u << c->hook;
      repl->hook_entry[c->hook] = static_cast<unsigned>(at);
    } else {
      error_entry(at, c->name);
      at += head_size;
    }
    size_t copied = 0;
    for (const Run& r : c->runs) {
      std::memcpy(table + at + copied, arena_.data() + r.from, r.size);
      copied += r.size;
    }
    for (const Fixup& f : c->fixups) {
      int verdict = static_cast<int>(f.jump_to >= 0 ? first_rule[f.jump_to] : at + f.end);
      std::memcpy(table + at + f.verdict_at, &verdict, sizeof verdict);
    }
    at += c->bytes;
    if (c->hook >= 0) repl->underflow[c->hook] = static_cast<unsigned>(at);
    frame(at, foot_size);
    auto* t = reinterpret_cast<struct xt_standard_target*>(table + at + entry_size_);
    t->target.u.user.target_size = kStandardTarget;
    t->verdict = c->hook >= 0 ? c->verdict : XT_RETURN;
    at += foot_size;
  }
  error_entry(at, kErrorName);
  return out;
}

}  // namespace connlimit::core::legacy
