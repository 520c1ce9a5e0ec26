#!/usr/bin/env bash
# Fuzzes every file cuseg reads with libFuzzer (clang, from scripts/deps.sh), under ASan+UBSan.
#
#   scripts/fuzz.sh [SECONDS_PER_RUN] [OUT_DIR]          (default 600 s, out/fuzz)
#   TARGETS="fuzz_image fuzz_checkpoint"                  a subset
#   RUNS=2                                                independent runs per target
#   PARALLEL=2                                            runs at once
#
# Every target gets RUNS runs of SECONDS each, with seeds 1..RUNS, so that one unlucky run does
# not decide the result. Odd runs keep AddressSanitizer's quarantine (use after free is caught);
# even runs set quarantine_size_mb=0, so that the heap the targets dirty before their second read
# of each input (fuzz/fuzz_util.h) is what the decoder gets: a reader of memory it never wrote
# then gives a different outcome and the target aborts. All runs of a target share its corpus
# (OUT_DIR/corpus/<target>), starting from the seeds (fuzz_seeds), fuzz/corpus/ and regressions/.
# A crashing input is written as OUT_DIR/<target>-run<N>-crash-* (or leak-, timeout-, oom-): copy
# it into fuzz/regressions/<target>/, add a test, fix the bug. OUT_DIR/report.md has one row per
# run and, per target, how many runs found something; the exit status is 1 if any run did.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${1:-600}
out=${2:-out/fuzz}
build=${BUILD_DIR:-build/fuzz}
targets=${TARGETS:-fuzz_image fuzz_dataset_lists fuzz_safetensors fuzz_checkpoint}
runs=${RUNS:-2}
parallel=${PARALLEL:-2}

CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCUSEG_CUDA=OFF \
  -DCUSEG_FUZZ=ON -DCUSEG_SANITIZE=address,undefined -DCUSEG_BUILD_TESTS=OFF -DCUSEG_BUILD_BENCH=OFF \
  -DCUSEG_BUILD_APPS=OFF >/dev/null || exit 1
# shellcheck disable=SC2086
cmake --build "$build" -j "$(nproc)" --target fuzz_seeds $targets || exit 1
mkdir -p "$out/corpus"
"$build/fuzz/fuzz_seeds" "$out/seeds" >/dev/null || exit 1
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain -- cuseg fuzz 2>/dev/null | grep -q . && echo " (with uncommitted changes)" || true)

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
heap_mode() { if [ $(($1 % 2)) -eq 1 ]; then echo quarantine; else echo dirtied; fi; }
run_one() {
  local t=$1 n=$2 asan=allocator_may_return_null=1:detect_leaks=1
  [ "$(heap_mode "$n")" = dirtied ] && asan=$asan:quarantine_size_mb=0
  mkdir -p "$out/corpus/$t"
  extra=()
  [ -d "fuzz/corpus/$t" ] && extra+=("fuzz/corpus/$t")
  ASAN_OPTIONS=$asan "$build/fuzz/$t" -seed="$n" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=4096 \
    -timeout=10 -artifact_prefix="$out/$t-run$n-" "$out/corpus/$t" "$out/seeds/$t" "${extra[@]}" "fuzz/regressions/$t" \
    > "$out/$t-run$n.log" 2>&1
  echo "$t run $n exit $?" >> "$out/$t-run$n.log"
}
running=0
for t in $targets; do
  for n in $(seq 1 "$runs"); do
    run_one "$t" "$n" &
    running=$((running + 1))
    if [ "$running" -ge "$parallel" ]; then wait -n; running=$((running - 1)); fi
  done
done
wait

status=0
{
  echo "Commit $commit$dirty, $(date -u +%Y-%m-%d), $(nproc) cores, $runs runs per target of $seconds s, $parallel at a time."
  echo
  echo "| target | run (seed) | ASan heap | seconds | executions | exec/s | coverage (edges) | features | findings |"
  echo "|---|---|---|---|---|---|---|---|---|"
  summary=()
  for t in $targets; do
    found=0
    for n in $(seq 1 "$runs"); do
      log="$out/$t-run$n.log"
      execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}')
      rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | awk '{print $2}')
      cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
      ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | awk '{print $2}')
      artifacts=$(cd "$out" && ls -d "$t-run$n-"* 2>/dev/null | tr '\n' ' ')
      what=${artifacts:-none}
      if [ -n "$artifacts" ] || ! grep -q "run $n exit 0" "$log"; then
        found=$((found + 1))
        status=1
        [ -z "$artifacts" ] && what="exit status $(tail -1 "$log" | awk '{print $NF}'), see $t-run$n.log"
      fi
      echo "| $t | $n | $(heap_mode "$n") | $seconds | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | $what |"
    done
    summary+=("$t: $found of $runs runs found something; corpus $(ls "$out/corpus/$t" | wc -l) inputs")
  done
  echo
  printf -- '- %s\n' "${summary[@]}"
} > "$out/report.md"  # (not through a pipe: status must survive the block)
cat "$out/report.md"
exit $status
