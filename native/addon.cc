// SPDX-License-Identifier: GPL-2.0-or-later
// The addon's export table and per-environment state; nothing else. Loaded once per
// environment (main thread or Worker): no statics anywhere in native/.
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <napi.h>

#include <string>

#include "core/legacy/entry_codec.h"
#include "core/nft/chain_codec.h"
#include "core/nft/compat/compat_form.h"
#include "core/nft/compat/rule_codec.h"
#include "core/nft/compat/rule_shape.h"
#include "core/nft/native/native_form.h"
#include "core/nft/native/nftables_codec.h"
#include "core/nft/recorded_reader.h"
#include "core/packed_ops.h"
#include "core/xt/same_rule.h"
#include "js/conntrack.h"
#include "js/convert.h"
#include "js/ct_watch.h"
#include "js/errors.h"
#include "js/ipset.h"
#include "js/ipset_list.h"
#include "js/legacy_table.h"
#include "js/iptables_nft_table.h"
#include "js/nftables_set_list.h"
#include "js/nftables_sets.h"
#include "js/nftables_table.h"
#include "js/promise_worker.h"
#include "js/ruleset_watch.h"

namespace connlimit::js {

class ConnlimitAddon : public Napi::Addon<ConnlimitAddon> {
 public:
  ConnlimitAddon(Napi::Env env, Napi::Object exports) {
    DefineAddon(exports, {
                             InstanceValue("LegacyTable", LegacyTable::Define(env), napi_enumerable),
                             InstanceValue("IptablesNftTable", IptablesNftTable::Define(env), napi_enumerable),
                             InstanceMethod<&ConnlimitAddon::EncodeLegacyRule>("_encodeLegacyRule"),
                             InstanceMethod<&ConnlimitAddon::DecodeLegacyRule>("_decodeLegacyRule"),
                             InstanceMethod<&ConnlimitAddon::SameRule>("sameRule"),
                             InstanceMethod<&ConnlimitAddon::NftablesReadBack>("nftablesReadBack"),
                             InstanceValue("Conntrack", Conntrack::Define(env), napi_enumerable),
                             InstanceValue("ConntrackList", ConntrackList::Define(env), napi_enumerable),
                             InstanceMethod<&ConnlimitAddon::Ping>("_ping"),
                             InstanceMethod<&ConnlimitAddon::PingSync>("_pingSync"),
                             InstanceValue("ConntrackWatch", ConntrackWatch::Define(env), napi_enumerable),
                             InstanceMethod<&ConnlimitAddon::EncodeNftRule>("_encodeNftRule"),
                             InstanceMethod<&ConnlimitAddon::DecodeNftRule>("_decodeNftRule"),
                             InstanceMethod<&ConnlimitAddon::NftRuleShapes>("_nftRuleShapes"),
                             InstanceMethod<&ConnlimitAddon::EncodeNftCreate>("_encodeNftCreate"),
                             InstanceValue("NftablesTable", NftablesTable::Define(env), napi_enumerable),
                             InstanceMethod<&ConnlimitAddon::EncodeNftables>("_encodeNftables"),
                             InstanceMethod<&ConnlimitAddon::EncodeNftablesCreate>("_encodeNftablesCreate"),
                             InstanceMethod<&ConnlimitAddon::EncodeNftablesDelete>("_encodeNftablesDelete"),
                             InstanceMethod<&ConnlimitAddon::DecodeNftablesRule>("_decodeNftablesRule"),
                             InstanceValue("_errorKinds", ErrorKindNames(env)),
                             InstanceValue("IpsetHandle", IpsetHandle::Define(env), napi_enumerable),
                             InstanceValue("NftablesSetHandle", NftablesSetHandle::Define(env), napi_enumerable),
                             InstanceValue("IpsetList", IpsetList::Define(env), napi_enumerable),
                             InstanceValue("NftablesSetList", NftablesSetList::Define(env), napi_enumerable),
                             InstanceMethod<&ConnlimitAddon::PlanNft>("_planNft"),
                             InstanceValue("RulesetWatch", RulesetWatch::Define(env), napi_enumerable),
                         });
  }

