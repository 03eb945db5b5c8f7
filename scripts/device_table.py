#!/usr/bin/env python3
"""The device check's short tables (scripts/device-check.sh, issue 11).

usage: device_table.py WORKDIR

Reads from WORKDIR what the check wrote:
  round{1,2,3}-flopcast.json   flopcast run, bf16/fp8 at 8192^3 and 16384^3
  round{1,2,3}-peer.json       bench/peers/torch_gemm.py right after each
  ltalgo0-flopcast.json        flopcast run --lt-algo 0 (bf16)
  block-peer.json              bench/peers/torch_block.py (run first)
  block-peer-compile.json      its torch.compile mode, run last
  block-flopcast.json          flopcast run --workload block
stores each peer figure, with its duty cycle and window, as the `peer` of
the flopcast measurement it matches (same dtype and shape; same block),
and prints, per configuration, both sides' TFLOP/s, duty cycle, mean SM
clock, mean power, TFLOP/s per GHz and per W, and the median over the
ABABAB rounds of the per-round ratio flopcast / PyTorch, saying whether
both duty cycles were at least 0.95 in every round. Missing files are
skipped with a line saying so; nothing here needs a GPU.
"""
import json
import os
import statistics
import sys

DUTY_FLOOR = 0.95


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def mean_of(win, key):
    r = (win or {}).get(key) or {}
    return r.get("mean", 0.0)


def side(rate, duty, win, per_ghz=0.0, per_j=0.0):
    """One side's figures as a short string."""
    sm, pw = mean_of(win, "sm_clock_mhz"), mean_of(win, "power_w")
    s = f"{rate / 1e12:8.1f} TFLOP/s  duty {duty:.3f}"
    s += f"  SM {sm:5.0f} MHz" if sm else "  SM     ? MHz"
    s += f"  {pw:4.0f} W" if pw else "     ? W"
    if not per_ghz and sm and rate:
        per_ghz = rate / (sm / 1000)
    if not per_j and pw and rate:
        per_j = rate / pw
    s += f"  {per_ghz / 1e12:6.1f} TFLOP/s/GHz" if per_ghz else "  " + " " * 6 + " TFLOP/s/GHz"
    s += f"  {per_j / 1e12:5.2f} TFLOP/s/W" if per_j else ""
    return s


