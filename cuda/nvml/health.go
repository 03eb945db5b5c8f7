package nvml

import (
	"fmt"

	gonvml "github.com/NVIDIA/go-nvml/pkg/nvml"
)

// Health is what NVML says about a GPU's memory and links: the counters an
// operator reads before trusting a node. A nil pointer or a negative value
// was not reported by this GPU or driver.
type Health struct {
	// ECC error counts: volatile since the driver loaded, aggregate over
	// the GPU's life.
	ECCCorrectedVolatile, ECCUncorrectedVolatile   *uint64
	ECCCorrectedAggregate, ECCUncorrectedAggregate *uint64
	// RemappedRows (HBM GPUs, A100 and later): rows remapped for
	// correctable and uncorrectable errors, a remap waiting for a GPU
	// reset, and a remap that failed (the GPU is out of spare rows).
	RemappedCorrectable, RemappedUncorrectable *int
	RemapPending, RemapFailed                  *bool
	// PCIe link: current and maximum generation and width, and the replay
	// counter (link-level retransmissions).
	PCIeGen, PCIeGenMax, PCIeWidth, PCIeWidthMax int
	PCIeReplays                                  *int
	// NVLinks holds each link NVML reports (its state and error counters).
	NVLinks []NVLink
}

// NVLink is one NVLink link's state and error counters (nil: not
// reported).
type NVLink struct {
	Link int
	Up   bool
	// Replay, Recovery, CRCFlit and CRCData are the data-link error
	// counters; ECCData the data ECC errors.
	Replay, Recovery, CRCFlit, CRCData, ECCData *uint64
}

// Health reads the GPU's health counters; counters the GPU or driver does
// not have stay nil (or zero for the PCIe link fields).
func (m *Monitor) Health() Health {
	var h Health
	if HasSymbol("nvmlDeviceGetTotalEccErrors") {
		get := func(t gonvml.MemoryErrorType, c gonvml.EccCounterType) *uint64 {
			if v, rc := m.dev.GetTotalEccErrors(t, c); rc == gonvml.SUCCESS {
				return &v
			}
			return nil
		}
		h.ECCCorrectedVolatile = get(gonvml.MEMORY_ERROR_TYPE_CORRECTED, gonvml.VOLATILE_ECC)
		h.ECCUncorrectedVolatile = get(gonvml.MEMORY_ERROR_TYPE_UNCORRECTED, gonvml.VOLATILE_ECC)
		h.ECCCorrectedAggregate = get(gonvml.MEMORY_ERROR_TYPE_CORRECTED, gonvml.AGGREGATE_ECC)
		h.ECCUncorrectedAggregate = get(gonvml.MEMORY_ERROR_TYPE_UNCORRECTED, gonvml.AGGREGATE_ECC)
	}
	if HasSymbol("nvmlDeviceGetRemappedRows") {
		if c, u, pending, failed, rc := m.dev.GetRemappedRows(); rc == gonvml.SUCCESS {
			h.RemappedCorrectable, h.RemappedUncorrectable, h.RemapPending, h.RemapFailed = &c, &u, &pending, &failed
		}
	}
	l := m.Links()
	h.PCIeGen, h.PCIeWidth = l.PCIeGen, l.PCIeWidth
	if HasSymbol("nvmlDeviceGetMaxPcieLinkGeneration") {
		if v, rc := m.dev.GetMaxPcieLinkGeneration(); rc == gonvml.SUCCESS {
			h.PCIeGenMax = v
		}
	}
	if HasSymbol("nvmlDeviceGetMaxPcieLinkWidth") {
		if v, rc := m.dev.GetMaxPcieLinkWidth(); rc == gonvml.SUCCESS {
			h.PCIeWidthMax = v
		}
	}
	if HasSymbol("nvmlDeviceGetPcieReplayCounter") {
		if v, rc := m.dev.GetPcieReplayCounter(); rc == gonvml.SUCCESS {
			h.PCIeReplays = &v
		}
	}
	if HasSymbol("nvmlDeviceGetNvLinkState") {
		counters := HasSymbol("nvmlDeviceGetNvLinkErrorCounter")
		for i := 0; i < gonvml.NVLINK_MAX_LINKS; i++ {
			st, rc := m.dev.GetNvLinkState(i)
			if rc != gonvml.SUCCESS {
				continue // not a link of this GPU
			}
			link := NVLink{Link: i, Up: st == gonvml.FEATURE_ENABLED}
			if counters {
				get := func(c gonvml.NvLinkErrorCounter) *uint64 {
					if v, rc := m.dev.GetNvLinkErrorCounter(i, c); rc == gonvml.SUCCESS {
						return &v
					}
					return nil
				}
				link.Replay, link.Recovery = get(gonvml.NVLINK_ERROR_DL_REPLAY), get(gonvml.NVLINK_ERROR_DL_RECOVERY)
				link.CRCFlit, link.CRCData = get(gonvml.NVLINK_ERROR_DL_CRC_FLIT), get(gonvml.NVLINK_ERROR_DL_CRC_DATA)
				link.ECCData = get(gonvml.NVLINK_ERROR_DL_ECC_DATA)
			}
			h.NVLinks = append(h.NVLinks, link)
		}
	}
	return h
}

