#!/usr/bin/env bash
# usage: bash bench/tools/perf-oncpu.sh PID [SECONDS] [TOP] — where a process's CPU goes while it runs: `perf record -e cpu-clock` samples only threads on a CPU, so unlike a V8 `--cpu-prof` (which samples the main thread's stack whether or not it runs, and so puts the time a woken peer preempted it into `writev`) it shows CPU, not wall time. Prints the split by thread, by shared object (kernel, node, JIT code), the share of V8's compiler, and the TOP symbols (default 30). Start the process with --perf-basic-prof (e.g. BENCH_SERVICE_NODE_OPTIONS=--perf-basic-prof) to name JIT frames.
set -eu
pid=${1:?usage: perf-oncpu.sh PID [SECONDS] [TOP]}
seconds=${2:-5}
top=${3:-30}
out=$(mktemp /tmp/perf-oncpu.XXXXXX.data)
trap 'rm -f "$out"' EXIT
perf record -q -e cpu-clock -F 1000 -p "$pid" -o "$out" -- sleep "$seconds" >/dev/null 2>&1
report() { perf report -i "$out" --no-children -g none "$@" 2>/dev/null | grep -v -e '^#' -e '^$' || true; }
if [ "$(perf script -i "$out" -F tid 2>/dev/null | wc -l)" -eq 0 ]; then echo "no samples: the process did not run in those $seconds s"; exit 0; fi
echo "--- samples by thread (the thread whose id is PID is the main thread)"
perf script -i "$out" -F tid 2>/dev/null | sort | uniq -c | sort -rn | head -8
echo "--- by shared object"
report --sort dso | head -8
echo "--- V8 compiler and parser, % of all samples"
report --sort sym | grep -E 'compiler::|Compile|Parser|Scanner' | awk '{s += $1} END {printf "%.1f %%\n", s}'
echo "--- top $top symbols"
report --sort sym | head -"$top"
