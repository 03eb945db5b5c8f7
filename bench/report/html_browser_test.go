package report

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flopcast/flopcast/bench/compare"
)

// chromiumPath is Debian's chromium; CI installs it (.ci/run).
const chromiumPath = "/usr/bin/chromium"

// chromium runs headless Chromium on a local file with extra flags and
// returns its stdout and stderr.
func chromium(t *testing.T, page string, extra ...string) (stdout, stderr string) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is missing: install Debian's chromium package", chromiumPath)
		}
		t.Skipf("%s not installed (apt-get install chromium); the browser check runs in CI", chromiumPath)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0", "--hide-scrollbars"}
	args = append(append(args, extra...), "file://"+page)
	cmd := exec.CommandContext(ctx, chromiumPath, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, errb.String())
	}
	return out.String(), errb.String()
}

// consoleMessages returns the page's console messages Chromium logged; the
// report has no script, so every one is an error (a refused load, a CSP
// violation).
func consoleMessages(stderr string) []string {
	var out []string
	for _, line := range strings.Split(stderr, "\n") {
		if strings.Contains(line, ":CONSOLE") {
			out = append(out, line)
		}
	}
	return out
}

func TestConsoleCheckCatchesErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.html")
	os.WriteFile(bad, []byte(`<html><body><script>console.error("boom"); undefinedFunction();</script></body></html>`), 0o644)
	_, stderr := chromium(t, bad, "--dump-dom")
	if msgs := consoleMessages(stderr); len(msgs) < 2 {
		t.Errorf("the console check missed the errors of a broken page: %q", msgs)
	}
}

var (
	svgRe      = regexp.MustCompile(`(?s)<svg class="chart"[^>]*viewBox="0 0 (\d+) (\d+)"[^>]*>(.*?)</svg>`)
	figureRe   = regexp.MustCompile(`(?s)<figure class="chart-figure" data-chart="([a-z-]+)"[^>]*>(.*?)</figure>`)
	fallbackRe = regexp.MustCompile(`(?s)<table class="fallback" data-chart="([a-z-]+)">(.*?)</table>`)
	valueRe    = regexp.MustCompile(`<td data-value="([^"]+)" data-key="([^"]+)">`)
	markRe     = regexp.MustCompile(`<(path|line|rect|circle)\b`)
)

// fallbackValues maps each keyed fallback cell of a chart kind to its
// exact value.
func fallbackValues(t *testing.T, dom, kind string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range fallbackRe.FindAllStringSubmatch(dom, -1) {
		if m[1] != kind {
			continue
		}
		for _, c := range valueRe.FindAllStringSubmatch(m[2], -1) {
			v, err := strconv.ParseFloat(c[1], 64)
			if err != nil {
				t.Fatalf("%s: data-value %q", kind, c[1])
			}
			out[strings.ReplaceAll(c[2], "&amp;", "&")] = v
		}
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b)) }

