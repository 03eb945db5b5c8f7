#!/usr/bin/env python3
"""PyTorch peer for flopcast's GPU measurements, timed as flopcast times.

Times torch.matmul (fp32, tf32, bf16, fp16), torch._scaled_mm (fp8 e4m3,
bf16 output, per-tensor scales, B column-major as cuBLASLt requires) and a
device-to-device tensor copy with flopcast's sustained rule (issue 11):

  * inputs as flopcast draws them: uniform in [-1, 1), never zero; for fp8
    A uniform in [-6, 6) and B in [-0.05, 0.05), each stored as
    fp8(x * scale) with scale = 448 / amax(x) (no stored zero) and the
    inverse scales handed to _scaled_mm (bench/backend/gpu/fp8scale.go);
  * operand sets rotated so that a small problem does not run from L2;
  * one checked call, then --warmup calls back to back, then windows of
    about 0.2 s back to back for at least --warmup-time seconds, going on
    while the SM clock (read between windows) still falls by more than 1%
    per window, up to max(2 s, 4 x --warmup-time);
  * one timed window: enough calls for --repeats and --min-time (fewer when
    they would pass --max-time), all enqueued back to back with an event
    pair around each (pre-created; one pair per group of calls above 4096),
    one synchronisation at the end; samples are the pairs' times;
  * the duty cycle (sum of the pairs' times / first start to last stop) and
    the clocks, power, temperature and clock-event reasons sampled through
    the window (gpustate.py: pynvml, else nvidia-smi -lms 20) recorded as
    flopcast records them.

Writes JSON:

  {"torch": "2.x", "cuda": "12.x", "device": "...", "timing": "back-to-back",
   "gemm": [{"dtype": "bf16", "m": 8192, "n": 8192, "k": 8192, "name": "torch.matmul",
             "seconds": ..., "flop_per_second": ..., "duty_cycle": ..., "calls": ...,
             "window": {...}, "warmup": "...", "samples": [...]}, ...],
   "bandwidth": [{"label": "d2d_copy", "bytes": ..., "seconds": ..., "bytes_per_second": ...,
                  "duty_cycle": ..., "window": {...}}]}

usage: torch_gemm.py --sizes 8192,4096x4096x1024 --dtype bf16,fp8 --out peer.json
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpustate  # noqa: E402

MAX_PAIRS = 4096
WARM_CHUNK = 0.2
CLOCK_FALLING = 0.01
FP8_MAX = 448.0
FP8_RANGE_A, FP8_RANGE_B = 6.0, 0.05


def parse_shape(s):
    parts = [int(p) for p in s.lower().split("x")]
    if len(parts) == 1:
        return parts * 3
    if len(parts) == 3:
        return parts
    raise ValueError(f"shape {s!r}: want N or MxNxK")


def window_calls(est, repeats, min_time, max_time):
    """flopcast's bench.windowCalls: (calls, short)."""
    n = max(repeats, 1)
    e = est if est > 0 else 1e-3
    if min_time > 0:
        n = max(n, max(1, math.ceil(min_time / e - 1e-9)))
    if est > 0 and n * est > max_time:
        return max(3, int(max_time / est + 1e-9)), True
    return n, False


def sm_clock():
    try:
        import pynvml
        pynvml.nvmlInit()
        return float(pynvml.nvmlDeviceGetClockInfo(pynvml.nvmlDeviceGetHandleByIndex(0), pynvml.NVML_CLOCK_SM))
    except Exception:
        return 0.0


