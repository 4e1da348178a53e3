# SPDX-License-Identifier: GPL-2.0-or-later
#
# Sourced by scripts/capture-golden*.sh: the steps every golden capture shares. Each script
# records every fixture twice, each time in a throwaway network namespace of its own
# (`unshare -n`: the host is never touched), cuts it out of the strace log, and keeps it only
# when both captures agree.

capture_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# capture_init NAME TOOL...: refuses to go on without every TOOL or without root; then makes
# the scratch directory $work, removed on exit. NAME prefixes every message.
capture_init() {
  capture_name=$1
  shift
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$capture_name: missing $tool (run scripts/setup.sh)" >&2; exit 1; }
  done
  if [[ $(id -u) -ne 0 ]]; then
    echo "$capture_name: must run as root (needs CAP_NET_ADMIN in a new netns)" >&2
    exit 1
  fi
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
}

# capture_py SCRIPT ARGS...: python3 with scripts/lib importable (nlbatch.py).
capture_py() {
  PYTHONPATH="$capture_lib${PYTHONPATH:+:$PYTHONPATH}" python3 "$@"
}

# A fixture's body as one hex line: every byte, or (masked) with the bytes its `# masked:
# OFFSET LENGTH ...` header lines name zeroed.
capture_body() {
  grep -v '^#' "$1"
}
capture_masked_body() {
  python3 - "$1" <<'PY'
import sys
lines = open(sys.argv[1]).read().split('\n')
masked = [tuple(map(int, l.split()[2:4])) for l in lines if l.startswith('# masked:')]
body = bytearray(bytes.fromhex(''.join(l for l in lines if l and not l.startswith('#'))))
for o, n in masked: body[o:o + n] = b'\0' * n
print(body.hex())
PY
}

# capture_keep NAME RUN1 RUN2 BODY: two independent captures must agree as BODY
# (capture_body or capture_masked_body) shows them, or the fixture is not golden; then RUN1
# becomes $out_dir/NAME.hex.
capture_keep() {
  local name=$1 run1=$2 run2=$3 body=$4
  if ! cmp -s <("$body" "$run1") <("$body" "$run2"); then
    echo "$capture_name: $name: two captures differ; refusing to write a fixture" >&2
    diff <("$body" "$run1") <("$body" "$run2") >&2 || true
    exit 1
  fi
  mkdir -p "$out_dir"
  cp "$run1" "$out_dir/$name.hex"
  echo "captured $out_dir/$name.hex ($(grep -c -v '^#' "$out_dir/$name.hex") words)"
}

# capture_twice NAME BODY ONCE ARGS...: records fixture NAME twice with `ONCE LOG SAVE OUT
# ARGS...`, which runs the tool under strace in a new namespace (log to LOG, any listing to
# SAVE) and writes the fixture text to OUT; then capture_keep with BODY.
capture_twice() {
  local name=$1 body=$2 once=$3
  shift 3
  local run
  for run in 1 2; do
    "$once" "$work/$name.$run.strace" "$work/$name.$run.save" "$work/$name.$run.hex" "$@"
  done
  capture_keep "$name" "$work/$name.1.hex" "$work/$name.2.hex" "$body"
}

# want NAME: whether NAME is among the fixtures named on the command line ($selected), or
# none was named.
want() {
  [[ ${#selected[@]} -eq 0 ]] && return 0
  local s
  for s in "${selected[@]}"; do [[ $s == "$1" ]] && return 0; done
  return 1
}
