"""Tests of the peers' GPU-free parts and of the device check's table
printer, on scripted data (run by peers_test.go, or python3 -m unittest)."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gpustate  # noqa: E402
import torch_gemm  # noqa: E402  (imports torch only when it runs)

TABLE = os.path.join(HERE, "..", "..", "scripts", "device_table.py")


def near(a, b):
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))


class Aggregate(unittest.TestCase):
    # The same scripted series as cuda/nvml/sampler_test.go: the peer's
    # window must come out as flopcast's does.
    SERIES = [
        (0.00, 1980, 3201, 400, 40, 0x0),
        (0.05, 1700, 3201, 690, 50, 0x4),
        (0.10, 1545, 3201, None, 60, 0x4 | 0x20),
        (0.15, 1545, 3201, 700, 62, None),
        (0.20, 1560, 3201, 700, 64, 0x4),
    ]

    def test_like_flopcasts_sampler(self):
        w = gpustate.aggregate(self.SERIES)
        self.assertEqual(w["samples"], 5)
        self.assertTrue(near(w["seconds"], 0.2))
        self.assertTrue(near(w["sm_clock_mhz"]["mean"], (1980 + 1700 + 1545 + 1545 + 1560) / 5))
        self.assertEqual((w["sm_clock_mhz"]["min"], w["sm_clock_mhz"]["max"]), (1545, 1980))
        self.assertTrue(near(w["power_w"]["mean"], (400 + 690 + 700 + 700) / 4))
        self.assertTrue(near(w["temp_c"]["mean"], 55.2))
        self.assertTrue(near(w["at_power_cap_fraction"], 0.75))
        self.assertTrue(near(w["throttled_fraction"], 0.25))
        self.assertTrue(near(w["energy_j"], 0.05 * 545 + 0.10 * 695 + 0.05 * 700))
        w = gpustate.aggregate(self.SERIES, energy_j=123.456)
        self.assertTrue(near(w["energy_j"], 123.456))
        self.assertEqual(gpustate.aggregate([])["samples"], 0)

    def test_nvidia_smi_line(self):
        r = gpustate.parse_smi_line("1545, 3201, 699.52, 63, 0x0000000000000004", 1.5)
        self.assertEqual(r, (1.5, 1545.0, 3201.0, 699.52, 63.0, 4))
        r = gpustate.parse_smi_line("1545 MHz, [N/A], 699.52 W, 63, Not Supported", 2.0)
        self.assertEqual(r, (2.0, 1545.0, None, 699.52, 63.0, None))
        self.assertIsNone(gpustate.parse_smi_line("garbage", 0))


class Plan(unittest.TestCase):
    def test_window_calls_as_flopcast(self):
        # bench/window_test.go TestWindowCalls' cases.
        cases = [((1e-3, 5, 0, 3600), (5, False)), ((1e-3, 5, 1, 3600), (1000, False)),
                 ((1.34e-3, 10, 1, 4), (747, False)), ((1, 5, 1, 2), (3, True)),
                 ((0.1, 5, 1, 0.5), (5, True)), ((0, 7, 1, 3600), (1000, False))]
        for args, want in cases:
            self.assertEqual(torch_gemm.window_calls(*args), want, args)


def flopcast_file(rate_bf16, duty, sm):
    win = {"seconds": 1.0, "sm_clock_mhz": {"mean": sm, "min": sm - 20, "max": sm + 20},
           "power_w": {"mean": 690, "min": 650, "max": 700}, "at_power_cap_fraction": 0.9,
           "throttled_fraction": 0, "energy_j": 690, "samples": 50}
    ms = []
    for dtype, rate in (("bf16", rate_bf16), ("fp8", 2 * rate_bf16)):
        ms.append({"workload": "gemm", "device": "cuda:0", "dtype": dtype, "shape": {"m": 8192, "n": 8192, "k": 8192},
                   "status": "ok", "flop_per_second": rate, "timing": "back-to-back", "duty_cycle": duty,
                   "window": win, "flop_per_second_per_ghz": rate / (sm / 1000), "flop_per_joule": rate / 690})
    return {"measurements": ms}


def peer_file(rate_bf16, duty, sm):
    win = {"seconds": 1.0, "sm_clock_mhz": {"mean": sm, "min": sm, "max": sm}, "power_w": {"mean": 700, "min": 700, "max": 700},
           "at_power_cap_fraction": 1.0, "throttled_fraction": 0, "samples": 50}
    rows = []
    for dtype, rate in (("bf16", rate_bf16), ("fp8", 2 * rate_bf16)):
        rows.append({"dtype": dtype, "m": 8192, "n": 8192, "k": 8192, "name": "torch.matmul", "seconds": 2 * 8192 ** 3 / rate,
                     "flop_per_second": rate, "duty_cycle": duty, "window": win})
    rows.append({"dtype": "bf16", "m": 8192, "n": 8192, "k": 8192, "blas": "cublaslt", "name": "torch.matmul (cuBLASLt)",
                 "seconds": 2 * 8192 ** 3 / (0.99 * rate_bf16), "flop_per_second": 0.99 * rate_bf16, "duty_cycle": duty, "window": win})
    return {"torch": "2.11.0", "gemm": rows}


def dump(v, path):
    with open(path, "w") as f:
        json.dump(v, f)


class Table(unittest.TestCase):
    def test_table_on_fake_files(self):
        with tempfile.TemporaryDirectory() as d:
            for r, (ours, theirs) in enumerate(((800e12, 790e12), (780e12, 800e12), (790e12, 790e12)), 1):
                dump(flopcast_file(ours, 0.999, 1560), os.path.join(d, f"round{r}-flopcast.json"))
                dump(peer_file(theirs, 0.998 if r != 2 else 0.90, 1550), os.path.join(d, f"round{r}-peer.json"))
            lt = flopcast_file(785e12, 0.999, 1560)
            lt["measurements"] = lt["measurements"][:1]
            dump(lt, os.path.join(d, "ltalgo0-flopcast.json"))
            out = subprocess.run([sys.executable, TABLE, d], capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            text = out.stdout
            # Per-round ratios 1.0127, 0.975, 1.0: the median is 1.000.
            self.assertIn("ratio flopcast/torch 1.000x (rounds: 1.013 0.975 1.000)", text)
            # Round 2's peer idled: the row says the conditions differed.
            self.assertIn("NOT equal conditions", text)
            self.assertIn("SM  1560 MHz", text)
            self.assertIn("duty 0.900", text)
            self.assertIn("--lt-algo 0", text)
            self.assertIn("ratio 1.004x", text)  # 785 / (0.99 * median(790, 800, 790))
            self.assertIn("no flopcast block results", text)
            # The peer, with its duty cycle and window, is stored in the
            # flopcast file of its round.
            with open(os.path.join(d, "round2-flopcast.json")) as f:
                fc = json.load(f)
            p = fc["measurements"][0]["peer"]
            self.assertEqual((p["name"], p["duty_cycle"], p["window"]["sm_clock_mhz"]["mean"]), ("torch.matmul", 0.90, 1550))

    def test_usage(self):
        out = subprocess.run([sys.executable, TABLE], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 2)


if __name__ == "__main__":
    unittest.main()
