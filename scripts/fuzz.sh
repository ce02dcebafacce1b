#!/usr/bin/env bash
# Runs every Go fuzz target of the repository, one after another, for
# FUZZTIME each (default 10s; `make fuzz` passes 5m), then prints a table:
# target, package, executions, new interesting inputs, result. Exits 1 if
# any target failed, naming the input that failed: the fuzzer writes it to
# <package>/testdata/fuzz/<Target>/, where it stays as a regression seed
# once the bug is fixed (commit it).
#
#   FUZZTIME=30s bash scripts/fuzz.sh          every target for 30 s
#   FUZZ_MATCH=Routes bash scripts/fuzz.sh     only targets matching a regexp
#   FUZZ_PARALLEL=1 bash scripts/fuzz.sh       fuzz workers per target (default: GOMAXPROCS)
#
# A run that fails only with Go's own fuzz-deadline race (go#75804, see
# deadline_race below) is run again, up to 3 runs; the table says so.
#
# Targets are found, not listed: every `func FuzzX(f *testing.F)` in a
# _test.go file under pkg/, infra/ and internal/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
FUZZ_MATCH=${FUZZ_MATCH:-.}

# go test's own timeout must outlast the fuzzing: FUZZTIME plus time to
# build, gather baseline coverage and minimise a failure.
timeout=10m
if [[ $FUZZTIME =~ ^([0-9]+)(s|m|h)$ ]]; then
  n=${BASH_REMATCH[1]}
  case ${BASH_REMATCH[2]} in s) secs=$n ;; m) secs=$((n * 60)) ;; h) secs=$((n * 3600)) ;; esac
  timeout=$((secs + 600))s
fi

logs=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-fuzz.XXXXXX")

# "<package dir> <target>" per line, sorted.
targets=$(grep -rHoE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' pkg infra internal 2>/dev/null |
  sed -E 's#^(.*)/[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*#\1 \2#' | LC_ALL=C sort -u | grep -E " [^ ]*${FUZZ_MATCH}" || true)
if [[ -z $targets ]]; then
  echo "fuzz: no fuzz targets match '${FUZZ_MATCH}'" >&2
  exit 1
fi

# deadline_race LOG: whether a failed run is Go's fuzz coordinator race
# (go.dev/issue/75804, fixed in Go 1.27): when -fuzztime's deadline fires,
# internal/fuzz can read the parent context's DeadlineExceeded before its
# child context is cancelled and report that as the target's failure. The
# signature is exact: the only failure line is "context deadline exceeded",
# and no failing input was written, nothing panicked and no worker hung. A
# real finding always writes its input first, so it is never retried.
deadline_race() {
  grep -qxE '    context deadline exceeded' "$1" &&
    ! grep -qE 'Failing input written to|panic:|fuzzing process hung|failure while testing seed corpus|^    [a-z_]+\.go:[0-9]+:' "$1"
}

parallel=()
[[ -n ${FUZZ_PARALLEL:-} ]] && parallel=(-parallel "$FUZZ_PARALLEL")

count=$(wc -l <<<"$targets")
echo "fuzz: $count targets, $FUZZTIME each; logs in $logs"
start=$SECONDS
rows=()
failed=()
while read -r dir target; do
  log="$logs/$target.log"
  printf 'fuzz: %-18s ./%s ... ' "$target" "$dir"
  t0=$SECONDS
  result=FAIL
  for attempt in 1 2 3; do
    if "$GO" test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" -timeout "$timeout" "${parallel[@]}" "./$dir" >"$log" 2>&1; then
      result=ok
      ((attempt > 1)) && result="ok (run $attempt; go#75804 before)"
      break
    fi
    deadline_race "$log" || break
    cp "$log" "$logs/$target.race$attempt.log"
    printf '(go#75804 deadline race, run again) ... '
  done
  # The last progress line holds the totals:
  # "fuzz: elapsed: 10s, execs: 123456 (12345/sec), new interesting: 7 (total: 60)"
  progress=$(grep -E '^fuzz: elapsed: .*execs: [0-9]+' "$log" | tail -n 1 || true)
  execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$progress")
  interesting=$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$progress")
  echo "$result ($((SECONDS - t0))s)"
  rows+=("$target|./$dir|${execs:--}|${interesting:--}|$result")
  if [[ $result == FAIL ]]; then
    failed+=("$target")
    echo "---- $target output (last 40 lines) ----"
    tail -n 40 "$log"
    if input=$(sed -nE 's/.*Failing input written to (.*)$/\1/p' "$log" | tail -n 1) && [[ -n $input ]]; then
      echo "---- failing input: $dir/$input"
      echo "---- re-run: $GO test -run '^${target}/$(basename "$input")\$' ./$dir"
    elif grep -q 'failure while testing seed corpus entry' "$log"; then
      echo "---- a seed failed: $(sed -nE 's/.*failure while testing seed corpus entry: (.*)$/\1/p' "$log" | tail -n 1)"
      echo "---- re-run: $GO test -run '^${target}\$' ./$dir"
    fi
    echo "----"
  fi
done <<<"$targets"

echo
printf '%-18s %-18s %12s %12s  %s\n' TARGET PACKAGE EXECS "NEW INTEREST" RESULT
for row in "${rows[@]}"; do
  IFS='|' read -r target dir execs interesting result <<<"$row"
  printf '%-18s %-18s %12s %12s  %s\n' "$target" "$dir" "$execs" "$interesting" "$result"
done
echo "fuzz: $count targets in $((SECONDS - start))s"
if ((${#failed[@]} > 0)); then
  echo "fuzz: FAILED: ${failed[*]} (logs in $logs)" >&2
  exit 1
fi
rm -rf "$logs"
