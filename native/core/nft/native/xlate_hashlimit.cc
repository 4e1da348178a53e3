// SPDX-License-Identifier: GPL-2.0-or-later
// `-m hashlimit` (struct xt_hashlimit_mtinfo3, revision 3) where iptables-translate 1.8.9's
// meter means what hashlimit means (docs/modules.md; src/rule/modules/hashlimit.ts refuses the
// rest first, naming the option): `meter NAME { KEY timeout Ns limit rate [over] R/unit
// [burst B packets] }`, as nft 1.0.6 sends it:
// - NEWSET NAME in the rule's batch before it (flags anonymous|timeout|eval, so the kernel deletes
//   it with the rule; key type and length of the key; userdata: the key's byte order, big endian
//   for one field and 0 for a concatenation), named by set id in the rule;
// - the key's fields in 1.8.9's order, `ip daddr . tcp dport . ip saddr . tcp sport` (those the
//   mode names), each loaded into the register after the previous one's (nft counts 32-bit
//   words and names a register by its 128-bit number where one starts there), a field with a
//   mask (`ip saddr and 255.255.255.0`) followed by its bitwise;
// - [ dynset update reg_key 1 set NAME timeout T ms expr [ limit rate R/unit burst B type
//   packets flags F ] ]: the rate as print_rate renders avg, the burst (nft sends 5 when the
//   text has none, hashlimit's default too), `over` (NFT_LIMIT_F_INV) for --hashlimit-above.
// Read back into the blob the CLI writes for the same options: size, max and interval 0, a gc
// interval of 1000, the masks of unnamed fields full.
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/xt_hashlimit.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>

#include "core/nft/expr_writer.h"
#include "core/nft/nfproto.h"
#include "core/nft/native/nftables_anonymous_set.h"
#include "core/nft/native/nftables_layout.h"
#include "core/nft/native/xlate_exprs.h"
#include "core/nft/native/xlate_modules.h"