 private:
  // Test only: the commit driver and planner on recorded replies, no kernel (core/nft/recorded_reader.h).
  // _planNft(form 'nft'|'nftables', family, table, recordings, ops): { batches, attempts, results }.
  Napi::Value PlanNft(const Napi::CallbackInfo& info) {
    namespace nft = core::nft;
    Napi::Env env = info.Env();
    auto family = FamilyFromJs(info[1]);
    std::string table = info[2].As<Napi::String>().Utf8Value();
    std::unique_ptr<nft::Form> form;
    if (info[0].As<Napi::String>().Utf8Value() == "nft")
      form = std::make_unique<nft::CompatForm>(family, table);
    else
      form = std::make_unique<nft::NativeForm>(family, table);
    auto recordings = info[3].As<Napi::Array>();
    std::vector<nft::RecordedState> states;
    for (uint32_t i = 0; i < recordings.Length(); i++) {
      auto b = recordings.Get(i).As<Napi::Buffer<uint8_t>>();
      auto st = nft::DecodeRecording(*form, b.Data(), b.Length());
      if (!st.ok()) throw ErrorFromKernel(env, st.error());
      states.push_back(st.take());
    }
    auto packed = PackedFromJs(info[4]);
    auto ops = core::DecodePackedOps(packed->data(), packed->size(), family);
    if (!ops.ok()) throw ErrorFromKernel(env, ops.error());
    nft::RecordedLink link(std::move(states));
    nft::Cache cache;
    int attempts = 0;
    auto r = nft::CommitOps(*form, link, cache, ops.value(), 0, 0, &attempts);
    if (!r.ok()) throw ErrorFromKernel(env, r.error());
    auto batches = Napi::Array::New(env, link.batches().size());
    for (size_t i = 0; i < link.batches().size(); i++)
      batches.Set(static_cast<uint32_t>(i), Napi::Buffer<uint8_t>::Copy(env, link.batches()[i].data(), link.batches()[i].size()));
    auto o = Napi::Object::New(env);
    o.Set("batches", batches);
    o.Set("attempts", attempts);
    o.Set("results", OpResultsToJs(env, r.value()));
    return o;
  }

  // Test only: the entry bytes for a rule, to compare with bytes captured from iptables-legacy.
  Napi::Value EncodeLegacyRule(const Napi::CallbackInfo& info) {
    auto family = FamilyFromJs(info[0]);
    auto bytes = core::legacy::EncodeEntry(family, RuleFromJs(info[1], family));
    if (!bytes.ok()) throw ErrorFromKernel(info.Env(), bytes.error());
    return Napi::Buffer<uint8_t>::Copy(info.Env(), bytes.value().data(), bytes.value().size());
  }

