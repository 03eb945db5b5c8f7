package nvml

import (
	"testing"
)

func u64(v uint64) *uint64 { return &v }
func intp(v int) *int      { return &v }
func boolp(v bool) *bool   { return &v }

func levels(fs []Finding) map[string]string {
	m := map[string]string{}
	for _, f := range fs {
		m[f.Check] = f.Level
	}
	return m
}

// TestClassifyHealthy: a clean H100-like GPU (18 NVLinks up, no errors,
// PCIe gen 5 x16 at idle gen 1) has no warning or failure.
func TestClassifyHealthy(t *testing.T) {
	h := Health{
		ECCCorrectedVolatile: u64(0), ECCUncorrectedVolatile: u64(0), ECCCorrectedAggregate: u64(3), ECCUncorrectedAggregate: u64(0),
		RemappedCorrectable: intp(0), RemappedUncorrectable: intp(0), RemapPending: boolp(false), RemapFailed: boolp(false),
		PCIeGen: 1, PCIeGenMax: 5, PCIeWidth: 16, PCIeWidthMax: 16, PCIeReplays: intp(0),
	}
	for i := 0; i < 18; i++ {
		h.NVLinks = append(h.NVLinks, NVLink{Link: i, Up: true, Replay: u64(0), Recovery: u64(0), CRCFlit: u64(0), CRCData: u64(0)})
	}
	fs := Classify(h, HealthLimits{})
	if w := Worst(fs); w != HealthOK {
		t.Errorf("healthy GPU classified %s: %+v", w, fs)
	}
	if l := levels(fs); l["pcie_gen"] != HealthOK || l["ecc_uncorrected_volatile"] != HealthOK {
		t.Errorf("findings %v", l)
	}
}

// TestClassifyFaults: each fault gets its level.
func TestClassifyFaults(t *testing.T) {
	cases := []struct {
		name  string
		h     Health
		check string
		level string
	}{
		{"uncorrected ECC", Health{ECCUncorrectedVolatile: u64(2)}, "ecc_uncorrected_volatile", HealthFail},
		{"corrected ECC", Health{ECCCorrectedVolatile: u64(5)}, "ecc_corrected_volatile", HealthWarn},
		{"remap failed", Health{RemapFailed: boolp(true)}, "row_remap_failure", HealthFail},
		{"remap pending", Health{RemapPending: boolp(true)}, "row_remap_pending", HealthFail},
		{"rows remapped", Health{RemappedUncorrectable: intp(1)}, "rows_remapped_uncorrectable", HealthWarn},
		{"narrow PCIe", Health{PCIeWidth: 8, PCIeWidthMax: 16}, "pcie_width", HealthWarn},
		{"PCIe replays", Health{PCIeReplays: intp(12)}, "pcie_replays", HealthWarn},
		{"NVLink CRC", Health{NVLinks: []NVLink{{Link: 3, Up: true, CRCFlit: u64(7)}}}, "nvlink3_errors", HealthWarn},
		{"NVLink down", Health{NVLinks: []NVLink{{Link: 0, Up: true}, {Link: 1, Up: false}}}, "nvlink_down", HealthWarn},
	}
	for _, c := range cases {
		fs := Classify(c.h, HealthLimits{})
		if got := levels(fs)[c.check]; got != c.level {
			t.Errorf("%s: %s = %q, want %q (%+v)", c.name, c.check, got, c.level, fs)
		}
		if Worst(fs) != c.level {
			t.Errorf("%s: worst %s, want %s", c.name, Worst(fs), c.level)
		}
	}
	// Limits raise the bar.
	if fs := Classify(Health{PCIeReplays: intp(12)}, HealthLimits{PCIeReplays: 100}); Worst(fs) != HealthOK {
		t.Errorf("12 replays under a limit of 100: %+v", fs)
	}
	// All links down (a GPU without NVLink reports them disabled) is not a
	// link fault.
	if fs := Classify(Health{NVLinks: []NVLink{{Link: 0}, {Link: 1}}}, HealthLimits{}); Worst(fs) != HealthOK {
		t.Errorf("no NVLink up at all: %+v", fs)
	}
	// Nothing reported: no findings.
	if fs := Classify(Health{}, HealthLimits{}); len(fs) != 0 {
		t.Errorf("empty health: %+v", fs)
	}
}
