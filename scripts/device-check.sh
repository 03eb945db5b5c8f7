#!/usr/bin/env bash
# The one prepared check for a lent GPU machine (issues 3, 4, 11). Build
# here first with "make gpu-bundle" (bin/flopcast and bin/gpu-tests/*.test,
# no CUDA needed to build), send the tree with bin/ carried, and run this
# script there in one call. It measures under sustained load (issue 11):
#
#   1. the GPU packages' tests (go test -c binaries);
#   2. GEMM, bf16 and fp8 at 8192^3 and 16384^3, flopcast and the PyTorch
#      peer alternating three times (ABABAB), each side warming up under
#      load and timing back-to-back windows of at least 1 s with clocks and
#      power sampled through them; the peer also times torch.matmul
#      through cuBLASLt;
#   3. flopcast --lt-algo 0 (cuBLASLt's first heuristic choice, no search)
#      for bf16, against the peer's cuBLASLt rows;
#   4. the block step (llama3-8b layer, seq 4096, batch BLOCK_BATCH): the
#      PyTorch peer FIRST (eager, eager with math attention, each with its
#      torch.profiler split by kind), then flopcast with >= 20 timed
#      steps, then torch.compile while the budget lasts;
#   5. the short tables last (scripts/device_table.py), which also store
#      each peer figure, with its duty cycle and window, in the flopcast
#      file it matches.
#
# Optional steps are skipped once the check has run BUDGET seconds
# (default 420), and no step runs past HARD seconds (default 570: each
# step's timeout is cut to what is left), so the call stays inside the
# device tool's 10-minute limit: give the run a timeout_s of 590-600.
# SKIP_TESTS=1 leaves out step 1. Everything lands in WORK and
# is packed into $OUT/device-check.tgz after each step (the tool returns at
# most 8 files), and the tables also go to $OUT/tables.txt.
#
# The call, after make gpu-bundle here (bin/ is about 54 MB stripped; the
# tree that travels must stay under 64 MiB): the device tool's run with
# command "bash scripts/device-check.sh", carry ["bin"], timeout_s 600.
#
# DRY_RUN=1 prints the plan (every command, in order) and runs nothing:
# bash scripts/device-check.sh with DRY_RUN=1 works on any machine.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/device-out}
WORK=${WORK:-/tmp/flopcast-device-check}
BUDGET=${BUDGET:-420}
HARD=${HARD:-570}
SKIP_TESTS=${SKIP_TESTS:-0}
BLOCK_BATCH=${BLOCK_BATCH:-8}
ROUNDS=${ROUNDS:-3}
DRY_RUN=${DRY_RUN:-0}
BIN=bin/flopcast
SIZES=8192,16384
GEMM_DTYPES=bf16,fp8

# x runs a command, or prints it in a dry run.
x() {
	if [ "$DRY_RUN" = 1 ]; then
		printf '+'; printf ' %q' "$@"; printf '\n'
		return 0
	fi
	"$@"
}
# xo FILE CMD... runs CMD with its output in FILE, or prints it in a dry
# run; it returns CMD's status.
xo() {
	local f=$1
	shift
	if [ "$DRY_RUN" = 1 ]; then
		printf '+'; printf ' %q' "$@"; printf ' >%s 2>&1\n' "$f"
		return 0
	fi
	"$@" >"$f" 2>&1
}
# in_budget says whether an optional step may still start: before BUDGET
# and with at least 20 s left before HARD.
in_budget() {
	[ "$DRY_RUN" = 1 ] && return 0
	[ "$SECONDS" -lt "$BUDGET" ] && [ $((HARD - SECONDS)) -ge 20 ] || { echo "(skipped: $SECONDS s used of the $BUDGET s budget)"; return 1; }
}
# t N is the timeout of a step that needs up to N s: N, or what is left
# before HARD.
t() {
	local left=$((HARD - SECONDS))
	if [ "$left" -lt "$1" ]; then echo "$((left > 1 ? left : 1))"; else echo "$1"; fi
}
save() {
	[ "$DRY_RUN" = 1 ] && return 0
	tar -czf "$OUT/device-check.tgz.part" -C "$WORK" . && mv "$OUT/device-check.tgz.part" "$OUT/device-check.tgz"
}
have_torch() {
	[ "$DRY_RUN" = 1 ] && return 0
	python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null
}

if [ "$DRY_RUN" = 1 ]; then
	echo "device-check plan (DRY_RUN=1; WORK=$WORK, BUDGET=$BUDGET s, ROUNDS=$ROUNDS, BLOCK_BATCH=$BLOCK_BATCH)"
else
	mkdir -p "$OUT" "$WORK"
	if [ ! -x "$BIN" ]; then
		echo "device-check: $BIN missing: run make gpu-bundle and carry bin/" >&2
		exit 2
	fi
	{
		nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.sm,temperature.gpu,power.draw,power.limit --format=csv
		echo "--- ldconfig"; ldconfig -p | grep -E 'libcuda\.|libcublasLt|libnvrtc|libnvidia-ml' || true
		python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' 2>&1
		python3 -c 'import pynvml; print("pynvml", pynvml.__file__)' 2>&1
	} >"$WORK/env.txt" 2>&1
	head -2 "$WORK/env.txt"
fi

echo "== flopcast devices"
xo "$WORK/devices.txt" timeout 30 "$BIN" devices
save