  // Test only: decode entry bytes; info[2] lists the names to take as user chains.
  Napi::Value DecodeLegacyRule(const Napi::CallbackInfo& info) {
    auto family = FamilyFromJs(info[0]);
    if (!info[1].IsBuffer()) throw Napi::TypeError::New(info.Env(), "entry must be a Buffer");
    auto entry = info[1].As<Napi::Buffer<uint8_t>>();
    std::vector<std::string> chains;
    if (info[2].IsArray()) {
      auto a = info[2].As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); i++) chains.push_back(a.Get(i).As<Napi::String>().Utf8Value());
    }
    auto rule = core::legacy::DecodeEntry(family, entry.Data(), entry.Length(), std::nullopt, [&chains](const std::string& name) {
      for (const auto& c : chains)
        if (c == name) return true;
      return false;
    });
    if (!rule.ok()) throw ErrorFromKernel(info.Env(), rule.error());
    return RuleToJs(info.Env(), rule.value(), family);
  }

  // The comparison delete/check/ensure use (xt::SameRule, on meaning): also apply's planner
  // (src/apply/plan.ts) on the main thread; pure, no kernel call.
  Napi::Value SameRule(const Napi::CallbackInfo& info) {
    auto family = FamilyFromJs(info[0]);
    bool same = core::xt::SameRule(family, RuleFromJs(info[1], family), RuleFromJs(info[2], family));
    return Napi::Boolean::New(info.Env(), same);
  }

  // What a rule of the native form reads back as once written (NativeForm::Normalize, the one
  // delete and check compare against): apply's planner compares rules that differ as given in
  // this form (src/apply/plan.ts sameRuleOf), as the form's own encoder and decoder define it,
  // so every translation's equivalences hold without a list of them. Pure CPU like SameRule (no kernel call), on the main thread. null
  // when the encoder refuses the rule (it came from a listing, or the form cannot say it).
  Napi::Value NftablesReadBack(const Napi::CallbackInfo& info) {
    auto family = FamilyFromJs(info[0]);
    core::nft::NativeForm form(family, core::nft::kNftablesTable);
    // The chain only addresses the message; the rule read back does not depend on it.
    auto back = form.Normalize("INPUT", RuleFromJs(info[1], family));
    if (!back.ok()) return info.Env().Null();
    return RuleToJs(info.Env(), back.value(), family);
  }

  // Test only (benchmarks): one PromiseWorker round trip that does no work, the floor of our
  // per-call overhead (queue to the libuv pool, run, settle the promise on the main thread).
  Napi::Value Ping(const Napi::CallbackInfo& info) {
    return PromiseWorker<core::Unit>::Start(
        info.This().As<Napi::Object>(), "connlimit:ping", []() -> core::Result<core::Unit> { return core::Unit{}; },
        [](Napi::Env env, core::Unit&) -> Napi::Value { return env.Undefined(); });
  }

  // Test only (benchmarks): a synchronous call that does no work, to set _ping beside the bare
  // cost of crossing into the addon.
  Napi::Value PingSync(const Napi::CallbackInfo& info) { return info.Env().Undefined(); }

  // Test only: the NFT_MSG_NEWRULE message iptables-nft -A would send (append, sequence 0),
  // to compare with bytes captured from iptables-nft.
  Napi::Value EncodeNftRule(const Napi::CallbackInfo& info) {
    auto family = FamilyFromJs(info[0]);
    core::nft::RulePlacement where;
    where.nlm_flags = NLM_F_CREATE | NLM_F_APPEND;
    auto bytes = core::nft::EncodeRuleMessage(family, info[1].As<Napi::String>().Utf8Value(), info[2].As<Napi::String>().Utf8Value(),
                                              RuleFromJs(info[3], family), where, 0);
    if (!bytes.ok()) throw ErrorFromKernel(info.Env(), bytes.error());
    return Napi::Buffer<uint8_t>::Copy(info.Env(), bytes.value().data(), bytes.value().size());
  }

  // Test only: what the calling thread's rule shapes did (core/nft/compat/rule_shape.h).
  Napi::Value NftRuleShapes(const Napi::CallbackInfo& info) {
    auto c = core::nft::ThreadShapeCounts();
    auto o = Napi::Object::New(info.Env());
    o.Set("written", static_cast<double>(c.written));
    o.Set("learned", static_cast<double>(c.learned));
    o.Set("unusable", static_cast<double>(c.unusable));
    return o;
  }

  // Test only: the NEWTABLE + NEWCHAIN messages (sequence 0, each padded to 4 bytes) a first
  // write to a built-in chain sends, to compare with iptables-nft's.
  Napi::Value EncodeNftCreate(const Napi::CallbackInfo& info) {
    auto family = FamilyFromJs(info[0]);
    auto table = info[1].As<Napi::String>().Utf8Value();
    const auto* chain = core::nft::FindBuiltin(table, info[2].As<Napi::String>().Utf8Value());
    if (!chain) throw Napi::TypeError::New(info.Env(), "not a built-in chain");
    auto bytes = core::nft::EncodeNewTable(family, table, 0);
    bytes.resize((bytes.size() + 3) & ~size_t{3}, 0);
    auto c = core::nft::EncodeNewBaseChain(family, table, *chain, NF_ACCEPT, 0);
    bytes.insert(bytes.end(), c.begin(), c.end());
    bytes.resize((bytes.size() + 3) & ~size_t{3}, 0);
    return Napi::Buffer<uint8_t>::Copy(info.Env(), bytes.data(), bytes.size());
  }

  // Test only: decode one NEWRULE message into {table, chain, handle, rule}.
  Napi::Value DecodeNftRule(const Napi::CallbackInfo& info) {
    auto family = FamilyFromJs(info[0]);
    if (!info[1].IsBuffer()) throw Napi::TypeError::New(info.Env(), "message must be a Buffer");
    auto msg = info[1].As<Napi::Buffer<uint8_t>>();
    auto r = core::nft::DecodeRuleMessage(family, msg.Data(), msg.Length());
    if (!r.ok()) throw ErrorFromKernel(info.Env(), r.error());
    auto o = Napi::Object::New(info.Env());
    o.Set("table", r.value().table);
    o.Set("chain", r.value().chain);
    o.Set("handle", Napi::BigInt::New(info.Env(), r.value().handle));
    o.Set("rule", RuleToJs(info.Env(), r.value().rule, family));
    return o;
  }

  // Test only: what appending a rule in the native form sends (sequence 0, each message padded
  // to 4 bytes): NEWSET (set id 1) when the rule has a connlimit match, NEWSET + NEWSETELEM of
  // each multiport list of two or more (set ids 2, 3, ...; 1, 2, ... without connlimit), then NEWRULE, to compare
  // with what nft sends for the same rule (scripts/capture-golden-nftables.sh). The set is
  // named info[3] (default connlimit0; the library sends connlimit%d, benchmarks too).
  Napi::Value EncodeNftables(const Napi::CallbackInfo& info) {
    namespace nft = core::nft;
    auto family = FamilyFromJs(info[0]);
    auto chain = info[1].As<Napi::String>().Utf8Value();
    auto rule = RuleFromJs(info[2], family);
    std::string set = info[3].IsString() ? info[3].As<Napi::String>().Utf8Value() : "connlimit0";
    std::vector<uint8_t> bytes;
    auto add = [&bytes](const std::vector<uint8_t>& m) {
      bytes.insert(bytes.end(), m.begin(), m.end());
      bytes.resize((bytes.size() + 3) & ~size_t{3}, 0);
    };
    if (nft::ConnlimitOf(rule)) add(nft::EncodeConnlimitSet(family, nft::kNftablesTable, set, 1, 0));
    nft::RulePlacement where;
    where.nlm_flags = NLM_F_CREATE | NLM_F_APPEND;
    // info[5]: [position, handle, id, position id], what an insert or replace writes besides.
    if (info[5].IsArray()) {
      auto p = info[5].As<Napi::Array>();
      auto at = [&](uint32_t i) { return static_cast<uint64_t>(p.Get(i).As<Napi::Number>().Int64Value()); };
      where.position = at(0);
      where.handle = at(1);
      where.id = static_cast<uint32_t>(at(2));
      where.position_id = static_cast<uint32_t>(at(3));
    }
    // A multiport list's set ids follow the connlimit set's, as nft numbers its sets.
    uint32_t anonymous_set_id = nft::ConnlimitOf(rule) ? 2 : 1;
    // info[4]: 'objects' or 'direct' (test 26 compares them); without it, as the library writes.
    auto how = nft::RuleWriting::kFast;
    if (info[4].IsString()) how = info[4].As<Napi::String>().Utf8Value() == "direct" ? nft::RuleWriting::kDirect : nft::RuleWriting::kObjects;
    auto r = nft::EncodeNftablesRule(family, nft::kNftablesTable, chain, rule, set, 1, anonymous_set_id, where, 0, how);
    if (!r.ok()) throw ErrorFromKernel(info.Env(), r.error());
    if (r.value().empty()) return info.Env().Null();  // 'direct', for a rule it leaves to libnftnl
    add(r.value());
    return Napi::Buffer<uint8_t>::Copy(info.Env(), bytes.data(), bytes.size());
  }

  // Test only: NEWTABLE + NEWCHAIN (sequence 0) creating our table and one base chain.
  Napi::Value EncodeNftablesCreate(const Napi::CallbackInfo& info) {
    namespace nft = core::nft;
    auto family = FamilyFromJs(info[0]);
    const auto* chain = nft::FindBuiltin("filter", info[1].As<Napi::String>().Utf8Value());
    if (!chain) throw Napi::TypeError::New(info.Env(), "not a base chain of the native form");
    auto bytes = nft::EncodeNftablesTable(family, nft::kNftablesTable, 0);
    bytes.resize((bytes.size() + 3) & ~size_t{3}, 0);
    auto c = nft::EncodeNftablesBaseChain(family, nft::kNftablesTable, *chain, 0);
    bytes.insert(bytes.end(), c.begin(), c.end());
    bytes.resize((bytes.size() + 3) & ~size_t{3}, 0);
    return Napi::Buffer<uint8_t>::Copy(info.Env(), bytes.data(), bytes.size());
  }

  // Test only: DELRULE (by handle) + DELSET, as a delete of a native-form rule sends them.
  Napi::Value EncodeNftablesDelete(const Napi::CallbackInfo& info) {
    namespace nft = core::nft;
    auto family = FamilyFromJs(info[0]);
    auto chain = info[1].As<Napi::String>().Utf8Value();
    bool lossless = false;
    uint64_t handle = info[2].As<Napi::BigInt>().Uint64Value(&lossless);
    // Test 26 holds the direct bytes to libnftnl's ('objects'), for a rule id (info[5]) too.
    auto how = info[4].IsString() && info[4].As<Napi::String>().Utf8Value() == "objects" ? nft::Writing::kObjects : nft::Writing::kDirect;
    uint32_t id = info[5].IsNumber() ? info[5].As<Napi::Number>().Uint32Value() : 0;
    auto bytes = nft::EncodeDelRule(family, nft::kNftablesTable, chain, handle, id, 0, how);
    bytes.resize((bytes.size() + 3) & ~size_t{3}, 0);
    auto d = nft::EncodeDelSet(family, nft::kNftablesTable, info[3].As<Napi::String>().Utf8Value(), 0, how);
    bytes.insert(bytes.end(), d.begin(), d.end());
    bytes.resize((bytes.size() + 3) & ~size_t{3}, 0);
    return Napi::Buffer<uint8_t>::Copy(info.Env(), bytes.data(), bytes.size());
  }

  // Test only: decode one native-form NEWRULE message into {table, chain, handle, setName, rule};
  // the messages of its multiport sets (NEWSETELEM, by set id) may come before it.
  Napi::Value DecodeNftablesRule(const Napi::CallbackInfo& info) {
    auto family = FamilyFromJs(info[0]);
    if (!info[1].IsBuffer()) throw Napi::TypeError::New(info.Env(), "message must be a Buffer");
    auto msg = info[1].As<Napi::Buffer<uint8_t>>();
    auto r = core::nft::DecodeNftablesRuleBatch(family, msg.Data(), msg.Length());
    if (!r.ok()) throw ErrorFromKernel(info.Env(), r.error());
    auto o = Napi::Object::New(info.Env());
    o.Set("table", r.value().table);
    o.Set("chain", r.value().chain);
    o.Set("handle", Napi::BigInt::New(info.Env(), r.value().handle));
    o.Set("setName", r.value().set_name);
    o.Set("rule", RuleToJs(info.Env(), r.value().rule, family));
    return o;
  }
};

}  // namespace connlimit::js

using connlimit::js::ConnlimitAddon;
NODE_API_ADDON(ConnlimitAddon)
