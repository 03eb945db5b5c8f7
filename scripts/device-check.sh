#!/usr/bin/env bash
# The one prepared check for a lent GPU machine (issue 3). Build here first
# with "make gpu-bundle" (bin/flopcast and bin/gpu-tests/*.test, no CUDA
# needed to build), send the tree with bin/ carried, and run this script
# there. Every step has its own timeout and the optional ones are skipped
# once the check has run for BUDGET seconds (default 420), so one call stays
# inside the device tool's 10-minute limit. Everything lands in $OUT
# (default ./device-out):
#
#   devices.txt          flopcast devices
#   tests-*.txt          the GPU packages' tests (go test -c binaries)
#   flopcast-quick.json  the GPU quick suite, with the PyTorch peer's
#                        figures merged in beside the measurements they match
#   peer.json            bench/peers/torch_gemm.py's own output
#   flopcast-all.json    --device all: every GPU at once, one file
#   flopcast-search.json --search around 8192 bf16 (20 s budget)
#
# and it prints the ratio tables last: flopcast / PyTorch for bf16 and fp8
# 8192^3 and the device-to-device copy, then the block step.
set -uo pipefail
cd "$(dirname "$0")/.."
# The device tool returns at most 8 files from $OUT, so every step writes
# into WORK and save() packs WORK into one archive, $OUT/device-check.tgz,
# after each step: a call cut off at its limit still brings back what ran.
OUT=${OUT:-$PWD/device-out}
WORK=${WORK:-/tmp/flopcast-device-check}
BUDGET=${BUDGET:-420}
mkdir -p "$OUT" "$WORK"
save() { tar -czf "$OUT/device-check.tgz.part" -C "$WORK" . && mv "$OUT/device-check.tgz.part" "$OUT/device-check.tgz"; }
# in_budget says whether an optional step may still start.
in_budget() { [ "$SECONDS" -lt "$BUDGET" ] || { echo "(skipped: $SECONDS s used of the $BUDGET s budget)"; return 1; }; }
BIN=bin/flopcast
if [ ! -x "$BIN" ]; then
	echo "device-check: $BIN missing: run make gpu-bundle and carry bin/" >&2
	exit 2