class Pipeline:
    """Pre-created event pairs, reused across windows."""

    def __init__(self):
        import torch
        self.torch, self.start, self.stop = torch, [], []

    def ensure(self, n):
        E = self.torch.cuda.Event
        while len(self.start) < n:
            self.start.append(E(enable_timing=True))
            self.stop.append(E(enable_timing=True))

    def run(self, calls, fn):
        """calls back to back; returns dict(samples, busy, span, wall, per_sample)."""
        k = max(1, -(-calls // MAX_PAIRS))
        pairs = -(-calls // k)
        self.ensure(pairs)
        sizes = [0] * pairs
        self.torch.cuda.synchronize()
        t0 = time.perf_counter()
        i = 0
        for j in range(pairs):
            self.start[j].record()
            for _ in range(k):
                if i == calls:
                    break
                fn()
                i += 1
                sizes[j] += 1
            self.stop[j].record()
        self.stop[pairs - 1].synchronize()
        wall = time.perf_counter() - t0
        el = [self.start[j].elapsed_time(self.stop[j]) / 1e3 for j in range(pairs)]
        span = self.start[0].elapsed_time(self.stop[pairs - 1]) / 1e3
        return {"samples": [e / s for e, s in zip(el, sizes)], "busy": sum(el), "span": span, "wall": wall,
                "per_sample": k, "calls": calls}


def duty(w):
    d = w["span"] if w["span"] > 0 else w["wall"]
    return min(1.0, w["busy"] / d) if d > 0 and w["busy"] > 0 else 0.0


def sustained(fn, args, pipe):
    """flopcast's warm-up rule and one timed window; returns the row's timing fields."""
    w = pipe.run(1, fn)  # the check call's place: its time is the first estimate
    est = w["samples"][0]
    elapsed = 0.0
    if args.warmup > 0:
        w = pipe.run(args.warmup, fn)
        elapsed += w["span"] or w["wall"]
        est = statistics.median(w["samples"])
    note = ""
    if args.warmup_time > 0:
        first = prev = clk = sm_clock()
        falling, chunks = False, 0
        limit = max(2.0, 4 * args.warmup_time)
        while elapsed < args.warmup_time or falling:
            if elapsed >= limit:
                note = f"warm-up: {elapsed:.1f} s back to back, SM clock still falling ({first:.0f} -> {clk:.0f} MHz) at the {limit:.0f} s bound"
                break
            w = pipe.run(max(1, math.ceil(WARM_CHUNK / est - 1e-9)), fn)
            chunks += 1
            elapsed += w["span"] or w["wall"]
            est = statistics.median(w["samples"])
            clk = sm_clock()
            falling = clk > 0 and prev > 0 and clk < prev * (1 - CLOCK_FALLING)
            prev = clk
        else:
            note = f"warm-up: {elapsed:.1f} s back to back in {chunks} windows, SM clock {first:.0f} -> {clk:.0f} MHz"
    n, short = window_calls(est, args.repeats, args.min_time, args.max_time)
    with gpustate.Sampler(0) as s:
        w = pipe.run(n, fn)
    win = s.window or {"samples": 0, "at_power_cap_fraction": 0.0, "throttled_fraction": 0.0}
    win["seconds"] = w["span"] or w["wall"]
    sec = statistics.median(w["samples"])
    row = {"seconds": sec, "duty_cycle": duty(w), "calls": n, "per_sample": w["per_sample"],
           "timing": "back-to-back", "window": win, "state_source": s.source or s.why,
           "warmup": note, "samples": w["samples"]}
    if short:
        row["short"] = f"window of {n} calls is shorter than --min-time {args.min_time} s or --repeats {args.repeats} within --max-time {args.max_time} s"
    return row, w["busy"]


def uniform(torch, shape, lo, hi):
    """Uniform in [lo, hi), never zero, in float32 (flopcast's kernels.Uniform)."""
    x = torch.rand(shape, device="cuda") * (hi - lo) + lo
    while True:
        z = x == 0
        if not bool(z.any()):
            return x
        x = torch.where(z, torch.rand(shape, device="cuda") * (hi - lo) + lo, x)


def scaled_fp8(torch, rows, cols, rng):
    """flopcast's newScaledFP8: fp8(x * 448/amax), no stored zero; returns (q, inverse scale)."""
    x = uniform(torch, (rows, cols), -rng, rng)
    scale = FP8_MAX / float(x.abs().max())
    q = (x * scale).clamp(-FP8_MAX, FP8_MAX).to(torch.float8_e4m3fn)
    while True:
        z = q.float() == 0
        if not bool(z.any()):
            return q, 1.0 / scale
        x = torch.where(z, uniform(torch, (rows, cols), -rng, rng), x)
        q = (x * scale).clamp(-FP8_MAX, FP8_MAX).to(torch.float8_e4m3fn)


def gemm_fn(torch, dtype, m, n, k):
    l2 = getattr(torch.cuda.get_device_properties(0), "L2_cache_size", 50 << 20)
    size = {"fp32": 4, "tf32": 4, "bf16": 2, "fp16": 2, "fp8": 1}[dtype]
    sets = max(1, min(64, (2 * l2) // max(1, (m * k + k * n + m * n) * size) + 1))
    torch.backends.cuda.matmul.allow_tf32 = dtype == "tf32"
    i = [0]
    if dtype == "fp8":
        a, b = [], []
        for _ in range(sets):
            qa, inv_a = scaled_fp8(torch, m, k, FP8_RANGE_A)
            # _scaled_mm wants B column-major: a k×n view of an n×k row-major tensor.
            qb, inv_b = scaled_fp8(torch, n, k, FP8_RANGE_B)
            a.append((qa, torch.tensor(inv_a, device="cuda", dtype=torch.float32)))
            b.append((qb.t(), torch.tensor(inv_b, device="cuda", dtype=torch.float32)))

        def fn():
            j = i[0] = (i[0] + 1) % sets
            torch._scaled_mm(a[j][0], b[j][0], scale_a=a[j][1], scale_b=b[j][1], out_dtype=torch.bfloat16)
        return fn, "torch._scaled_mm"
    tdt = {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
    a = [uniform(torch, (m, k), -1, 1).to(tdt) for _ in range(sets)]
    b = [uniform(torch, (k, n), -1, 1).to(tdt) for _ in range(sets)]

    def fn():
        j = i[0] = (i[0] + 1) % sets
        torch.matmul(a[j], b[j])
    return fn, "torch.matmul"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="8192")
    ap.add_argument("--dtype", default="bf16,fp8")
    ap.add_argument("--copy-bytes", type=int, default=1 << 30)
    ap.add_argument("--no-copy", action="store_true", help="skip the device-to-device copy")
    ap.add_argument("--warmup", type=int, default=10, help="calls back to back before the timed warm-up")
    ap.add_argument("--warmup-time", type=float, default=1.0, help="least seconds of back-to-back warm-up (flopcast's GPU suites: 1)")
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--min-time", type=float, default=1.0)
    ap.add_argument("--max-time", type=float, default=4.0)
    ap.add_argument("--keep-samples", action="store_true", help="write every sample (they can be many)")
    ap.add_argument("--out", default="-")
    ap.add_argument("--also-cublaslt", action="store_true",
                    help="time torch.matmul a second time with preferred_blas_library('cublaslt'), as extra rows")
    args = ap.parse_args()
    for name in ("warmup", "repeats"):
        if getattr(args, name) < 0 or (name == "repeats" and args.repeats < 1):
            print(f"torch_gemm.py: --{name} {getattr(args, name)}: out of range", file=sys.stderr)
            return 2
    if not (0 <= args.min_time <= args.max_time) or args.warmup_time < 0:
        print(f"torch_gemm.py: --min-time {args.min_time} must be in [0, --max-time {args.max_time}], --warmup-time >= 0", file=sys.stderr)
        return 2
    import torch
    if not torch.cuda.is_available():
        print("torch_gemm.py: no CUDA device", file=sys.stderr)
        return 2
    out = {"torch": torch.__version__, "cuda": torch.version.cuda, "device": torch.cuda.get_device_name(0),
           "timing": "back-to-back", "gemm": [], "bandwidth": []}
    pipe = Pipeline()

    def measure(dtype, m, n, k, blas=""):
        fn, name = gemm_fn(torch, dtype, m, n, k)
        row, _ = sustained(fn, args, pipe)
        flops = 2.0 * m * n * k
        row.update({"dtype": dtype, "m": m, "n": n, "k": k, "name": name, "flop_per_second": flops / row["seconds"]})
        if blas:
            row["blas"] = blas
            row["name"] = name + " (cuBLASLt)"
        win = row["window"]
        if win.get("sm_clock_mhz", {}).get("mean"):
            row["flop_per_second_per_ghz"] = row["flop_per_second"] / (win["sm_clock_mhz"]["mean"] / 1000)
        if win.get("energy_j"):
            row["flop_per_joule"] = flops * row["calls"] / win["energy_j"]
        if not args.keep_samples:
            row["samples"] = row["samples"][:64]
        return row

    for dtype in args.dtype.split(","):
        for s in args.sizes.split(","):
            m, n, k = parse_shape(s)
            try:
                out["gemm"].append(measure(dtype, m, n, k))
            except Exception as e:  # e.g. fp8 on a GPU without it
                out["gemm"].append({"dtype": dtype, "m": m, "n": n, "k": k, "error": str(e).splitlines()[0]})
                torch.cuda.empty_cache()
                continue
            if args.also_cublaslt and dtype != "fp8" and hasattr(torch.backends.cuda, "preferred_blas_library"):
                # The same product through cuBLASLt's heuristic (PyTorch's
                # default goes through cuBLAS), as an extra, labelled row:
                # what flopcast --lt-algo 0 is compared with.
                was = torch.backends.cuda.preferred_blas_library()
                try:
                    torch.backends.cuda.preferred_blas_library("cublaslt")
                    out["gemm"].append(measure(dtype, m, n, k, blas="cublaslt"))
                except Exception as e:
                    out["gemm"].append({"dtype": dtype, "m": m, "n": n, "k": k, "blas": "cublaslt", "error": str(e).splitlines()[0]})
                finally:
                    torch.backends.cuda.preferred_blas_library(was)
            torch.cuda.empty_cache()
    if not args.no_copy:
        src = torch.empty(args.copy_bytes, dtype=torch.uint8, device="cuda").random_(0, 256)
        dst = torch.empty_like(src)
        row, _ = sustained(lambda: dst.copy_(src), args, pipe)
        row.update({"label": "d2d_copy", "bytes": 2 * args.copy_bytes, "bytes_per_second": 2 * args.copy_bytes / row["seconds"]})
        if not args.keep_samples:
            row["samples"] = row["samples"][:64]
        out["bandwidth"].append(row)
    text = json.dumps(out, indent=2)
    if args.out == "-":
        print(text)
    else:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
