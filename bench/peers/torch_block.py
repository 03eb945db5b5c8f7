#!/usr/bin/env python3
"""PyTorch peer of flopcast's block workload.

Trains the identical transformer layer (kernels/block.go): Llama (RMSNorm,
rotary embeddings in rotate-half form with base 10000, grouped-query causal
attention, output projection, residual, RMSNorm, SwiGLU MLP, residual, no
biases) or GPT (LayerNorm, causal attention, GELU-tanh MLP, biases), eps
1e-5, projections stored in x out so y = x @ W, initialised as
kernels.InitBlockParam does (weights uniform with variance 1/fan-in, gains
1 + 0.1u, biases 0.1u), a mean-squared-error loss against a fixed uniform
target, and AdamW with the CPU and GPU steps' hyper-parameters (lr 1e-3,
betas 0.9/0.95, eps 1e-8, weight decay 0.1, kernels/cpu/block.DefaultAdamW)
on fp32 master weights. bf16/fp16 run under torch.autocast (the
mixed-precision recipe: fp32 parameters and optimizer states, 16-bit
activations); fp32 runs without it. Attention is
torch.nn.functional.scaled_dot_product_attention(is_causal=True).

Times one full step (forward, loss, backward, optimizer.step, zero_grad)
with CUDA events as flopcast times its GPU step (the step enqueued, one
blocking wait, the next step at once; at least 20 timed steps), in three
modes: eager (SDPA picks its fused kernel), eager-math (SDPA restricted to
SDPBackend.MATH: unfused attention, the comparable work for flopcast's
unfused attention) and torch.compile. Each timed run records its duty
cycle (sum of step times / wall time) and the clocks and power sampled
through it (gpustate.py). After timing, torch.profiler splits a few steps'
kernel time by kind (gemm, attention, elementwise, optimizer, by kernel
name; under MATH the attention's batched products count as gemm), to set
beside flopcast's kind_seconds. Writes the medians as JSON:

  {"torch": "2.x", "cuda": "12.x", "device": "...",
   "block": [{"preset": "llama3-8b", "arch": "llama", "hidden": 4096, ...,
              "seq": 4096, "batch": 8, "dtype": "bf16", "mode": "eager",
              "name": "torch eager", "seconds": ..., "tokens_per_second": ...,
              "peak_memory_bytes": ..., "steps": 20, "duty_cycle": ..., "window": {...},
              "kind_seconds": {"gemm": ..., "attention": ..., "elementwise": ...,
                               "optimizer": ...}}, ...]}

usage: torch_block.py --preset llama3-8b --seq 4096 --batch 8 --dtype bf16 --out peer.json
"""
import argparse
import contextlib
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpustate  # noqa: E402

# The dense presets of kernels/model.go the peer knows (hidden, heads,
# kv heads, ffn, seq, arch).
PRESETS = {
    "tiny": (64, 4, 2, 176, 32, "llama"),
    "llama3-8b": (4096, 32, 8, 14336, 8192, "llama"),
    "llama3-70b": (8192, 64, 8, 28672, 8192, "llama"),
    "llama3-405b": (16384, 128, 8, 53248, 8192, "llama"),
    "gpt3-175b": (12288, 96, 96, 49152, 2048, "gpt"),
}

NORM_EPS = 1e-5
ROPE_BASE = 10000.0
ADAMW = dict(lr=1e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)


def param_shapes(arch, d, kv, f):
    """Parameters in kernels.BlockConfig.Params() order: (name, rows, cols, kind)."""
    if arch == "gpt":
        return [("attn_norm", 1, d, "gain"), ("attn_norm_bias", 1, d, "bias"),
                ("wq", d, d, "weight"), ("bq", 1, d, "bias"), ("wk", d, kv, "weight"), ("bk", 1, kv, "bias"),
                ("wv", d, kv, "weight"), ("bv", 1, kv, "bias"), ("wo", d, d, "weight"), ("bo", 1, d, "bias"),
                ("mlp_norm", 1, d, "gain"), ("mlp_norm_bias", 1, d, "bias"),
                ("w_up", d, f, "weight"), ("b_up", 1, f, "bias"), ("w_down", f, d, "weight"), ("b_down", 1, d, "bias")]
    return [("attn_norm", 1, d, "gain"), ("wq", d, d, "weight"), ("wk", d, kv, "weight"), ("wv", d, kv, "weight"),
            ("wo", d, d, "weight"), ("mlp_norm", 1, d, "gain"),
            ("w_gate", d, f, "weight"), ("w_up", d, f, "weight"), ("w_down", f, d, "weight")]


