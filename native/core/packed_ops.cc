// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/packed_ops.h"

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

namespace connlimit::core {
namespace {

constexpr uint8_t kVersion = 3;  // src/op-pack.ts VERSION
constexpr unsigned kOpKinds = 14;

enum RuleBits : uint8_t {
  kInvProtocol = 1, kSrc = 2, kDst = 4, kIn = 8, kOut = 16, kFragment = 32, kFragmentSet = 64,
};

// Reads the buffer front to back; the first short or out-of-range read sets `bad` and every
// later read returns zeros, so decoding code stays straight-line and checks once at the end.
class Reader {
 public:
  Reader(const uint8_t* p, const uint8_t* end) : p_(p), end_(end) {}

  bool done() const { return p_ == end_; }
  const uint8_t* at() const { return p_; }
  bool bad() const { return bad_ != nullptr; }
  const char* why() const { return bad_; }
  void Fail(const char* why) {
    if (!bad_) bad_ = why;
    p_ = end_;
  }

  uint8_t U8() { return Need(1) ? *p_++ : 0; }
  uint16_t U16() {
    if (!Need(2)) return 0;
    uint16_t v = static_cast<uint16_t>(p_[0] | (p_[1] << 8));
    p_ += 2;
    return v;
  }
  uint32_t U32() {
    if (!Need(4)) return 0;
    uint32_t v = static_cast<uint32_t>(p_[0]) | (static_cast<uint32_t>(p_[1]) << 8) | (static_cast<uint32_t>(p_[2]) << 16) |
                 (static_cast<uint32_t>(p_[3]) << 24);
    p_ += 4;
    return v;
  }
  std::string Str() {
    std::string s;
    StrInto(s);
    return s;
  }
  // Into a string the caller reuses: no allocation when it already has the room.
  void StrInto(std::string& s) {
    uint16_t n = U16();
    if (!Need(n)) return s.clear();
    s.assign(reinterpret_cast<const char*>(p_), n);
    p_ += n;
  }
  void Bytes(uint8_t* out, size_t n) {
    if (!Need(n)) return;
    memcpy(out, p_, n);
    p_ += n;
  }
  std::vector<uint8_t> Blob(size_t n) {
    if (!Need(n)) return {};
    std::vector<uint8_t> v(p_, p_ + n);
    p_ += n;
    return v;
  }

 private:
  bool Need(size_t n) {
    if (static_cast<size_t>(end_ - p_) >= n) return true;
    Fail("truncated");
    return false;
  }

