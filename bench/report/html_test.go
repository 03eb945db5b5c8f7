package report

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/bench/compare"
)

// fixturePaths are bench/compare's hand-made files of three machine types.
var fixturePaths = []string{"../compare/testdata/fixture-h100x2.json", "../compare/testdata/fixture-cpu.json",
	"../compare/testdata/fixture-h200-a.json", "../compare/testdata/fixture-h200-b.json"}

// fixturePrice is a stand-in price list ($4 per H100-hour, $5 per
// H200-hour, none for the CPU), so that the page does not change with the
// catalog.
func fixturePrice(m compare.Machine) (compare.Price, bool) {
	switch {
	case strings.Contains(m.DeviceName, "H100"):
		return compare.Price{USDPerGPUHour: 4, Basis: "fixture price"}, true
	case strings.Contains(m.DeviceName, "H200"):
		return compare.Price{USDPerGPUHour: 5, Basis: "fixture price"}, true
	}
	return compare.Price{}, false
}

func fixtureReport(t *testing.T, opt HTMLOptions) string {
	t.Helper()
	inputs, err := compare.Load(fixturePaths)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteHTML(&b, inputs, opt); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestHTMLSelfContained(t *testing.T) {
	page := fixtureReport(t, HTMLOptions{})
	for _, bad := range []string{"<script", "<link", "@import", "url(", "src=", "https://"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page contains %q: it must not fetch or run anything", bad)
		}
	}
	// The only URL is the SVG namespace, which is never fetched.
	if n, m := strings.Count(page, "http://"), strings.Count(page, `xmlns="http://www.w3.org/2000/svg"`); n != m {
		t.Errorf("%d URLs besides the SVG namespace", n-m)
	}
	if !strings.Contains(page, "default-src 'none'") {
		t.Error("no Content-Security-Policy forbidding loads")
	}
	for _, want := range []string{"throughput (TFLOP/s)", "arithmetic intensity (FLOP/byte), log scale", "step time (ms)",
		"temperature (°C)", "power (W)", "clock (MHz)", "straggler 94%", "forecast not available", "bf16, fp16 peak 989 TFLOP/s",
		"bf16 GEMM throughput against size, by machine type", "Roofline: every machine type", "<details class=\"detail\" data-by=\"machine\">",
		"<details class=\"detail\" data-by=\"file\">", "‡"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestHTMLForecast(t *testing.T) {
	opt := HTMLOptions{SweepGPUs: []int{256, 512, 1024}}
	opt.Compare.Estimate = func(m compare.Machine, ref compare.Reference) (compare.Estimate, error) {
		if m.DeviceKind == "cpu" {
			return compare.Estimate{}, errors.New("no forecast for CPUs")
		}
		return compare.Estimate{Days: 30 * 1024 / float64(ref.GPUs), CostUSD: 3e6}, nil
	}
	page := fixtureReport(t, opt)
	for _, kind := range []string{`data-chart="forecast"`, `data-chart="forecast-cost"`, `data-chart="scaling"`} {
		if !strings.Contains(page, "<figure class=\"chart-figure\" "+kind) {
			t.Errorf("no %s chart", kind)
		}
	}
	// Days at 256 GPUs: 30·1024/256 = 120.
	if !regexp.MustCompile(`data-value="120" data-key="[^"]*\|256"`).MatchString(page) {
		t.Error("the scaling table lacks 120 days at 256 GPUs")
	}
	if !strings.Contains(page, "no forecast for CPUs") {
		t.Error("the CPU's forecast error is not shown")
	}
}

func TestHTMLNothingInCommon(t *testing.T) {
	a, _ := compare.Load([]string{"../compare/testdata/gate/fixture-base.json"})
	c, _ := compare.Load([]string{"../compare/testdata/fixture-cpu.json"})
	c[0].File.Measurements = c[0].File.Measurements[4:] // fp64 only
	var b bytes.Buffer
	err := WriteHTML(&b, append(a, c...), HTMLOptions{})
	if !errors.Is(err, compare.ErrNothingInCommon) {
		t.Errorf("err = %v, want nothing in common", err)
	}
}
