#!/usr/bin/env bash
# bench-cpu: flopcast's fp32 GEMM against a C program calling OpenBLAS's
# cblas_sgemm directly, on the same machine, in the same run.
#
# Rounds alternate flopcast and the peer (A B A B ...) so drift in the
# machine's speed hits both; each side reports the median of its timed
# calls, and the ratio is median-of-rounds flopcast / median-of-rounds peer.
#
# Usage: bench/peers/bench-cpu.sh [SIZE] [ROUNDS]   (default 2048, 5)
# Needs: a built bin/flopcast, gcc and OpenBLAS's headers (libopenblas-dev).
set -euo pipefail
size=${1:-2048}
rounds=${2:-5}
threads=${THREADS:-$(nproc)}
repeats=10 warmup=2 min_time=1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin="$root/bin/flopcast"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

[ -x "$bin" ] || { echo "bench-cpu: $bin not built (make build)" >&2; exit 2; }
cc -O2 -o "$work/cblas_sgemm" "$here/cblas_sgemm.c" -lopenblas

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

: >"$work/ours" ; : >"$work/peer"
for r in $(seq "$rounds"); do
  "$bin" run --device cpu --sizes "$size" --dtype fp32 --repeats $repeats --warmup $warmup \
    --min-time ${min_time}s --threads "$threads" --seed $r --out "$work/r$r.json" --format csv --quiet >"$work/r$r.csv"
  # CSV columns: ... 9 median_s ... 15 flop_per_second, 17 status
  awk -F, 'NR==2 { if ($17 != "ok") { print "flopcast measurement not ok: " $17 > "/dev/stderr"; exit 1 } print $15/1e9 }' "$work/r$r.csv" >>"$work/ours"
  "$work/cblas_sgemm" "$size" "$size" "$size" $repeats $warmup $min_time "$threads" >"$work/p$r.json"
  sed -E 's/.*"gflop_per_second":([0-9.]+).*/\1/' "$work/p$r.json" >>"$work/peer"
  printf 'round %d: flopcast %.1f GFLOP/s, cblas_sgemm %.1f GFLOP/s\n' "$r" "$(tail -1 "$work/ours")" "$(tail -1 "$work/peer")"
done
ours=$(median <"$work/ours")
peer=$(median <"$work/peer")
blas=$(sed -E 's/.*"blas":"([^"]*)".*/\1/' "$work/p1.json")
echo "fp32 ${size}x${size}x${size}, $threads threads, $rounds rounds, $blas"
awk -v o="$ours" -v p="$peer" 'BEGIN { printf "flopcast %.1f GFLOP/s, cblas_sgemm %.1f GFLOP/s, ratio %.3f (bar: >= 0.9)\n", o, p, o/p; exit !(o/p >= 0.9) }'