def init_param(rows, cols, kind, gen):
    u = torch.rand(rows, cols, generator=gen, device="cuda") * 2 - 1
    if kind == "weight":
        return u * math.sqrt(3.0 / rows)
    if kind == "gain":
        return 1 + 0.1 * u.reshape(cols)
    return 0.1 * u.reshape(cols)


class Block(torch.nn.Module):
    def __init__(self, arch, d, heads, kv_heads, f, seq, seed):
        super().__init__()
        self.arch, self.d, self.h, self.kvh, self.hd = arch, d, heads, kv_heads, d // heads
        gen = torch.Generator(device="cuda").manual_seed(seed)
        self.p = torch.nn.ParameterDict({n: torch.nn.Parameter(init_param(r, c, k, gen))
                                         for n, r, c, k in param_shapes(arch, d, kv_heads * self.hd, f)})
        half = self.hd // 2
        freq = ROPE_BASE ** (-2 * torch.arange(half, dtype=torch.float64, device="cuda") / self.hd)
        ang = torch.arange(seq, dtype=torch.float64, device="cuda")[:, None] * freq[None, :]
        self.register_buffer("cos", ang.cos().float(), persistent=False)
        self.register_buffer("sin", ang.sin().float(), persistent=False)

    def norm(self, x, g, b=None):
        if b is None:
            return x * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + NORM_EPS).to(x.dtype) * g
        return F.layer_norm(x, (self.d,), g, b, NORM_EPS)

    def rope(self, x):  # x: B, S, H, hd
        half = self.hd // 2
        a, b = x[..., :half], x[..., half:]
        c, s = self.cos[None, :, None, :].to(x.dtype), self.sin[None, :, None, :].to(x.dtype)
        return torch.cat([a * c - b * s, b * c + a * s], dim=-1)

    def forward(self, x):
        P, B, S = self.p, x.shape[0], x.shape[1]
        gpt = self.arch == "gpt"
        xn = self.norm(x, P["attn_norm"], P["attn_norm_bias"] if gpt else None)
        q, k, v = xn @ P["wq"], xn @ P["wk"], xn @ P["wv"]
        if gpt:
            q, k, v = q + P["bq"], k + P["bk"], v + P["bv"]
        q = q.view(B, S, self.h, self.hd)
        k = k.view(B, S, self.kvh, self.hd)
        v = v.view(B, S, self.kvh, self.hd)
        if not gpt:
            q, k = self.rope(q), self.rope(k)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        if self.kvh != self.h:  # query head h reads kv head h // group
            k = k.repeat_interleave(self.h // self.kvh, dim=1)
            v = v.repeat_interleave(self.h // self.kvh, dim=1)
        ctx = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        ctx = ctx.transpose(1, 2).reshape(B, S, self.d)
        a = ctx @ P["wo"]
        h = x + (a + P["bo"] if gpt else a)
        if gpt:
            hn = self.norm(h, P["mlp_norm"], P["mlp_norm_bias"])
            act = F.gelu(hn @ P["w_up"] + P["b_up"], approximate="tanh")
            return h + act @ P["w_down"] + P["b_down"]
        hn = self.norm(h, P["mlp_norm"])
        return h + (F.silu(hn @ P["w_gate"]) * (hn @ P["w_up"])) @ P["w_down"]


def time_steps(step, warmup, repeats, min_seconds):
    """Steps as flopcast's GPU block times them: each enqueued between two
    events, one blocking wait, the next at once. Returns the median, the
    step times, the duty cycle and the window sampled through them."""
    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times, total = [], 0.0
    with gpustate.Sampler(0) as s:
        t0 = time.perf_counter()
        while len(times) < repeats or total < min_seconds:
            start.record()
            step()
            stop.record()
            stop.synchronize()
            t = start.elapsed_time(stop) / 1e3
            times.append(t)
            total += t
        wall = time.perf_counter() - t0
    win = s.window or {"samples": 0, "at_power_cap_fraction": 0.0, "throttled_fraction": 0.0}
    win["seconds"] = wall
    return statistics.median(times), times, min(1.0, total / wall) if wall > 0 else 0.0, win, s.source or s.why


# Kernel-name rules of the split by kind, checked in order.
KIND_RULES = [
    ("optimizer", ("adam", "multi_tensor", "foreach")),
    ("attention", ("flash", "fmha", "attention", "sdpa", "softmax")),
    ("gemm", ("gemm", "cutlass", "xmma", "nvjet", "cublas", "matmul", "wgmma", "splitk", "sm90_", "sm80_")),
]


def kind_of(name):
    n = name.lower()
    for kind, keys in KIND_RULES:
        if any(k in n for k in keys):
            return kind
    return "elementwise"


def profile_kinds(step, steps=3):
    """Device time per step by kind, from torch.profiler's CUDA kernels."""
    from torch.profiler import ProfilerActivity, profile
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(steps):
            step()
        torch.cuda.synchronize()
    kinds = {"gemm": 0.0, "attention": 0.0, "elementwise": 0.0, "optimizer": 0.0}
    for evt in prof.events():
        if str(getattr(evt, "device_type", "")).endswith("CUDA"):
            # A kernel event's own interval on the device, in µs.
            tr = getattr(evt, "time_range", None)
            us = tr.elapsed_us() if tr is not None else getattr(evt, "device_time_total", 0.0)
            kinds[kind_of(evt.name)] += us / 1e6 / steps
    return kinds


def run(args, mode):
    hidden, heads, kv_heads, ffn, seq, arch = PRESETS[args.preset]
    seq = args.seq or seq
    arch = args.arch or arch
    torch.manual_seed(args.seed)
    model = Block(arch, hidden, heads, kv_heads, ffn, seq, args.seed)
    gen = torch.Generator(device="cuda").manual_seed(args.seed + 1)
    x = torch.rand(args.batch, seq, hidden, generator=gen, device="cuda") * 2 - 1
    target = torch.rand(args.batch, seq, hidden, generator=gen, device="cuda") * 2 - 1
    amp = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(args.dtype)
    opt = torch.optim.AdamW(model.parameters(), **ADAMW, fused=True)
    fwd = torch.compile(model) if mode == "compile" else model
    attention = "scaled_dot_product_attention(is_causal=True)"
    backend = contextlib.nullcontext
    if mode == "eager-math":
        from torch.nn.attention import SDPBackend, sdpa_kernel
        attention += " under sdpa_kernel(SDPBackend.MATH): unfused"

        def backend():
            return sdpa_kernel(SDPBackend.MATH)

    def step():
        with backend(), torch.autocast("cuda", dtype=amp, enabled=amp is not None):
            out = fwd(x)
            loss = F.mse_loss(out.float(), target)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    sec, times, duty, win, source = time_steps(step, args.warmup, args.repeats, args.min_time)
    peak = torch.cuda.max_memory_allocated() - before
    row = {"preset": args.preset, "arch": arch, "hidden": hidden, "heads": heads, "kv_heads": kv_heads,
           "ffn": ffn, "seq": seq, "batch": args.batch, "dtype": args.dtype, "mode": mode,
           "name": "torch " + mode, "attention": attention, "timing": "back-to-back",
           "seconds": sec, "tokens_per_second": args.batch * seq / sec, "peak_memory_bytes": peak,
           "steps": len(times), "duty_cycle": duty, "window": win, "state_source": source}
    if args.profile_steps > 0:
        try:
            row["kind_seconds"] = profile_kinds(step, args.profile_steps)
            row["kind_rule"] = "by kernel name: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in KIND_RULES) + "; else elementwise"
        except Exception as e:  # a profiler that cannot trace here
            row["kind_error"] = str(e).splitlines()[0]
    del model, opt, x, target, fwd
    torch.cuda.empty_cache()
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="llama3-8b", choices=sorted(PRESETS))
    ap.add_argument("--arch", default="", choices=["", "llama", "gpt"])
    ap.add_argument("--seq", type=int, default=0)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--dtype", default="bf16", choices=["bf16", "fp16", "fp32"])
    ap.add_argument("--modes", default="eager,eager-math,compile")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--profile-steps", type=int, default=3, help="steps traced by torch.profiler for the split by kind (0: none)")
    ap.add_argument("--min-time", type=float, default=1.0)
    ap.add_argument("--out", default="-")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("torch_block.py: no CUDA device", file=sys.stderr)
        return 2
    if args.batch < 1 or args.seq < 0:
        print(f"torch_block.py: --batch {args.batch} and --seq {args.seq} must be positive", file=sys.stderr)
        return 2
    if args.repeats < 20:
        print(f"torch_block.py: --repeats {args.repeats}: at least 20 timed steps", file=sys.stderr)
        return 2
    for mode in args.modes.split(","):
        if mode not in ("eager", "eager-math", "compile"):
            print(f"torch_block.py: --modes: unknown mode {mode!r} (eager, eager-math, compile)", file=sys.stderr)
            return 2
    out = {"torch": torch.__version__, "cuda": torch.version.cuda,
           "device": torch.cuda.get_device_name(0), "block": []}
    for mode in args.modes.split(","):
        try:
            out["block"].append(run(args, mode))
        except Exception as e:  # e.g. out of memory, no compiler for torch.compile
            out["block"].append({"preset": args.preset, "seq": args.seq, "batch": args.batch, "dtype": args.dtype,
                                 "mode": mode, "name": "torch " + mode, "error": str(e).splitlines()[0]})
            torch.cuda.empty_cache()
    text = json.dumps(out, indent=2)
    if args.out == "-":
        print(text)
    else:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
