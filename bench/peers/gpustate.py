"""GPU state through a timed window, for flopcast's PyTorch peers.

Samples the SM and memory clocks, power, temperature and clock-event
reasons every 20 ms on a thread of its own, with pynvml when it can be
imported, else with `nvidia-smi --query-gpu=... --format=csv -lms 20` in
the background, and aggregates them exactly as flopcast's Go sampler does
(cuda/nvml/sampler.go) into flopcast's `window` object:

  {"seconds", "sm_clock_mhz": {"mean", "min", "max"}, "mem_clock_mhz",
   "power_w", "temp_c", "at_power_cap_fraction", "throttled_fraction",
   "energy_j", "samples"}

Energy is the difference of the device's total-energy counter (pynvml)
where it has one, else the trapezoidal integral of the sampled power.
Nothing here changes a clock or a power limit. aggregate() is plain Python
so that it can be tested without a GPU.
"""
import math
import shutil
import subprocess
import threading
import time

INTERVAL = 0.02

# NVML clock-event reason bits (nvml.h nvmlClocksEventReason*): the power
# cap is not a slowdown; these are.
POWER_CAP = 0x4
SLOWDOWN = 0x8 | 0x10 | 0x20 | 0x40 | 0x80 | 0x200 | 0x400


def aggregate(readings, energy_j=None):
    """readings: [(t_seconds, sm_mhz, mem_mhz, power_w, temp_c, reasons)],
    a value None where unread; energy_j: the counter's difference or None."""
    out = {"seconds": 0.0, "at_power_cap_fraction": 0.0, "throttled_fraction": 0.0, "samples": len(readings)}
    if not readings:
        return out
    out["seconds"] = readings[-1][0] - readings[0][0]
    for i, key in ((1, "sm_clock_mhz"), (2, "mem_clock_mhz"), (3, "power_w"), (4, "temp_c")):
        vs = [r[i] for r in readings if r[i] is not None and math.isfinite(r[i])]
        if vs:
            out[key] = {"mean": sum(vs) / len(vs), "min": min(vs), "max": max(vs)}
    known = [r[5] for r in readings if r[5] is not None]
    if known:
        out["at_power_cap_fraction"] = sum(1 for m in known if m & POWER_CAP) / len(known)
        out["throttled_fraction"] = sum(1 for m in known if m & SLOWDOWN) / len(known)
    if energy_j is not None and energy_j >= 0 and out["seconds"] > 0:
        out["energy_j"] = energy_j
    else:
        pts = [(r[0], r[3]) for r in readings if r[3] is not None and math.isfinite(r[3])]
        if len(pts) >= 2:
            out["energy_j"] = sum((t1 - t0) * (p0 + p1) / 2 for (t0, p0), (t1, p1) in zip(pts, pts[1:]))
    return out


def parse_smi_line(line, t):
    """One line of the nvidia-smi query below: clocks.sm, clocks.mem,
    power.draw, temperature.gpu, clocks_event_reasons.active (hex)."""
    parts = [p.strip() for p in line.split(",")]
    if len(parts) < 5:
        return None

    def num(s):
        s = s.split()[0] if s else ""
        try:
            return float(s)
        except ValueError:
            return None
    try:
        reasons = int(parts[4], 16)
    except ValueError:
        reasons = None
    return (t, num(parts[0]), num(parts[1]), num(parts[2]), num(parts[3]), reasons)


SMI_QUERY = "clocks.sm,clocks.mem,power.draw,temperature.gpu,clocks_event_reasons.active"


class Sampler:
    """with Sampler(index) as s: ...timed window...; then s.window."""

    def __init__(self, index=0):
        self.index, self.window, self.source, self.why = index, None, "", ""
        self._readings, self._stop = [], threading.Event()
        self._nvml = self._handle = self._proc = self._thread = None
        self._e0 = None

    def _read_nvml(self):
        n, h = self._nvml, self._handle

        def get(f, *a):
            try:
                return f(h, *a)
            except Exception:
                return None
        sm = get(n.nvmlDeviceGetClockInfo, n.NVML_CLOCK_SM)
        mem = get(n.nvmlDeviceGetClockInfo, n.NVML_CLOCK_MEM)
        pw = get(n.nvmlDeviceGetPowerUsage)
        tc = get(n.nvmlDeviceGetTemperature, n.NVML_TEMPERATURE_GPU)
        rs = get(getattr(n, "nvmlDeviceGetCurrentClocksEventReasons", None) or n.nvmlDeviceGetCurrentClocksThrottleReasons)
        return (time.perf_counter(), sm, mem, pw / 1000 if pw is not None else None, tc, rs)

    def _energy(self):
        try:
            return self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle)  # mJ
        except Exception:
            return None

    def __enter__(self):
        try:
            import pynvml
            pynvml.nvmlInit()
            self._nvml, self._handle = pynvml, pynvml.nvmlDeviceGetHandleByIndex(self.index)
            self.source = "pynvml"
        except Exception as e:  # no pynvml, or NVML refused
            self._nvml, self.why = None, f"pynvml: {e}"
        if self._nvml is not None:
            self._e0 = self._energy()
            self._readings.append(self._read_nvml())
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        elif shutil.which("nvidia-smi"):
            self.source = "nvidia-smi"
            self._proc = subprocess.Popen(
                ["nvidia-smi", "-i", str(self.index), f"--query-gpu={SMI_QUERY}", "--format=csv,noheader,nounits",
                 "-lms", str(int(INTERVAL * 1000))], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            self._thread = threading.Thread(target=self._smi_loop, daemon=True)
            self._thread.start()
        else:
            self.why += "; no nvidia-smi"
        return self

    def _loop(self):
        while not self._stop.wait(INTERVAL):
            self._readings.append(self._read_nvml())

    def _smi_loop(self):
        for line in self._proc.stdout:
            r = parse_smi_line(line, time.perf_counter())
            if r is not None:
                self._readings.append(r)
            if self._stop.is_set():
                break

    def __exit__(self, *exc):
        self._stop.set()
        energy = None
        if self._nvml is not None:
            self._thread.join()
            self._readings.append(self._read_nvml())
            e1 = self._energy()
            if self._e0 is not None and e1 is not None:
                energy = (e1 - self._e0) / 1000
        elif self._proc is not None:
            time.sleep(2 * INTERVAL)  # let the last line in
            self._proc.terminate()
            try:
                self._proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._proc.kill()
            self._thread.join(timeout=2)
        if self._readings:
            self.window = aggregate(list(self._readings), energy)
        return False
