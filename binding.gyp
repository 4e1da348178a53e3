{
  "variables": {
    "connlimit_sanitize%": "0"
  },
  "targets": [
    {
      "target_name": "connlimit",
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "sources": [
        "native/addon.cc",
        "native/js/convert.cc",
        "native/js/errors.cc",
        "native/js/legacy_table.cc",
        "native/js/iptables_nft_table.cc",
        "native/js/op_batch.cc",
        "native/js/nftables_table.cc",
        "native/core/backend_probe.cc",
        "native/core/netns_guard.cc",
        "native/core/xtables_lock.cc",
        "native/core/xt/comment.cc",
        "native/core/xt/connlimit.cc",
        "native/core/xt/extension.cc",
        "native/core/xt/opaque.cc",
        "native/core/xt/registry.cc",
        "native/core/xt/reject_ipv4.cc",
        "native/core/xt/reject_ipv6.cc",
        "native/core/xt/same_rule.cc",
        "native/core/xt/standard.cc",
        "native/core/xt/tcp.cc",
        "native/core/xt/udp.cc",
        "native/core/legacy/entry_codec.cc",
        "native/core/legacy/iptc_table.cc",
        "native/core/legacy/table_version.cc",
        "native/core/ct/counter.cc",
        "native/core/ct/ct_decoder.cc",
        "native/core/ct/ct_encoder.cc",
        "native/core/ct/ct_socket.cc",
        "native/core/ct/event_socket.cc",
        "native/core/ct/events_sysctl.cc",
        "native/core/ct/watch_state.cc",
        "native/core/ct/watcher.cc",
        "native/js/conntrack.cc",
        "native/js/ct_convert.cc",
        "native/js/ct_watch.cc",
        "native/js/ruleset_watch.cc",
        "native/core/nft/chain_codec.cc",
        "native/core/nft/nl_socket.cc",
        "native/core/nft/expr_reader.cc",
        "native/core/nft/expr_writer.cc",
        "native/core/nft/compat/compat_form.cc",
        "native/core/nft/compat/iptables_nft_table.cc",
        "native/core/nft/native_limit.cc",
        "native/core/nft/compat/native_mark.cc",
        "native/core/nft/compat/native_nflog.cc",
        "native/core/nft/compat/native_xt.cc",
        "native/core/nft/driver.cc",
        "native/core/nft/native/nftables_decoder.cc",
        "native/core/nft/native/nftables_encoder.cc",
        "native/core/nft/native/native_form.cc",
        "native/core/nft/native/nftables_table.cc",
        "native/core/nft/native/xlate.cc",
        "native/core/nft/native/xlate_exprs.cc",
        "native/core/nft/native/xlate_conntrack.cc",
        "native/core/nft/native/xlate_icmp.cc",
        "native/core/nft/native/xlate_meta.cc",
        "native/core/nft/native/xlate_header.cc",
        "native/core/nft/planner.cc",
        "native/core/nft/recorded_reader.cc",
        "native/core/nft/requests.cc",
        "native/core/nft/ruleset_watcher.cc",
        "native/core/nft/compat/rule_codec.cc",
        "native/core/nft/socket_reads.cc",
        "native/core/ipset/ipset_decoder.cc",
        "native/core/ipset/ipset_encoder.cc",
        "native/core/ipset/ipset_socket.cc",
        "native/core/ipset/ipset_sockopt.cc",
        "native/js/ipset.cc",
        "native/js/ipset_convert.cc",
        "native/js/ipset_list.cc"
      ],
      "include_dirs": ["native"],
      # SWALLOW_UNTHROWABLE_EXCEPTIONS: node-addon-api's own wrappers (napi_wrap in every
      # constructor, napi_unwrap before every method) fail once a Worker is being terminated;
      # without it their rethrow is a C++ throw out of a Node-API callback (std::terminate).
      # See native/js/errors.h.
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags_cc!": ["-std=gnu++17", "-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Werror", "-O2"],
      "libraries": ["<!@(pkg-config --libs libip4tc libip6tc libmnl libnftnl)"],
      "conditions": [
        ["connlimit_sanitize==1", {
          "cflags_cc": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g"],
          "ldflags": ["-fsanitize=address,undefined"]
        }]
      ]
    }
  ]
}
