#!/bin/bash
# Runs the fuzz targets one after another and prints one line:
#   fuzz-core: execs=N crashes=N timeouts=N
# usage: run.sh BUILD_DIR runs|seconds BUDGET TARGET...   (the budget is split over the targets:
# runs 40/40/20 % for json/protocol/device, seconds evenly). Exits 1 if anything was found.
set -u
build=$1 mode=$2 budget=$3
shift 3
targets=("$@")
art=$build/artifacts
mkdir -p "$art"
rm -f "$art"/crash-* "$art"/timeout-* "$art"/oom-* "$art"/leak-*
execs=0
for t in "${targets[@]}"; do
  case $mode in
    runs) case $t in device) share=20 ;; *) share=40 ;; esac
          limit=(-runs=$((budget * share / 100))) ;;
    seconds) limit=(-max_total_time=$((budget / ${#targets[@]}))) ;;
  esac
  mkdir -p "$build/corpus/$t"
  log=$build/$t.log
  "$build/fuzz_$t" "${limit[@]}" -max_len=4200 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$art/" "$build/corpus/$t" "$build/seeds/$t" >"$log" 2>&1
  n=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  execs=$((execs + ${n:-0}))
done
shopt -s nullglob
crashes=("$art"/crash-* "$art"/oom-* "$art"/leak-*)
timeouts=("$art"/timeout-*)
echo "fuzz-core: execs=$execs crashes=${#crashes[@]} timeouts=${#timeouts[@]}"
for f in "${crashes[@]}" "${timeouts[@]}"; do echo "found: $f"; done
[ ${#crashes[@]} -eq 0 ] && [ ${#timeouts[@]} -eq 0 ]