namespace connlimit::core::nft::xlate {
namespace {

constexpr uint64_t kScale = 1000000;                 // XT_HASHLIMIT_SCALE_v2
constexpr uint64_t kUnits[] = {86400, 3600, 60, 1};  // print_rate's units in seconds, largest first
constexpr uint32_t kGcDefault = 1000, kMsPerSecond = 1000;
constexpr uint32_t kTypeInetService = 13;  // nft's TYPE_INET_SERVICE
constexpr uint32_t kTypeBits = 6;          // nft's concat type id: each field's type shifted in (TYPE_BITS)
constexpr uint32_t kWordsPerRegister = 4;  // 32-bit words in a 128-bit register
constexpr uint32_t kModes = XT_HASHLIMIT_HASH_DIP | XT_HASHLIMIT_HASH_DPT | XT_HASHLIMIT_HASH_SIP | XT_HASHLIMIT_HASH_SPT;

// One field of the meter's key.
struct Field {
  uint32_t mode;  // its XT_HASHLIMIT_HASH_* bit
  uint32_t base, offset, len, type;
};

// The fields a family's mode bits name, in the order 1.8.9 prints them.
std::vector<Field> FieldsOf(uint32_t mode, Family family) {
  uint32_t bytes = static_cast<uint32_t>(AddressBytes(family));
  uint32_t type = family == Family::kIpv4 ? nftables::kTypeIpAddr : nftables::kTypeIp6Addr;
  const Field all[] = {
      {XT_HASHLIMIT_HASH_DIP, NFT_PAYLOAD_NETWORK_HEADER, DaddrOffset(family), bytes, type},
      {XT_HASHLIMIT_HASH_DPT, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, kTypeInetService},
      {XT_HASHLIMIT_HASH_SIP, NFT_PAYLOAD_NETWORK_HEADER, SaddrOffset(family), bytes, type},
      {XT_HASHLIMIT_HASH_SPT, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, kTypeInetService},
  };
  std::vector<Field> out;
  for (const auto& f : all)
    if (mode & f.mode) out.push_back(f);
  return out;
}

// The register nft loads a field into, `words` 32-bit words into the key.
uint32_t RegisterAt(uint32_t words) { return words % kWordsPerRegister == 0 ? NFT_REG_1 + words / kWordsPerRegister : NFT_REG32_00 + words; }
uint32_t Words(uint32_t len) { return (len + 3) / 4; }

// print_rate: the rate and unit (seconds) 1.8.9 prints for avg.
void PrintedRate(uint64_t avg, uint64_t* rate, uint64_t* unit) {
  size_t i = 1;
  for (; i < std::size(kUnits); i++) {
    uint64_t mult = kScale * kUnits[i];
    if (avg > mult || mult / avg < mult % avg) break;
  }
  *unit = kUnits[i - 1];
  *rate = kScale * *unit / avg;
}

// The prefix a field's mask keeps: the address masks for addresses, all bits for ports.
uint32_t FieldPrefix(const hashlimit_cfg3& c, const Field& f) {
  if (f.type == kTypeInetService) return f.len * 8;
  return f.mode == XT_HASHLIMIT_HASH_SIP ? c.srcmask : c.dstmask;
}

// Whether the meter means what the blob means (docs/modules.md): packets, no rate-match, the
// table options left to their defaults, an expiry of whole seconds other than 1 (which 1.8.9
// leaves out), a rate print_rate renders back to the same avg, masks only on named addresses.
bool Translatable(const xt_hashlimit_mtinfo3& info, Family family) {
  const hashlimit_cfg3& c = info.cfg;
  uint32_t width = static_cast<uint32_t>(AddressBytes(family)) * 8;
  if ((c.mode & ~(kModes | XT_HASHLIMIT_INVERT)) || !(c.mode & kModes) || c.size || c.max || c.gc_interval != kGcDefault || c.interval) return false;
  if (c.expire % kMsPerSecond || c.expire == kMsPerSecond || c.avg == 0 || c.burst == 0 || c.burst > UINT32_MAX) return false;
  if (memchr(info.name, '\0', sizeof info.name) == nullptr || info.name[0] == '\0' || strchr(info.name, '%')) return false;
  uint64_t rate = 0, unit = 0;
  PrintedRate(c.avg, &rate, &unit);
  if (rate == 0 || kScale * unit / rate != c.avg) return false;
  bool sip = c.mode & XT_HASHLIMIT_HASH_SIP, dip = c.mode & XT_HASHLIMIT_HASH_DIP;
  auto mask_ok = [&](uint8_t m, bool named) { return named ? m >= 1 && m <= width : m == width; };
  return mask_ok(c.srcmask, sip) && mask_ok(c.dstmask, dip);
}

using SetPtr = std::unique_ptr<struct nftnl_set, void (*)(const struct nftnl_set*)>;
using UdataPtr = std::unique_ptr<struct nftnl_udata_buf, void (*)(const struct nftnl_udata_buf*)>;

// NEWSET of the meter, as nft 1.0.6 sends it for `meter NAME { KEY ... }`.
Message EncodeMeter(Family family, const std::string& table, const std::string& name, const std::vector<Field>& fields, uint32_t id, uint32_t seq) {
  uint32_t type = 0, len = 0;
  for (const auto& f : fields) {
    type = (type << kTypeBits) | f.type;
    len += fields.size() == 1 ? f.len : Words(f.len) * 4;
  }
  SetPtr s(nftnl_set_alloc(), nftnl_set_free);
  nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, NfProto(family));
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, table.c_str());
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, name.c_str());
  nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS, NFT_SET_ANONYMOUS | NFT_SET_TIMEOUT | NFT_SET_EVAL);
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, type);
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, len);
  nftnl_set_set_u32(s.get(), NFTNL_SET_ID, id);
  UdataPtr ud(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN), nftnl_udata_buf_free);
  // nft keeps no byte order for a concatenation.
  nftnl_udata_put_u32(ud.get(), NFTNL_UDATA_SET_KEYBYTEORDER, fields.size() == 1 ? nftables::kByteorderBigEndian : 0);
  nftnl_set_set_data(s.get(), NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud.get()), nftnl_udata_buf_len(ud.get()));
  Message out;
  std::vector<uint8_t> buf(MNL_SOCKET_BUFFER_SIZE, 0);
  auto* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), NFT_MSG_NEWSET, NfProto(family), NLM_F_CREATE, seq);
  nftnl_set_nlmsg_build_payload(nlh, s.get());
  nftables::AppendMessage(&out, nlh);
  return out;
}

}  // namespace

std::string HashlimitMeterName(const OpaqueExtension& match) {
  if (match.name != "hashlimit" || match.data.size() < sizeof(xt_hashlimit_mtinfo3)) return {};
  const char* name = reinterpret_cast<const char*>(match.data.data()) + offsetof(xt_hashlimit_mtinfo3, name);
  return std::string(name, strnlen(name, sizeof(xt_hashlimit_mtinfo3::name)));
}