echo "== GPU tests"
for t in bin/gpu-tests/*.test; do
	[ -e "$t" ] || { echo "no test binaries (make gpu-bundle)"; break; }
	[ "$SKIP_TESTS" = 1 ] && { echo "(tests skipped: SKIP_TESTS=1)"; break; }
	# The tests get the first 150 s at most.
	[ "$DRY_RUN" = 1 ] || [ "$SECONDS" -lt 150 ] || { echo "(remaining tests skipped at $SECONDS s)"; break; }
	name=$(basename "$t" .test)
	if [ "$DRY_RUN" = 1 ]; then
		xo "$WORK/tests-$name.txt" timeout 60 "$t" -test.count=1 -test.v
	elif timeout 60 "$t" -test.count=1 -test.v >"$WORK/tests-$name.txt" 2>&1; then
		echo "ok   $name ($(grep -c '^--- PASS' "$WORK/tests-$name.txt") passed, $(grep -c '^--- SKIP' "$WORK/tests-$name.txt") skipped)"
	else
		echo "FAIL $name (see tests-$name.txt)"; tail -15 "$WORK/tests-$name.txt"
	fi
done
save

# GEMM: A = flopcast, B = PyTorch, alternating, same shapes, same rules
# (suite defaults: >= 1 s warm-up under load, windows >= 1 s).
for r in $(seq 1 "$ROUNDS"); do
	in_budget || break
	echo "== round $r: flopcast (A)"
	xo "$WORK/round$r-flopcast.txt" timeout "$(t 75)" "$BIN" run --device cuda --sizes "$SIZES" --dtype "$GEMM_DTYPES" \
		--min-time 1s --max-time 4s --quiet --out "$WORK/round$r-flopcast.json" || echo "flopcast round $r: exit $?"
	save
	echo "== round $r: PyTorch (B)"
	if have_torch; then
		xo "$WORK/round$r-peer.txt" timeout "$(t 75)" python3 bench/peers/torch_gemm.py --sizes "$SIZES" --dtype "$GEMM_DTYPES" \
			--also-cublaslt --no-copy --warmup 10 --warmup-time 1 --min-time 1 --max-time 4 \
			--out "$WORK/round$r-peer.json" || echo "peer round $r: exit $?"
	else
		echo "no PyTorch with CUDA here: no peer"
	fi
	save
done

echo "== flopcast --lt-algo 0 (bf16, no algorithm search)"
in_budget && xo "$WORK/ltalgo0-flopcast.txt" timeout "$(t 45)" "$BIN" run --device cuda --sizes "$SIZES" --dtype bf16 --lt-algo 0 \
	--min-time 1s --max-time 4s --quiet --out "$WORK/ltalgo0-flopcast.json"
save

# Block: the peer first this time (the 2026-11-26 check ran flopcast
# first), then flopcast, both >= 20 timed steps after 10 warm-up steps
# (about 1 s under load at seq 4096, batch 8). torch.compile runs in a
# process of its own after them, while the budget lasts, so a compile
# that runs out of time loses nothing else.
echo "== block: PyTorch first (eager, eager-math)"
if in_budget && have_torch; then
	xo "$WORK/block-peer.txt" timeout "$(t 120)" python3 bench/peers/torch_block.py --preset llama3-8b --seq 4096 \
		--batch "$BLOCK_BATCH" --dtype bf16 --modes eager,eager-math --warmup 10 --repeats 20 --min-time 0 \
		--out "$WORK/block-peer.json" || echo "block peer: exit $?"
fi
save
echo "== block: flopcast"
in_budget && xo "$WORK/block-flopcast.txt" timeout "$(t 90)" "$BIN" run --workload block --preset llama3-8b --seq 4096 \
	--batch "$BLOCK_BATCH" --device cuda --dtype bf16 --warmup 10 --repeats 20 --min-time 0 --quiet \
	--out "$WORK/block-flopcast.json"
save

# Fleet (issue 15), one rank on this GPU: NCCL loads (its version is in the
# rank's fleet block) and a one-rank communicator opens; the node checks
# read the copy matrix (host<->GPU only with one GPU) and NVML health. The
# one-rank NCCL collectives themselves are checked by the GPU tests above
# (TestNCCLOneRankCollectives). A single GPU cannot show NVLink or network
# figures: none is reported.
echo "== fleet: one rank, NCCL + copy matrix + health (one GPU: no NVLink or network figures)"
in_budget && xo "$WORK/fleet-1rank.txt" timeout "$(t 60)" "$BIN" fleet run --rank 0 --world-size 1 --rendezvous 127.0.0.1:29650 \
	--device cuda --comm nccl --local-repeats 3 --results-dir "$WORK/fleet" || echo "fleet one rank: exit $?"
save

echo "== block: PyTorch torch.compile (while the budget lasts)"
if in_budget && [ "$DRY_RUN" = 1 -o "$SECONDS" -lt $((HARD - 120)) ] && have_torch; then
	xo "$WORK/block-peer-compile.txt" timeout "$(t 150)" python3 bench/peers/torch_block.py --preset llama3-8b --seq 4096 \
		--batch "$BLOCK_BATCH" --dtype bf16 --modes compile --warmup 10 --repeats 20 --min-time 0 --profile-steps 0 \
		--out "$WORK/block-peer-compile.json" || echo "block peer (compile): exit $?"
fi
save

echo "== tables ($SECONDS s)"
if [ "$DRY_RUN" = 1 ]; then
	x python3 scripts/device_table.py "$WORK"
else
	python3 scripts/device_table.py "$WORK" | tee "$WORK/tables.txt"
	cp "$WORK/tables.txt" "$OUT/tables.txt" 2>/dev/null
	save
fi
