#!/usr/bin/env python3
"""PyTorch peer for flopcast's GPU measurements.

Times torch.matmul (fp32, tf32, bf16, fp16), torch._scaled_mm (fp8 e4m3,
bf16 output, per-tensor scales, B column-major as cuBLASLt requires) and a
device-to-device tensor copy, with CUDA events on random data, and writes
the medians as JSON:

  {"torch": "2.x", "cuda": "12.x", "device": "...",
   "gemm": [{"dtype": "bf16", "m": 8192, "n": 8192, "k": 8192,
             "seconds": ..., "flop_per_second": ...}, ...],
   "bandwidth": [{"label": "d2d_copy", "bytes": ..., "seconds": ...,
                  "bytes_per_second": ...}]}

usage: torch_gemm.py --sizes 8192,4096x4096x1024 --dtype bf16,fp8 --out peer.json
"""
import argparse
import json
import statistics
import sys

import torch


def parse_shape(s):
    parts = [int(p) for p in s.lower().split("x")]
    if len(parts) == 1:
        return parts * 3
    if len(parts) == 3:
        return parts
    raise ValueError(f"shape {s!r}: want N or MxNxK")


def time_calls(fn, warmup, repeats, min_seconds):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    total = 0.0
    while len(times) < repeats or total < min_seconds:
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        t = start.elapsed_time(stop) / 1e3
        times.append(t)
        total += t
    return statistics.median(times)


def gemm_fn(dtype, m, n, k):
    dev = "cuda"
    # Rotate operand sets so small problems do not run from L2.
    l2 = torch.cuda.get_device_properties(0).L2_cache_size if hasattr(torch.cuda.get_device_properties(0), "L2_cache_size") else 50 << 20
    size = {"fp32": 4, "tf32": 4, "bf16": 2, "fp16": 2, "fp8": 1}[dtype]
    sets = max(1, min(64, (2 * l2) // max(1, (m * k + k * n + m * n) * size) + 1))
    torch.backends.cuda.matmul.allow_tf32 = dtype == "tf32"
    if dtype == "fp8":
        a = [(torch.rand(m, k, device=dev) * 2 - 1).to(torch.float8_e4m3fn) for _ in range(sets)]
        # _scaled_mm wants B column-major: a k×n view of an n×k row-major tensor.
        b = [(torch.rand(n, k, device=dev) * 2 - 1).to(torch.float8_e4m3fn).t() for _ in range(sets)]
        one = torch.tensor(1.0, device=dev)
        i = [0]

        def fn():
            i[0] = (i[0] + 1) % sets
            torch._scaled_mm(a[i[0]], b[i[0]], scale_a=one, scale_b=one, out_dtype=torch.bfloat16)
        return fn
    tdt = {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
    a = [(torch.rand(m, k, device=dev) * 2 - 1).to(tdt) for _ in range(sets)]
    b = [(torch.rand(k, n, device=dev) * 2 - 1).to(tdt) for _ in range(sets)]
    i = [0]

    def fn():
        i[0] = (i[0] + 1) % sets
        torch.matmul(a[i[0]], b[i[0]])
    return fn


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="8192")
    ap.add_argument("--dtype", default="bf16,fp8")
    ap.add_argument("--copy-bytes", type=int, default=1 << 30)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--min-time", type=float, default=0.2)
    ap.add_argument("--out", default="-")
    ap.add_argument("--also-cublaslt", action="store_true",
                    help="time torch.matmul a second time with preferred_blas_library('cublaslt'), as extra rows")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("torch_gemm.py: no CUDA device", file=sys.stderr)
        return 2
    out = {"torch": torch.__version__, "cuda": torch.version.cuda,
           "device": torch.cuda.get_device_name(0), "gemm": [], "bandwidth": []}
    for dtype in args.dtype.split(","):
        for s in args.sizes.split(","):
            m, n, k = parse_shape(s)
            try:
                sec = time_calls(gemm_fn(dtype, m, n, k), args.warmup, args.repeats, args.min_time)
            except Exception as e:  # e.g. fp8 on a GPU without it
                out["gemm"].append({"dtype": dtype, "m": m, "n": n, "k": k, "error": str(e).splitlines()[0]})
                continue
            out["gemm"].append({"dtype": dtype, "m": m, "n": n, "k": k, "seconds": sec,
                                "flop_per_second": 2.0 * m * n * k / sec})
            if args.also_cublaslt and dtype != "fp8" and hasattr(torch.backends.cuda, "preferred_blas_library"):
                # The same product through cuBLASLt's heuristic (PyTorch's
                # default goes through cuBLAS), as an extra, labelled row.
                was = torch.backends.cuda.preferred_blas_library()
                try:
                    torch.backends.cuda.preferred_blas_library("cublaslt")
                    sec = time_calls(gemm_fn(dtype, m, n, k), args.warmup, args.repeats, args.min_time)
                    out["gemm"].append({"dtype": dtype, "m": m, "n": n, "k": k, "blas": "cublaslt", "seconds": sec,
                                        "flop_per_second": 2.0 * m * n * k / sec})
                finally:
                    torch.backends.cuda.preferred_blas_library(was)
            torch.cuda.empty_cache()
    src = torch.empty(args.copy_bytes, dtype=torch.uint8, device="cuda").random_(0, 256)
    dst = torch.empty_like(src)
    sec = time_calls(lambda: dst.copy_(src), args.warmup, args.repeats, args.min_time)
    out["bandwidth"].append({"label": "d2d_copy", "bytes": 2 * args.copy_bytes, "seconds": sec,
                             "bytes_per_second": 2 * args.copy_bytes / sec})
    text = json.dumps(out, indent=2)
    if args.out == "-":
        print(text)
    else:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