// Health levels of a Finding.
const (
	HealthOK   = "ok"
	HealthWarn = "warn"
	HealthFail = "fail"
)

// Finding is one health check's outcome.
type Finding struct {
	Level string
	// Check names the counter, e.g. "ecc_uncorrected_volatile".
	Check     string
	Measured  float64
	Threshold float64
	Unit      string
	Message   string
}

// HealthLimits are the counts above which a counter is a warning; every
// limit is flopcast's own default, not a vendor figure (NVIDIA documents
// what the counters mean, not how many are too many), so fleets set their
// own through the thresholds file.
type HealthLimits struct {
	// PCIeReplays: replays since the driver loaded (default 0: any replay
	// is reported).
	PCIeReplays int
	// NVLinkErrors: a link's replay + recovery + CRC errors (default 0).
	NVLinkErrors uint64
	// CorrectedECC: corrected volatile ECC errors (default 0: reported as
	// a warning, they are corrected but a rising count precedes failures).
	CorrectedECC uint64
}

// Classify turns health counters into findings, worst first within each
// counter's order: uncorrected volatile ECC errors, a failed row remap and
// a remap pending a reset fail the GPU (its memory cannot be trusted, or
// it must be reset, until then); corrected ECC errors above the limit,
// rows remapped for uncorrectable errors, a PCIe link narrower than its
// maximum, PCIe replays and NVLink errors above the limits, and a link
// down while others are up are warnings. A PCIe generation below the
// maximum is reported as ok with a note: GPUs lower it when idle.
func Classify(h Health, lim HealthLimits) []Finding {
	var out []Finding
	add := func(level, check string, measured, threshold float64, unit, msg string) {
		out = append(out, Finding{level, check, measured, threshold, unit, msg})
	}
	if v := h.ECCUncorrectedVolatile; v != nil {
		if *v > 0 {
			add(HealthFail, "ecc_uncorrected_volatile", float64(*v), 0, "errors", "uncorrected ECC errors since the driver loaded")
		} else {
			add(HealthOK, "ecc_uncorrected_volatile", 0, 0, "errors", "")
		}
	}
	if v := h.ECCCorrectedVolatile; v != nil && *v > lim.CorrectedECC {
		add(HealthWarn, "ecc_corrected_volatile", float64(*v), float64(lim.CorrectedECC), "errors", "corrected ECC errors since the driver loaded")
	}
	if v := h.ECCUncorrectedAggregate; v != nil && *v > 0 {
		add(HealthWarn, "ecc_uncorrected_aggregate", float64(*v), 0, "errors", "uncorrected ECC errors over the GPU's life")
	}
	if h.RemapFailed != nil && *h.RemapFailed {
		add(HealthFail, "row_remap_failure", 1, 0, "", "a row remap failed: no spare rows left")
	}
	if h.RemapPending != nil && *h.RemapPending {
		add(HealthFail, "row_remap_pending", 1, 0, "", "a row remap waits for a GPU reset")
	}
	if v := h.RemappedUncorrectable; v != nil && *v > 0 {
		add(HealthWarn, "rows_remapped_uncorrectable", float64(*v), 0, "rows", "rows remapped after uncorrectable errors")
	}
	if h.PCIeWidthMax > 0 && h.PCIeWidth > 0 && h.PCIeWidth < h.PCIeWidthMax {
		add(HealthWarn, "pcie_width", float64(h.PCIeWidth), float64(h.PCIeWidthMax), "lanes", fmt.Sprintf("PCIe link x%d of x%d", h.PCIeWidth, h.PCIeWidthMax))
	}
	if h.PCIeGenMax > 0 && h.PCIeGen > 0 && h.PCIeGen < h.PCIeGenMax {
		add(HealthOK, "pcie_gen", float64(h.PCIeGen), float64(h.PCIeGenMax), "generation",
			fmt.Sprintf("PCIe gen %d of %d (GPUs lower it when idle)", h.PCIeGen, h.PCIeGenMax))
	}
	if v := h.PCIeReplays; v != nil && *v > lim.PCIeReplays {
		add(HealthWarn, "pcie_replays", float64(*v), float64(lim.PCIeReplays), "replays", "PCIe link-level retransmissions")
	}
	up, down := 0, 0
	for _, l := range h.NVLinks {
		if l.Up {
			up++
		} else {
			down++
		}
		var errs uint64
		for _, c := range []*uint64{l.Replay, l.Recovery, l.CRCFlit, l.CRCData, l.ECCData} {
			if c != nil {
				errs += *c
			}
		}
		if errs > lim.NVLinkErrors {
			add(HealthWarn, fmt.Sprintf("nvlink%d_errors", l.Link), float64(errs), float64(lim.NVLinkErrors), "errors",
				"NVLink replay, recovery, CRC and ECC errors")
		}
	}
	if up > 0 && down > 0 {
		add(HealthWarn, "nvlink_down", float64(down), 0, "links", fmt.Sprintf("%d NVLink links down, %d up", down, up))
	}
	return out
}

// Worst returns the worst level among findings (HealthOK when none).
func Worst(fs []Finding) string {
	w := HealthOK
	for _, f := range fs {
		switch {
		case f.Level == HealthFail:
			return HealthFail
		case f.Level == HealthWarn:
			w = HealthWarn
		}
	}
	return w
}