Result<Unit> EncodeHashlimit(const XlateRule& w, const Blob& blob) {
  struct xt_hashlimit_mtinfo3 info {};
  if (!FromBlob(blob, &info) || !Translatable(info, w.family)) return EncodeError("a hashlimit match whose meter would not mean the same (docs/modules.md)");
  const hashlimit_cfg3& c = info.cfg;
  std::vector<Field> fields = FieldsOf(c.mode, w.family);
  uint32_t words = 0;
  for (const auto& f : fields) {
    if (f.base == NFT_PAYLOAD_TRANSPORT_HEADER) w.transport_dependency();
    uint32_t reg = RegisterAt(words);
    auto* load = AddExpr(w.r, "payload");
    nftnl_expr_set_u32(load, NFTNL_EXPR_PAYLOAD_DREG, reg);
    nftnl_expr_set_u32(load, NFTNL_EXPR_PAYLOAD_BASE, f.base);
    nftnl_expr_set_u32(load, NFTNL_EXPR_PAYLOAD_OFFSET, f.offset);
    nftnl_expr_set_u32(load, NFTNL_EXPR_PAYLOAD_LEN, f.len);
    uint32_t prefix = FieldPrefix(c, f);
    if (prefix < f.len * 8) {
      uint8_t mask[16] = {}, zero[16] = {};
      for (uint32_t bit = 0; bit < prefix; bit++) mask[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
      auto* b = AddExpr(w.r, "bitwise");
      nftnl_expr_set_u32(b, NFTNL_EXPR_BITWISE_SREG, reg);
      nftnl_expr_set_u32(b, NFTNL_EXPR_BITWISE_DREG, reg);
      nftnl_expr_set_u32(b, NFTNL_EXPR_BITWISE_OP, NFT_BITWISE_BOOL);
      nftnl_expr_set_u32(b, NFTNL_EXPR_BITWISE_LEN, f.len);
      nftnl_expr_set(b, NFTNL_EXPR_BITWISE_MASK, mask, f.len);
      nftnl_expr_set(b, NFTNL_EXPR_BITWISE_XOR, zero, f.len);
    }
    words += Words(f.len);
  }
  std::string name = info.name;
  auto id = w.batch_set([name, fields](Family family, const std::string& table, uint32_t set_id, uint32_t seq) {
    return EncodeMeter(family, table, name, fields, set_id, seq);
  });
  if (!id.ok()) return id.error();
  uint64_t rate = 0, unit = 0;
  PrintedRate(c.avg, &rate, &unit);
  auto* limit = nftnl_expr_alloc("limit");
  nftnl_expr_set_u64(limit, NFTNL_EXPR_LIMIT_RATE, rate);
  nftnl_expr_set_u64(limit, NFTNL_EXPR_LIMIT_UNIT, unit);
  nftnl_expr_set_u32(limit, NFTNL_EXPR_LIMIT_BURST, static_cast<uint32_t>(c.burst));
  nftnl_expr_set_u32(limit, NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
  nftnl_expr_set_u32(limit, NFTNL_EXPR_LIMIT_FLAGS, (c.mode & XT_HASHLIMIT_INVERT) ? NFT_LIMIT_F_INV : 0);
  auto* e = AddExpr(w.r, "dynset");
  nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG_1);
  nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
  nftnl_expr_set_u64(e, NFTNL_EXPR_DYNSET_TIMEOUT, c.expire);
  nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, name.c_str());
  nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SET_ID, id.value());
  nftnl_expr_set(e, NFTNL_EXPR_DYNSET_EXPR, limit, 0);
  return Unit{};
}