def rounds_side(ms):
    """side() over one side's rows from every round: medians, the least duty
    cycle and the middle round's window."""
    return side(statistics.median(m["flop_per_second"] for m in ms),
                min(m.get("duty_cycle", 0.0) for m in ms), ms[len(ms) // 2].get("window"),
                statistics.median(m.get("flop_per_second_per_ghz", 0.0) for m in ms),
                statistics.median(m.get("flop_per_joule", 0.0) for m in ms))


def shape_key(dtype, m, n, k):
    return f"{dtype} {m}x{n}x{k}"


def gemm_rows(fc):
    out = {}
    for m in (fc or {}).get("measurements", []):
        if m.get("workload") != "gemm":
            continue
        s = m["shape"]
        out[shape_key(m["dtype"], s["m"], s["n"], s["k"])] = m
    return out


def peer_rows(peer, blas=""):
    out = {}
    for p in (peer or {}).get("gemm", []):
        if p.get("blas", "") != blas:
            continue
        out[shape_key(p["dtype"], p["m"], p["n"], p["k"])] = p
    return out


def attach(m, p, version):
    m["peer"] = {"name": p.get("name", "torch"), "version": version, "seconds": p["seconds"],
                 "flop_per_second": p["flop_per_second"], "duty_cycle": p.get("duty_cycle", 0.0),
                 "window": p.get("window")}


def gemm_table(work, lines):
    rounds = []
    for r in (1, 2, 3):
        fc_path, peer_path = os.path.join(work, f"round{r}-flopcast.json"), os.path.join(work, f"round{r}-peer.json")
        fc, peer = load(fc_path), load(peer_path)
        if fc is None:
            lines.append(f"round {r}: no flopcast file")
            continue
        if peer is None:
            lines.append(f"round {r}: no peer file (flopcast only)")
            peer = {}
        ours, theirs = gemm_rows(fc), peer_rows(peer)
        for key, m in ours.items():
            if key in theirs and "seconds" in theirs[key]:
                attach(m, theirs[key], peer.get("torch", ""))
        with open(fc_path, "w") as f:
            json.dump(fc, f, indent=2)
        rounds.append((ours, theirs, peer_rows(peer, "cublaslt")))
    if not rounds:
        lines.append("no ABABAB round finished")
        return
    keys = []
    for ours, _, _ in rounds:
        keys += [k for k in ours if k not in keys]
    lines.append(f"== GEMM, flopcast vs PyTorch, alternating ABABAB ({len(rounds)} rounds): medians over the rounds, duty the least")
    for key in keys:
        fs = [o[key] for o, _, _ in rounds if key in o and o[key].get("status") == "ok"]
        ps = [t[key] for o, t, _ in rounds if key in t and "seconds" in t[key]]
        lines.append(key)
        if fs:
            lines.append("  flopcast " + rounds_side(fs))
        else:
            notes = [o[key].get("status", "?") + ": " + "; ".join(o[key].get("notes", []))[:100] for o, _, _ in rounds if key in o]
            lines.append("  flopcast " + (notes[0] if notes else "no measurement"))
        if ps:
            lines.append("  torch    " + rounds_side(ps))
        else:
            errs = [t[key].get("error", "") for _, t, _ in rounds if key in t]
            lines.append("  torch    " + (errs[0] if errs else "no peer row"))
        ratios, equal = [], True
        for o, t, _ in rounds:
            m, p = o.get(key), t.get(key)
            if m and p and m.get("status") == "ok" and "seconds" in p:
                ratios.append(m["flop_per_second"] / p["flop_per_second"])
                equal = equal and m.get("duty_cycle", 0) >= DUTY_FLOOR and p.get("duty_cycle", 0) >= DUTY_FLOOR
        if ratios:
            lines.append(f"  ratio flopcast/torch {statistics.median(ratios):.3f}x (rounds: {' '.join(f'{r:.3f}' for r in ratios)}); "
                         + ("both duty cycles >= 0.95 in every round" if equal else "NOT equal conditions: a duty cycle < 0.95"))
    # --lt-algo 0 (cuBLASLt's first heuristic choice, no search) against
    # torch through cuBLASLt.
    lt = gemm_rows(load(os.path.join(work, "ltalgo0-flopcast.json")))
    if lt:
        lines.append("== flopcast --lt-algo 0 (no search) vs torch.matmul through cuBLASLt (median of the rounds' rows)")
        for key, m in lt.items():
            ps = [c[key] for _, _, c in rounds if key in c and "seconds" in c[key]]
            if m.get("status") != "ok":
                lines.append(f"{key}: flopcast {m.get('status')}: {'; '.join(m.get('notes', []))[:100]}")
                continue
            lines.append(key)
            lines.append("  flopcast " + side(m["flop_per_second"], m.get("duty_cycle", 0.0), m.get("window"),
                                              m.get("flop_per_second_per_ghz", 0.0), m.get("flop_per_joule", 0.0)))
            if ps:
                rate = statistics.median(p["flop_per_second"] for p in ps)
                lines.append("  torch Lt " + side(rate, min(p.get("duty_cycle", 0.0) for p in ps), ps[len(ps) // 2].get("window")))
                lines.append(f"  ratio {m['flop_per_second'] / rate:.3f}x")
            else:
                lines.append("  torch Lt: no cuBLASLt row")


def block_table(work, lines):
    fc_path = os.path.join(work, "block-flopcast.json")
    fc, peer = load(fc_path), load(os.path.join(work, "block-peer.json"))
    compiled = load(os.path.join(work, "block-peer-compile.json"))
    if compiled:
        peer = peer or {"torch": compiled.get("torch", ""), "block": []}
        peer["block"] = peer.get("block", []) + compiled.get("block", [])
    if fc is None:
        lines.append("no flopcast block results")
        return
    lines.append("== block step, PyTorch first, then flopcast (step time, medians)")
    ver = (peer or {}).get("torch", "")
    for m in fc.get("measurements", []):
        b = m.get("block") or {}
        label = f"{b.get('preset')} seq{b.get('seq')} b{b.get('batch')} {m.get('dtype')}"
        if m.get("workload") != "block" or m.get("status") != "ok":
            lines.append(f"{label}: flopcast {m.get('status')}: {'; '.join(m.get('notes', []))[:100]}")
            continue
        ours = m["seconds"]["median"]
        win = m.get("window")
        lines.append(f"{label} flopcast ({b.get('attention')} attention): {ours * 1e3:.1f} ms, duty {m.get('duty_cycle', 0):.3f}, "
                     f"SM {mean_of(win, 'sm_clock_mhz'):.0f} MHz, {mean_of(win, 'power_w'):.0f} W, kinds {fmt_kinds(b.get('kind_seconds'))}")
        for p in (peer or {}).get("block", []):
            if (p.get("preset"), p.get("seq"), p.get("batch"), p.get("dtype")) != (b.get("preset"), b.get("seq"), b.get("batch"), m["dtype"]):
                continue
            if "seconds" not in p:
                lines.append(f"  {p.get('name')}: {p.get('error', '')}")
                continue
            if p.get("mode") == "eager":
                m["peer"] = {"name": p["name"], "version": ver, "seconds": p["seconds"],
                             "duty_cycle": p.get("duty_cycle", 0.0), "window": p.get("window")}
            else:
                m.setdefault("notes", []).append(f"peer {p['name']} {ver}: {p['seconds'] * 1e3:.1f} ms/step")
            pw = p.get("window")
            lines.append(f"  {p['name']:17} {p['seconds'] * 1e3:7.1f} ms  flopcast/torch {ours / p['seconds']:.3f}x  duty {p.get('duty_cycle', 0):.3f}  "
                         f"SM {mean_of(pw, 'sm_clock_mhz'):.0f} MHz  {mean_of(pw, 'power_w'):.0f} W  kinds {fmt_kinds(p.get('kind_seconds'))}")
    with open(fc_path, "w") as f:
        json.dump(fc, f, indent=2)


def fmt_kinds(k):
    if not k:
        return "-"
    return ", ".join(f"{name} {v * 1e3:.1f} ms" for name, v in sorted(k.items()))


def main():
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        print("usage: device_table.py WORKDIR", file=sys.stderr)
        return 2
    lines = []
    gemm_table(sys.argv[1], lines)
    block_table(sys.argv[1], lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