// TestReportInBrowser opens the report of the committed fixtures in headless
// Chromium: the page loads without console errors, every chart's SVG is
// there and draws something, a screenshot is taken, and the numbers of the
// fallback tables are those of the input files.
func TestReportInBrowser(t *testing.T) {
	inputs, err := compare.Load(fixturePaths)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	var b bytes.Buffer
	opt := HTMLOptions{}
	opt.Compare.Price = fixturePrice
	if err := WriteHTML(&b, inputs, opt); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(page, b.Bytes(), 0o644)

	dom, stderr := chromium(t, page, "--dump-dom")
	if msgs := consoleMessages(stderr); len(msgs) > 0 {
		t.Errorf("console messages while loading the report:\n%s", strings.Join(msgs, "\n"))
	}
	if !strings.Contains(dom, "<h1>flopcast report</h1>") {
		t.Fatalf("the page did not load: %.300s", dom)
	}

	// Every figure holds one non-empty chart and one fallback table.
	figures := figureRe.FindAllStringSubmatch(dom, -1)
	kinds := map[string]int{}
	var overlays []string
	for _, f := range figures {
		kinds[f[1]]++
		svgs := svgRe.FindAllStringSubmatch(f[2], -1)
		if len(svgs) != 1 {
			t.Errorf("figure %s: %d charts, want 1", f[1], len(svgs))
			continue
		}
		if w, _ := strconv.Atoi(svgs[0][1]); w == 0 {
			t.Errorf("figure %s: empty viewBox", f[1])
		}
		if n := len(markRe.FindAllString(svgs[0][3], -1)); n < 5 {
			t.Errorf("figure %s: the chart draws %d shapes", f[1], n)
		}
		if strings.Contains(svgs[0][3], "NaN") || strings.Contains(svgs[0][3], "Inf") {
			t.Errorf("figure %s: NaN or Inf in the SVG", f[1])
		}
		if !strings.Contains(f[2], `<table class="fallback"`) {
			t.Errorf("figure %s has no fallback table", f[1])
		}
		if f[1] == "throughput" {
			overlays = append(overlays, f[2])
		}
	}
	if got := len(svgRe.FindAllString(dom, -1)); got != len(figures) {
		t.Errorf("%d charts but %d figures", got, len(figures))
	}
	// Overlays: one throughput chart per dtype (bf16, fp16, fp32, fp64),
	// one roofline, the two cost bar charts. Per run, in the collapsed
	// detail: throughput and roofline for each of the four runs, per-GPU
	// bars for the two-GPU run, three block runs, clock, temperature and
	// power for the H100s and clock and temperature for the CPU.
	want := map[string]int{"throughput": 4, "roofline": 1, "cost": 1, "tokens-per-dollar": 1,
		"run-throughput": 4, "run-roofline": 4, "gpus": 1, "block": 3, "state": 5}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%d %s charts, want %d (all: %v)", kinds[k], k, n, kinds)
		}
	}
	if !strings.Contains(dom, "forecast not available") {
		t.Error("the page does not say the forecast is not available")
	}
	if n := strings.Count(dom, "<details"); n != 3 {
		t.Errorf("%d collapsible sections, want 3 (by machine, by file, each run)", n)
	}

	// Each type's line is on the overlay of every dtype it measured.
	tab, err := compare.Build(inputs, compare.Options{})
	if err != nil {
		t.Fatal(err)
	}
	seriesRe := regexp.MustCompile(`<g class="series" data-series="([^"]+)">`)
	for _, fig := range overlays {
		caption := regexp.MustCompile(`<figcaption>(\S+) GEMM`).FindStringSubmatch(fig)
		if caption == nil {
			t.Fatalf("overlay without a dtype caption: %.200s", fig)
		}
		dtype := caption[1]
		lines := map[string]bool{}
		for _, m := range seriesRe.FindAllStringSubmatch(fig, -1) {
			lines[strings.ReplaceAll(m[1], "&amp;", "&")] = true
		}
		for _, c := range tab.Columns {
			has := false
			for _, r := range c.Runs {
				for _, x := range r.Measurements {
					has = has || x.Workload == "gemm" && x.DType == dtype && x.Verified
				}
			}
			if has != lines[c.Label] {
				t.Errorf("%s overlay: line of %q present %v, measured %v", dtype, c.Label, lines[c.Label], has)
			}
		}
		if len(lines) < 1 {
			t.Errorf("%s overlay has no line", dtype)
		}
	}

	// The numbers under the overlays are those of the files: per type and
	// configuration, the median over the type's runs of each run's median
	// device, sustained runs only where the type has them.
	throughput := fallbackValues(t, dom, "throughput")
	gpus := fallbackValues(t, dom, "gpus")
	block := fallbackValues(t, dom, "block")
	checked := 0
	for _, c := range tab.Columns {
		type acc struct{ sus, burst []float64 }
		perKey := map[string]*acc{}
		for _, r := range c.Runs {
			perDev := map[string]map[bool]map[string][]float64{}
			for _, x := range r.Measurements {
				if x.Workload != "gemm" || x.FLOPPerSecond <= 0 || !x.Verified {
					continue
				}
				key := fmt.Sprintf("%s|%s|%s|%s", c.Label, x.DType, x.Label, x.Shape)
				if perDev[key] == nil {
					perDev[key] = map[bool]map[string][]float64{}
				}
				b := x.BurstTiming()
				if perDev[key][b] == nil {
					perDev[key][b] = map[string][]float64{}
				}
				perDev[key][b][x.Device] = append(perDev[key][b][x.Device], x.FLOPs/x.Seconds.Median)
			}
			// A run's figure per timing: the median over its devices of
			// each device's median; burst and sustained kept apart.
			for key, byTiming := range perDev {
				if perKey[key] == nil {
					perKey[key] = &acc{}
				}
				for b, devs := range byTiming {
					var ds []float64
					for _, vs := range devs {
						ds = append(ds, medianOf(vs))
					}
					if b {
						perKey[key].burst = append(perKey[key].burst, medianOf(ds))
					} else {
						perKey[key].sus = append(perKey[key].sus, medianOf(ds))
					}
				}
			}
		}
		for key, a := range perKey {
			vs := a.sus
			if len(vs) == 0 {
				vs = a.burst
			}
			if got, ok := throughput[key]; !ok || !near(got, medianOf(vs)) {
				t.Errorf("throughput %s: table %v, files %v", key, got, vs)
			}
			checked++
		}
	}
	for _, m := range tab.Machines {
		for _, x := range m.Measurements {
			switch {
			case x.Workload == "gemm" && x.FLOPPerSecond > 0 && len(m.DeviceIDs) > 1:
				k := fmt.Sprintf("%s|%s|%s|%s", m.Label, x.Device, x.DType, x.Shape)
				if got, ok := gpus[k]; !ok || !near(got, x.FLOPPerSecond) {
					t.Errorf("per-GPU %s: table %v, file %v", k, got, x.FLOPPerSecond)
				}
				checked++
			case x.Workload == "block":
				k := fmt.Sprintf("%s|%s · %s|step", m.Label, x.Device, compare.BlockName(x))
				if got, ok := block[k]; !ok || !near(got, x.Seconds.Median) {
					t.Errorf("block %s: table %v, file %v", k, got, x.Seconds.Median)
				}
				checked++
			}
		}
	}
	// The cost bars: $4 or $5 an hour over the bf16 plateau of the table.
	cost := fallbackValues(t, dom, "cost")
	for i, c := range tab.Columns {
		for _, r := range tab.Rows {
			if r.Name != compare.RowBF16Plateau || r.Cells[i].State != compare.Value {
				continue
			}
			p, _ := fixturePrice(c.Merged())
			want := p.USDPerGPUHour / 3600 / (r.Cells[i].Value * 1e12) * 1e18
			if got, ok := cost[c.Label+"|cost"]; !ok || !near(got, want) {
				t.Errorf("cost bar %s: table %v, want %v", c.Label, got, want)
			}
			checked++
		}
	}
	if checked < 40 || len(throughput) == 0 {
		t.Errorf("checked only %d numbers", checked)
	}

	// The screenshot: a PNG of the whole window.
	shot := filepath.Join(dir, "report.png")
	chromium(t, page, "--window-size=1100,4000", "--screenshot="+shot)
	png, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	if len(png) < 24 || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("screenshot is not a PNG (%d bytes)", len(png))
	}
	if w, h := binary.BigEndian.Uint32(png[16:20]), binary.BigEndian.Uint32(png[20:24]); w != 1100 || h != 4000 || len(png) < 50_000 {
		t.Errorf("screenshot %dx%d, %d bytes: looks blank", w, h, len(png))
	}
	if keep := os.Getenv("FLOPCAST_SCREENSHOT"); keep != "" {
		os.WriteFile(keep, png, 0o644)
	}
}
