#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Runs the test suite: first the typecheck (`tsc -p tsconfig.test.json --noEmit`,
# counted as one test), then every test/*.test.ts in lexical order, each in its
# own process (`node --import tsx FILE`) under a timeout, streaming its output.
# uvu's summary (Total/Passed/Skipped) of each file is parsed; a file that
# crashed, timed out, exited non-zero or printed no summary counts as at least
# one failure. The last line is exactly `N passed, N failed[, N skipped]`; the
# exit status is non-zero when anything failed.
#
# Usage: scripts/test.sh [FILE|GLOB ...]   e.g. scripts/test.sh 05-harness '2*'
# Env:   TEST_TIMEOUT (seconds per file, default 300; a file that compiles the addon raises its
#        own with a line `// test-timeout-seconds: N`)
set -uo pipefail

cd "$(dirname "$0")/.."
export FORCE_COLOR=0 NO_COLOR=1 LC_ALL=C
timeout_s=${TEST_TIMEOUT:-300}

passed=0
failed=0
skipped=0
failures=()

# Remove test namespaces (cl-<pid>-<n>) whose owning process is gone, killing
# anything still inside first: a crashed or timed-out file must not leak them.
cleanup_stale_netns() {
  local path name pid
  for path in /run/netns/cl-*; do
    [[ -e $path ]] || continue
    name=${path##*/}
    [[ $name =~ ^cl-([0-9]+)-[0-9]+$ ]] || continue
    pid=${BASH_REMATCH[1]}
    kill -0 "$pid" 2>/dev/null && continue
    ip netns pids "$name" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$name" 2>/dev/null || true
  done
}

# Select files: all test/*.test.ts, or the ones matching the arguments
# (a path, a glob, or a name relative to test/, with or without .test.ts).
shopt -s nullglob
files=()
if [[ $# -eq 0 ]]; then
  files=(test/*.test.ts)
else
  for arg in "$@"; do
    matches=()
    for pattern in "$arg" "test/$arg" "test/$arg.test.ts" "test/$arg*.test.ts"; do
      # shellcheck disable=SC2206 # the pattern is meant to glob
      expanded=($pattern)
      for m in "${expanded[@]}"; do
        m=${m#./}
        [[ -f $m && $m == *.test.ts ]] && matches+=("$m")
      done
      [[ ${#matches[@]} -gt 0 ]] && break
    done
    if [[ ${#matches[@]} -eq 0 ]]; then
      echo "test.sh: no test file matches '$arg'" >&2
      failures+=("$arg (no such test file)")
      failed=$((failed + 1))
      continue
    fi
    files+=("${matches[@]}")
  done
fi
if [[ ${#files[@]} -gt 0 ]]; then
  mapfile -t files < <(printf '%s\n' "${files[@]}" | sort -u)
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== typecheck: npx tsc -p tsconfig.test.json --noEmit"
if npx tsc -p tsconfig.test.json --noEmit; then
  echo "-- typecheck: passed"
  passed=$((passed + 1))
else
  echo "-- typecheck: FAILED"
  failures+=("typecheck (tsc -p tsconfig.test.json --noEmit)")
  failed=$((failed + 1))
fi

for file in "${files[@]}"; do
  echo
  echo "== $file"
  start=$SECONDS
  file_timeout=$timeout_s
  own=$(sed -n 's|^// test-timeout-seconds: \([0-9]\+\)$|\1|p' "$file" | head -1)
  [[ -n $own && $own -gt $file_timeout ]] && file_timeout=$own
  timeout -k 10 "$file_timeout" node --import tsx "$file" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  elapsed=$((SECONDS - start))

  # uvu prints "  Total:     N" etc. once per run; strip colours anyway and sum.
  read -r summaries total pass skip < <(
    sed -E 's/\x1b\[[0-9;]*[A-Za-z]//g' "$log" | awk '
      /^[[:space:]]*Total:[[:space:]]+[0-9]+[[:space:]]*$/   { n++; t += $2 }
      /^[[:space:]]*Passed:[[:space:]]+[0-9]+[[:space:]]*$/  { p += $2 }
      /^[[:space:]]*Skipped:[[:space:]]+[0-9]+[[:space:]]*$/ { s += $2 }
      END { printf "%d %d %d %d\n", n, t, p, s }'
  )
  file_failed=$((total - pass))
  ((file_failed < 0)) && file_failed=0
  reason=""
  if [[ ($rc -eq 124 || $rc -eq 137) && $elapsed -ge $file_timeout ]]; then
    reason="timed out after ${file_timeout}s"
  elif [[ $summaries -eq 0 ]]; then
    reason="no uvu summary (exit $rc)"
  elif [[ $rc -ne 0 && $file_failed -eq 0 ]]; then
    reason="exited $rc"
  elif [[ $file_failed -gt 0 ]]; then
    reason="$file_failed failed"
  fi
  if [[ -n $reason && $file_failed -eq 0 ]]; then
    file_failed=1
  fi

  passed=$((passed + pass))
  failed=$((failed + file_failed))
  skipped=$((skip + skipped))
  if [[ -n $reason ]]; then
    failures+=("$file ($reason)")
    echo "-- $file: FAILED: $reason; $pass passed (${elapsed}s)"
  else
    extra=""
    ((skip > 0)) && extra=", $skip skipped"
    echo "-- $file: $pass passed$extra (${elapsed}s)"
  fi
  cleanup_stale_netns
done

echo
if [[ ${#failures[@]} -gt 0 ]]; then
  echo "Failed:"
  printf '  - %s\n' "${failures[@]}"
fi
summary="$passed passed, $failed failed"
((skipped > 0)) && summary+=", $skipped skipped"
echo "$summary"
[[ $failed -eq 0 ]]