  const uint8_t* p_;
  const uint8_t* end_;
  const char* bad_ = nullptr;
};

void ReadHeader(Reader& in, Family family) {
  if (in.U8() != kVersion) return in.Fail("layout version");
  if (in.U8() != (family == Family::kIpv4 ? 4 : 6)) in.Fail("family");
}

Address ReadAddress(Reader& in, Family family) {
  Address a;
  size_t n = AddressBytes(family);
  in.Bytes(a.addr, n);
  in.Bytes(a.mask, n);
  a.invert = in.U8() != 0;
  return a;
}

void ReadInterface(Reader& in, std::optional<Interface>& out) {
  Interface& i = out ? *out : out.emplace();
  in.StrInto(i.name);
  uint8_t bits = in.U8();
  i.wildcard = bits & 1;
  i.invert = bits & 2;
}

void ReadPorts(Reader& in, PortRange& s, PortRange& d) {
  s.lo = in.U16();
  s.hi = in.U16();
  d.lo = in.U16();
  d.hi = in.U16();
}

void ReadOpaque(Reader& in, OpaqueExtension& x) {
  in.StrInto(x.name);
  x.revision = in.U8();
  x.data = in.Blob(in.U32());
  uint8_t sets = in.U8();
  x.sets.clear();
  for (unsigned i = 0; i < sets && !in.bad(); i++) x.sets.push_back(in.Str());
}

// The alternative M of `m`, made so when it holds another: reading into it then reuses what it
// owns (a comment's string) when the previous rule's match at this place was of the same kind.
template <typename M>
M& Holding(Match& m) {
  if (auto* held = std::get_if<M>(&m)) return *held;
  return m.emplace<M>();
}

void ReadMatch(Reader& in, Match& m) {
  switch (in.U8()) {
    case 0: {
      TcpMatch& t = Holding<TcpMatch>(m);
      ReadPorts(in, t.sport, t.dport);
      t.option = in.U8();
      t.flag_mask = in.U8();
      t.flag_compare = in.U8();
      uint8_t inv = in.U8();
      t.inv_sport = inv & 1;
      t.inv_dport = inv & 2;
      t.inv_flags = inv & 4;
      t.inv_option = inv & 8;
      return;
    }
    case 1: {
      UdpMatch& u = Holding<UdpMatch>(m);
      ReadPorts(in, u.sport, u.dport);
      uint8_t inv = in.U8();
      u.inv_sport = inv & 1;
      u.inv_dport = inv & 2;
      return;
    }
    case 2: {
      ConnlimitMatch& c = Holding<ConnlimitMatch>(m);
      c.limit = in.U32();
      uint8_t bits = in.U8();
      c.invert = bits & 1;
      c.daddr = bits & 2;
      uint8_t mask = in.U8();
      c.mask_bits = mask == 255 ? -1 : mask;
      if (mask != 255 && mask > 128) in.Fail("connlimit mask");
      return;
    }
    case 3: return in.StrInto(Holding<CommentMatch>(m).comment);
    case 4: return ReadOpaque(in, Holding<OpaqueExtension>(m));
    default: return in.Fail("match kind");
  }
}

void ReadTarget(Reader& in, Target& t) {
  using K = Target::Kind;
  uint8_t kind = in.U8();
  t.name.clear();
  if (kind != 5) t.opaque = OpaqueExtension{};
  switch (kind) {
    case 0: t.kind = K::kNone; break;
    case 1: t.kind = K::kVerdict; in.StrInto(t.name); break;
    case 2: t.kind = K::kJump; in.StrInto(t.name); break;
    case 3: t.kind = K::kGoto; in.StrInto(t.name); break;
    case 4: t.kind = K::kReject; in.StrInto(t.name); break;
    case 5: t.kind = K::kOpaque; ReadOpaque(in, t.opaque); break;
    default: in.Fail("target kind");
  }
}

// Every field of `r` is written (reusing what it holds), so it may come from the previous op.
void ReadRule(Reader& in, Family family, RuleSpec& r) {
  r.protocol = in.U8();
  uint8_t bits = in.U8();
  r.inv_protocol = bits & kInvProtocol;
  r.src.reset();
  r.dst.reset();
  if (bits & kSrc) r.src = ReadAddress(in, family);
  if (bits & kDst) r.dst = ReadAddress(in, family);
  if (bits & kIn) ReadInterface(in, r.in_interface); else r.in_interface.reset();
  if (bits & kOut) ReadInterface(in, r.out_interface); else r.out_interface.reset();
  r.fragment.reset();
  if (bits & kFragmentSet) r.fragment = (bits & kFragment) != 0;
  uint8_t matches = in.U8();
  r.matches.resize(matches);
  for (unsigned i = 0; i < matches && !in.bad(); i++) ReadMatch(in, r.matches[i]);
  ReadTarget(in, r.target);
}

void ReadOp(Reader& in, Family family, Op& op) {
  uint8_t kind = in.U8();
  if (kind >= kOpKinds) in.Fail("op kind");
  op.kind = static_cast<Op::Kind>(kind);
  in.StrInto(op.chain);
  op.index = in.U32();
  in.StrInto(op.to);
  if (in.U8() != 0)
    ReadRule(in, family, op.rule);
  else
    op.rule = RuleSpec{};
}

KernelError Malformed(const char* why, int op_index) {
  return KernelError{"packed ops", EINVAL, std::string("internal: ") + why, op_index, ErrorKind::kMalformed};
}

}  // namespace

PackedOpReader::PackedOpReader(const uint8_t* bytes, size_t size, Family family) : at_(bytes), end_(bytes + size), family_(family) {
  Reader in(at_, end_);
  ReadHeader(in, family);
  if (in.bad()) error_ = Malformed(in.why(), -1);
  at_ = in.at();
}

bool PackedOpReader::Next(Op& op) {
  if (error_ || at_ == end_) return false;
  Reader in(at_, end_);
  ReadOp(in, family_, op);
  index_++;
  if (in.bad()) {
    error_ = Malformed(in.why(), index_);
    return false;
  }
  at_ = in.at();
  return true;
}

Result<std::vector<Op>> DecodePackedOps(const uint8_t* bytes, size_t size, Family family) {
  PackedOpReader in(bytes, size, family);
  std::vector<Op> ops;
  // A rule op of the common shape packs to ~40 bytes: room for every op of a rule batch at
  // once, so 10,000 ops aren't moved (and their pages faulted in) a dozen times while growing.
  ops.reserve(size / 24);
  for (Op op; in.Next(op);) ops.push_back(std::move(op));
  if (in.error()) return *in.error();
  return ops;
}

Result<RuleSpec> DecodePackedRule(const uint8_t* bytes, size_t size, Family family) {
  Reader in(bytes, bytes + size);
  ReadHeader(in, family);
  RuleSpec rule;
  ReadRule(in, family, rule);
  if (!in.done()) in.Fail("bytes after the rule");
  if (in.bad()) return Malformed(in.why(), -1);
  return rule;
}

}  // namespace connlimit::core