fi
{
	nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.sm,temperature.gpu,power.limit --format=csv
	echo "--- ldconfig"; ldconfig -p | grep -E 'libcuda\.|libcublasLt|libnvrtc|libnvidia-ml' || true
	echo "--- /usr/local/cuda/lib64"; ls /usr/local/cuda/lib64 2>/dev/null | grep -E 'cublasLt|nvrtc' || true
	echo "--- site-packages"; python3 -c 'import site; print("\n".join(site.getsitepackages()))' 2>/dev/null | while read -r d; do ls -d "$d"/nvidia/*/lib 2>/dev/null; done
	python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' 2>&1
} >"$WORK/env.txt" 2>&1
head -2 "$WORK/env.txt"
save

echo "== flopcast devices"
timeout 30 "$BIN" devices | tee "$WORK/devices.txt"

save
echo "== GPU tests"
for t in bin/gpu-tests/*.test; do
	name=$(basename "$t" .test)
	if timeout 60 "$t" -test.count=1 -test.v >"$WORK/tests-$name.txt" 2>&1; then
		echo "ok   $name ($(grep -c '^--- PASS' "$WORK/tests-$name.txt") passed, $(grep -c '^--- SKIP' "$WORK/tests-$name.txt") skipped)"
	else
		echo "FAIL $name (see tests-$name.txt)"; tail -20 "$WORK/tests-$name.txt"
	fi
done

save
echo "== flopcast run --device cuda --suite quick"
timeout 150 "$BIN" run --device cuda --suite quick --dtype fp32,tf32,bf16,fp16,fp8,fp64 --format table --out "$WORK/flopcast-quick.json" 2>&1 | tee "$WORK/flopcast-quick.txt" | tail -40

save
echo "== PyTorch peer"
if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
	timeout 90 python3 bench/peers/torch_gemm.py --sizes 8192 --dtype bf16,fp8 --warmup 100 --also-cublaslt --out "$WORK/peer.json" || echo "peer failed"
else
	echo "no PyTorch with CUDA here: no peer"
fi
# The same two GEMMs again, right after the peer: a GPU that heats up over
# the call would otherwise favour whichever side ran first.
timeout 60 "$BIN" run --device cuda --sizes 8192 --dtype bf16,fp8 --repeats 50 --quiet --out "$WORK/flopcast-after-peer.json" >"$WORK/flopcast-after-peer.txt" 2>&1

save
echo "== ratios (flopcast / PyTorch, medians, same GPU, same run)"
python3 - "$WORK/flopcast-quick.json" "$WORK/peer.json" "$WORK/flopcast-after-peer.json" >"$WORK/ratios-gemm.txt" 2>&1 <<'PY'
import json, os, sys
fc_path, peer_path, after_path = sys.argv[1], sys.argv[2], sys.argv[3]
if not os.path.exists(fc_path):
    print("no flopcast results"); sys.exit(1)
fc = json.load(open(fc_path))
after = json.load(open(after_path))["measurements"] if os.path.exists(after_path) else []
peer = json.load(open(peer_path)) if os.path.exists(peer_path) else {"gemm": [], "bandwidth": []}
name, ver = "torch", peer.get("torch", "")
rows = []
for p in peer.get("gemm", []):
    if p.get("blas"):
        # An extra row (torch through another BLAS library): shown, not
        # stored as the peer.
        rows.append((f"  torch with {p['blas']}: {p['dtype']} {p['m']}x{p['n']}x{p['k']}", None, None,
                     f"{p['flop_per_second'] / 1e12:.1f} TFLOP/s" if "flop_per_second" in p else p.get("error", "")))
        continue
    if "seconds" not in p:
        rows.append((f"{p['dtype']} {p['m']}x{p['n']}x{p['k']}", None, None, "peer: " + p.get("error", "")))
        continue
    want = "torch._scaled_mm" if p["dtype"] == "fp8" else "torch.matmul"
    for m in fc["measurements"]:
        s = m["shape"]
        if m["workload"] == "gemm" and m["dtype"] == p["dtype"] and (s["m"], s["n"], s["k"]) == (p["m"], p["n"], p["k"]):
            m["peer"] = {"name": want, "version": ver, "seconds": p["seconds"], "flop_per_second": p["flop_per_second"]}
            ours = m.get("flop_per_second", 0)
            rows.append((f"{p['dtype']} {p['m']}x{p['n']}x{p['k']}", ours / 1e12, p["flop_per_second"] / 1e12,
                         f"{ours / p['flop_per_second']:.3f}x (bar 0.98x)"))
    for m in after:
        s = m["shape"]
        if m["workload"] == "gemm" and m["dtype"] == p["dtype"] and (s["m"], s["n"], s["k"]) == (p["m"], p["n"], p["k"]) and m.get("flop_per_second"):
            rows.append((f"  same, flopcast after torch", m["flop_per_second"] / 1e12, p["flop_per_second"] / 1e12,
                         f"{m['flop_per_second'] / p['flop_per_second']:.3f}x"))
for p in peer.get("bandwidth", []):
    for m in fc["measurements"]:
        if m["workload"] == "bandwidth" and m.get("label") == p["label"] and m.get("status") == "ok":
            m["peer"] = {"name": "torch copy_", "version": ver, "seconds": p["seconds"], "bytes_per_second": p["bytes_per_second"]}
            ours = m.get("bytes_per_second", 0)
            rows.append((f"{p['label']} {m['bytes'] >> 20} MiB moved", ours / 1e9, p["bytes_per_second"] / 1e9,
                         f"{ours / p['bytes_per_second']:.3f}x (bar 0.95x)"))
json.dump(fc, open(fc_path, "w"), indent=2)
print(f"{'configuration':32} {'flopcast':>12} {'torch':>12}  ratio")
for r in rows:
    if r[1] is None:
        print(f"{r[0]:32} {'':>12} {'':>12}  {r[3]}")
    else:
        unit = "GB/s" if "MiB" in r[0] else "TFLOP/s"
        print(f"{r[0]:32} {r[1]:8.1f} {unit:>3} {r[2]:8.1f} {unit:>3}  {r[3]}")
PY

# Block workload (issue 4): one llama3-8b layer trained at seq 4096, batch 8
# (about 34 GiB of flopcast buffers), against the PyTorch peer of the same
# block, eager and torch.compile, in the same device call.
BLOCK_BATCH=${BLOCK_BATCH:-8}
save
echo "== flopcast run --workload block --preset llama3-8b --seq 4096 --batch $BLOCK_BATCH --device cuda"
in_budget && timeout 150 "$BIN" run --workload block --preset llama3-8b --seq 4096 --batch "$BLOCK_BATCH" --device cuda --dtype bf16 \
	--warmup 2 --repeats 5 --format table --out "$WORK/flopcast-block.json" 2>&1 | tee "$WORK/flopcast-block.txt" | tail -25
if [ -f "$WORK/flopcast-block.json" ] && [ "$SECONDS" -lt $((BUDGET + 30)) ] && python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
	timeout 150 python3 bench/peers/torch_block.py --preset llama3-8b --seq 4096 --batch "$BLOCK_BATCH" --dtype bf16 \
		--out "$WORK/peer-block.json" || echo "block peer failed"
fi
python3 - "$WORK/flopcast-block.json" "$WORK/peer-block.json" >"$WORK/ratios-block.txt" 2>&1 <<'PY'
import json, os, sys
fc_path, peer_path = sys.argv[1], sys.argv[2]
if not os.path.exists(fc_path):
    print("no flopcast block results"); sys.exit(1)
fc = json.load(open(fc_path))
peer = json.load(open(peer_path)) if os.path.exists(peer_path) else {"block": []}
ver = peer.get("torch", "")
print(f"{'configuration':40} {'flopcast':>10} {'torch':>10}  ratio")
for m in fc["measurements"]:
    b = m.get("block") or {}
    if m.get("workload") != "block" or m.get("status") != "ok":
        print(f"{m.get('label', '?'):40} {m.get('status', '?')}: {'; '.join(m.get('notes', []))[:80]}")
        continue
    ours = m["seconds"]["median"]
    label = f"{b.get('preset')} seq{b.get('seq')} b{b.get('batch')} {m['dtype']} {b.get('attention')}"
    for p in peer.get("block", []):
        if (p.get("preset"), p.get("seq"), p.get("batch"), p.get("dtype")) != (b.get("preset"), b.get("seq"), b.get("batch"), m["dtype"]):
            continue
        if "seconds" not in p:
            print(f"{label:40} {ours * 1e3:7.1f} ms {'':>10}  {p['name']}: {p.get('error', '')}")
            continue
        if p["mode"] == "eager":
            m["peer"] = {"name": p["name"], "version": ver, "seconds": p["seconds"]}
        else:
            m.setdefault("notes", []).append(f"peer {p['name']} {ver}: {p['seconds'] * 1e3:.1f} ms/step")
        bar = " (bar <= 1.25x)" if p["mode"] == "eager" else ""
        print(f"{label:40} {ours * 1e3:7.1f} ms {p['seconds'] * 1e3:7.1f} ms  {ours / p['seconds']:.3f}x vs {p['name']}{bar}")
    print(f"{'':40} MFU {100 * b.get('mfu', 0):.1f}%, phases {b.get('phase_seconds')}, kinds {b.get('kind_seconds')}")
json.dump(fc, open(fc_path, "w"), indent=2)
PY

save
echo "== flopcast run --device all (every GPU at once; spread lines when there are two or more)"
in_budget && timeout 45 "$BIN" run --device all --sizes 4096 --dtype bf16,fp8 --repeats 20 --out "$WORK/flopcast-all.json" 2>&1 | tee "$WORK/flopcast-all.txt" | tail -15

save
echo "== flopcast run --search (bf16 around 8192, 20 s budget)"
in_budget && timeout 45 "$BIN" run --device cuda --search --sizes 8192 --dtype bf16 --search-time 20s --quiet --out "$WORK/flopcast-search.json" >"$WORK/flopcast-search.txt" 2>&1
[ -f "$WORK/flopcast-search.txt" ] && { grep -E "search best|fastest of" "$WORK/flopcast-search.txt" || tail -5 "$WORK/flopcast-search.txt"; }

save
echo "== flopcast run --suite standard --dtype bf16,fp8 (squares to 16384 and the llama3-8b layer GEMMs)"
in_budget && timeout 90 "$BIN" run --device cuda --suite standard --dtype bf16,fp8 --quiet --out "$WORK/flopcast-standard.json" >"$WORK/flopcast-standard.txt" 2>&1
[ -f "$WORK/flopcast-standard.txt" ] && grep -E "TFLOP/s|FAIL|skipped" "$WORK/flopcast-standard.txt" | head -30

save
echo "== ratios (flopcast / PyTorch, medians, same GPU, same run; $SECONDS s)"
cat "$WORK/ratios-gemm.txt"
save
echo "== block ratios (flopcast / PyTorch step time, medians, same GPU, same run)"
cat "$WORK/ratios-block.txt"
save