size_t ReadHashlimit(const std::vector<Expr>& ex, size_t i, Family family, const RuleSpec& rule, Blob* blob, const AnonymousSetElements&) {
  struct xt_hashlimit_mtinfo3 info {};
  hashlimit_cfg3& c = info.cfg;
  uint8_t width = static_cast<uint8_t>(AddressBytes(family) * 8);
  c.srcmask = c.dstmask = width;
  c.gc_interval = kGcDefault;
  // The fields, each where FieldsOf puts it, in its order.
  std::vector<Field> order = FieldsOf(kModes, family);
  size_t next_field = 0, j = i;
  uint32_t words = 0;
  while (j < ex.size() && ex[j].name == "payload") {
    auto l = ReadPayloadLoad(ex, j);
    uint32_t reg = RegisterAt(words);
    if (!l || Be32(ex[j].a[NFTA_PAYLOAD_DREG]) != reg) return 0;
    const Field* f = nullptr;
    for (; next_field < order.size() && !f; next_field++)
      if (order[next_field].base == l->base && order[next_field].offset == l->offset && order[next_field].len == l->len) f = &order[next_field];
    if (!f) return 0;
    if (!l->mask.empty()) {
      const Expr& b = ex[j + 1];
      int prefix = nftables::PrefixOf(l->mask.data(), static_cast<int>(l->len));
      if (f->type == kTypeInetService || prefix < 1 || static_cast<uint32_t>(prefix) >= l->len * 8 || Be32(b.a[NFTA_BITWISE_SREG]) != reg ||
          Be32(b.a[NFTA_BITWISE_DREG]) != reg)
        return 0;
      (f->mode == XT_HASHLIMIT_HASH_SIP ? c.srcmask : c.dstmask) = static_cast<uint8_t>(prefix);
    }
    // Ports only after -p tcp: 1.8.9 keys every protocol's ports as tcp ones.
    if (f->type == kTypeInetService && (rule.protocol != IPPROTO_TCP || rule.inv_protocol)) return 0;
    c.mode |= f->mode;
    words += Words(l->len);
    j = l->next;
  }
  if (j == i || j >= ex.size()) return 0;
  const Expr& d = ex[j];
  if (d.name != "dynset" || Be32(d.a[NFTA_DYNSET_OP]) != NFT_DYNSET_OP_UPDATE || Be32(d.a[NFTA_DYNSET_SREG_KEY]) != NFT_REG_1 ||
      d.a[NFTA_DYNSET_SREG_DATA] || Be32(d.a[NFTA_DYNSET_FLAGS]))
    return 0;
  // The kernel dumps the element's expressions as a list (NFTA_DYNSET_EXPRESSIONS) of one.
  const struct nlattr* one = d.a[NFTA_DYNSET_EXPR];
  if (!one && d.a[NFTA_DYNSET_EXPRESSIONS]) {
    auto list = ParseNested(d.a[NFTA_DYNSET_EXPRESSIONS]);
    if (list[NFTA_LIST_ELEM] && mnl_attr_get_payload_len(d.a[NFTA_DYNSET_EXPRESSIONS]) == list[NFTA_LIST_ELEM]->nla_len) one = list[NFTA_LIST_ELEM];
  }
  if (!one) return 0;
  auto expr = ParseNested(one);
  if (Str(expr[NFTA_EXPR_NAME]) != "limit" || !expr[NFTA_EXPR_DATA]) return 0;
  auto limit = ParseNested(expr[NFTA_EXPR_DATA]);
  uint32_t flags = Be32(limit[NFTA_LIMIT_FLAGS]);
  uint64_t rate = Be64(limit[NFTA_LIMIT_RATE]), unit = Be64(limit[NFTA_LIMIT_UNIT]), timeout = Be64(d.a[NFTA_DYNSET_TIMEOUT]);
  if (Be32(limit[NFTA_LIMIT_TYPE]) != NFT_LIMIT_PKTS || (flags & ~static_cast<uint32_t>(NFT_LIMIT_F_INV)) || rate == 0 || timeout > UINT32_MAX) return 0;
  c.avg = kScale * unit / rate;
  c.burst = Be32(limit[NFTA_LIMIT_BURST]);
  c.expire = static_cast<uint32_t>(timeout);
  if (flags & NFT_LIMIT_F_INV) c.mode |= XT_HASHLIMIT_INVERT;
  std::string name = Str(d.a[NFTA_DYNSET_SET_NAME]);
  if (name.size() >= sizeof info.name) return 0;
  memcpy(info.name, name.data(), name.size());
  // Only what a translation writes reads as hashlimit: the rate as print_rate renders it back, and so on.
  uint64_t printed_rate = 0, printed_unit = 0;
  if (c.avg == 0) return 0;
  PrintedRate(c.avg, &printed_rate, &printed_unit);
  if (printed_rate != rate || printed_unit != unit || !Translatable(info, family)) return 0;
  ToBlob(info, blob);
  return j - i + 1;
}

}  // namespace connlimit::core::nft::xlate
