#!/usr/bin/env bash
# Fuzzes every file cuseg reads with libFuzzer (clang, from scripts/deps.sh), under ASan+UBSan.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [OUT_DIR]      (default 600 s, out/fuzz)
#   TARGETS="fuzz_image fuzz_checkpoint"                  a subset
#   PARALLEL=2                                            targets run at once
#
# Each target starts from the seed corpus (fuzz_seeds) and its regressions/, keeps what it learns
# in OUT_DIR/corpus/<target>, and writes crashing inputs as OUT_DIR/<target>-crash-*; a crash
# found becomes a regression input: copy it into fuzz/regressions/<target>/ and fix the bug.
# OUT_DIR/report.md gets one row per target: seconds, executions, coverage, findings.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${1:-600}
out=${2:-out/fuzz}
build=${BUILD_DIR:-build/fuzz}
targets=${TARGETS:-fuzz_image fuzz_dataset_lists fuzz_safetensors fuzz_checkpoint}
parallel=${PARALLEL:-2}

CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCUSEG_CUDA=OFF \
  -DCUSEG_FUZZ=ON -DCUSEG_SANITIZE=address,undefined -DCUSEG_BUILD_TESTS=OFF -DCUSEG_BUILD_BENCH=OFF \
  -DCUSEG_BUILD_APPS=OFF >/dev/null || exit 1
cmake --build "$build" -j "$(nproc)" || exit 1
mkdir -p "$out/corpus"
"$build/fuzz/fuzz_seeds" "$out/seeds" >/dev/null || exit 1

export ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_one() {
  local t=$1
  mkdir -p "$out/corpus/$t"
  "$build/fuzz/$t" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=4096 -timeout=10 \
    -artifact_prefix="$out/$t-" "$out/corpus/$t" "$out/seeds/$t" "fuzz/regressions/$t" > "$out/$t.log" 2>&1
  echo "$t exit $?" >> "$out/$t.log"
}
running=0
for t in $targets; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$parallel" ]; then wait -n; running=$((running - 1)); fi
done
wait

status=0
{
  echo "| target | seconds | executions | exec/s | coverage (edges) | features | corpus | findings |"
  echo "|---|---|---|---|---|---|---|---|"
  for t in $targets; do
    log="$out/$t.log"
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}')
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | awk '{print $2}')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | awk '{print $2}')
    corpus=$(ls "$out/corpus/$t" | wc -l)
    findings=$(ls "$out" | grep -c "^$t-" || true)
    [ "$findings" -gt 0 ] && status=1
    grep -q "exit 0" "$log" || status=1
    echo "| $t | $seconds | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | $corpus | $findings |"
  done
} | tee "$out/report.md"
exit $status
