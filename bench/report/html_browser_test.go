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
	"sort"
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
	paths := []string{"../compare/testdata/fixture-h100x2.json", "../compare/testdata/fixture-cpu.json"}
	inputs, err := compare.Load(paths)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	var b bytes.Buffer
	if err := WriteHTML(&b, inputs, HTMLOptions{}); err != nil {
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
		if !strings.Contains(f[2], `<table class="fallback"`) {
			t.Errorf("figure %s has no fallback table", f[1])
		}
	}
	if got := len(svgRe.FindAllString(dom, -1)); got != len(figures) {
		t.Errorf("%d charts but %d figures", got, len(figures))
	}
	// Two machines: throughput and roofline each; two GPUs: per-GPU bars;
	// a block; clock, temperature and power for the GPUs, clock and
	// temperature for the CPU.
	want := map[string]int{"throughput": 2, "roofline": 2, "gpus": 1, "block": 1, "state": 5}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%d %s charts, want %d (all: %v)", kinds[k], k, n, kinds)
		}
	}
	if !strings.Contains(dom, "forecast not available") {
		t.Error("the page does not say the forecast is not available")
	}

	// The numbers under the charts are those of the files.
	ms := compare.Machines(inputs)
	throughput := fallbackValues(t, dom, "throughput")
	gpus := fallbackValues(t, dom, "gpus")
	block := fallbackValues(t, dom, "block")
	checked := 0
	for _, m := range ms {
		perKey := map[string][]float64{}
		for _, x := range m.Measurements {
			switch {
			case x.Workload == "gemm" && x.FLOPPerSecond > 0:
				key := fmt.Sprintf("%s|%s|%s|%s", m.Label, x.DType, x.Label, x.Shape)
				perKey[key] = append(perKey[key], x.FLOPs/x.Seconds.Median)
				if len(m.DeviceIDs) > 1 {
					k := fmt.Sprintf("%s|%s|%s|%s", m.Label, x.Device, x.DType, x.Shape)
					if got, ok := gpus[k]; !ok || !near(got, x.FLOPPerSecond) {
						t.Errorf("per-GPU %s: table %v, file %v", k, got, x.FLOPPerSecond)
					}
					checked++
				}
			case x.Workload == "block":
				k := fmt.Sprintf("%s|%s · %s|step", m.Label, x.Device, compare.BlockName(x))
				if got, ok := block[k]; !ok || !near(got, x.Seconds.Median) {
					t.Errorf("block %s: table %v, file %v", k, got, x.Seconds.Median)
				}
				checked++
			}
		}
		for key, vs := range perKey {
			sort.Float64s(vs)
			want := vs[len(vs)/2]
			if len(vs)%2 == 0 {
				want = (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
			}
			if got, ok := throughput[key]; !ok || !near(got, want) {
				t.Errorf("throughput %s: table %v, files %v", key, got, want)
			}
			checked++
		}
	}
	if checked < 35 || len(throughput) == 0 {
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
