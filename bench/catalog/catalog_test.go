package catalog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultIsSourcedAndDated(t *testing.T) {
	c := Default()
	if c.Date != "2026-11-26" || len(c.GPUs) < 15 || len(c.Instances) < 20 {
		t.Fatalf("catalog %s: %d gpus, %d instances", c.Date, len(c.GPUs), len(c.Instances))
	}
	keys := map[string]bool{}
	for _, s := range c.Sources {
		keys[s.Key] = true
	}
	for _, g := range c.GPUs {
		for _, k := range g.Sources {
			if !keys[k] {
				t.Errorf("gpu %s cites unknown source %q", g.Name, k)
			}
		}
	}
	for _, in := range c.Instances {
		for _, p := range in.Prices {
			if !keys[p.Source] || p.Date == "" {
				t.Errorf("instance %s price %s: source %q date %q", in.Name, p.Kind, p.Source, p.Date)
			}
		}
	}
}

func TestFigures(t *testing.T) {
	c := Default()
	cases := []struct {
		gpu        string
		bf16, mamf float64
		mem        float64
	}{
		{"h100-sxm", 989.4, 794.5, 80},
		{"a100-80gb", 312, 271.2, 80},
		{"b200", 2250, 1745, 180},
		{"gb200", 2500, 1822, 186},
		{"l40s", 362, 0, 48},
	}
	for _, tc := range cases {
		g, err := c.GPU(tc.gpu)
		if err != nil {
			t.Fatal(err)
		}
		if g.PeakTFLOPS["bf16"] != tc.bf16 || g.MAMFTFLOPS["bf16"] != tc.mamf || g.MemoryGB != tc.mem {
			t.Errorf("%s: bf16 %v mamf %v mem %v", tc.gpu, g.PeakTFLOPS["bf16"], g.MAMFTFLOPS["bf16"], g.MemoryGB)
		}
	}
	p5, err := c.Instance("p5.48xlarge")
	if err != nil {
		t.Fatal(err)
	}
	od, ok := p5.FindPrice("on-demand")
	if !ok || od.USDPerHour != 55.04 || od.PerGPUHour(p5) != 6.88 || od.Date != "2026-07-28" || od.Source != "AWS-PRICE" {
		t.Errorf("p5 on-demand %+v", od)
	}
	if p, ok := p5.FindPrice("3y"); !ok || p.USDPerHour != 23.777 {
		t.Errorf("p5 3y %+v", p)
	}
	oci, _ := c.Instance("oci-h100")
	if p, _ := oci.FindPrice("on-demand"); p.PerGPUHour(oci) != 10 {
		t.Errorf("per-GPU price %v", p.PerGPUHour(oci))
	}
}

func TestLookupErrorsListCloseNames(t *testing.T) {
	c := Default()
	if _, err := c.GPU("h100-sxn"); err == nil || !strings.Contains(err.Error(), "h100-sxm") {
		t.Errorf("gpu error %v", err)
	}
	if _, err := c.Instance("p5.48xl"); err == nil || !strings.Contains(err.Error(), "p5.48xlarge") {
		t.Errorf("instance error %v", err)
	}
	if g, ok := c.MatchDevice("NVIDIA H100 80GB HBM3"); !ok || g.Name != "h100-sxm" {
		t.Errorf("match H100: %v %v", g.Name, ok)
	}
	if g, ok := c.MatchDevice("NVIDIA H200 NVL"); !ok || g.Name != "h200-nvl" {
		t.Errorf("match H200 NVL (longest match): %v %v", g.Name, ok)
	}
	if _, ok := c.MatchDevice("Intel(R) Xeon(R) Platinum 8488C"); ok {
		t.Error("a CPU matched a GPU")
	}
}

func TestLoadMergesUserFile(t *testing.T) {
	dir := t.TempDir()
	yamlFile := filepath.Join(dir, "mine.yaml")
	os.WriteFile(yamlFile, []byte(`
date: "2027-01-01"
instances:
  - name: p5.48xlarge
    provider: aws
    gpu: h100-sxm
    gpus: 8
    intra_gbps: 900
    network_gbps: 3200
    sources: [MINE]
    prices:
      - {kind: on-demand, usd_per_hour: 40, date: "2027-01-01", source: MINE}
  - name: my-cluster
    provider: onprem
    gpu: h200
    gpus: 8
    sources: [MINE]
    prices: []
sources:
  - {key: MINE, text: our contract, date: "2027-01-01"}
`), 0o644)
	c, err := Load(yamlFile)
	if err != nil {
		t.Fatal(err)
	}
	p5, _ := c.Instance("p5.48xlarge")
	if p, _ := p5.FindPrice("on-demand"); p.USDPerHour != 40 {
		t.Errorf("override not applied: %+v", p)
	}
	if _, err := c.Instance("my-cluster"); err != nil {
		t.Error(err)
	}
	if _, err := c.GPU("b200"); err != nil {
		t.Error("built-in entries lost:", err)
	}
	bad := []struct{ name, text, want string }{
		{"x.json", `{"gpus": [{"name": "z", "peak_tflops": {"bf16": -1}, "memory_gb": 1, "memory_tbps": 1, "sources": ["S"]}]}`, "must be > 0"},
		{"y.json", `{"instances": [{"name": "i", "gpu": "nope", "gpus": 8}]}`, "unknown gpu"},
		{"z.json", `{"gpus": 5}`, "z.json"},
		{"w.yaml", "instances:\n  - name: q\n    gpu: h100-sxm\n    gpus: 8\n    prices:\n      - {kind: on-demand, usd_per_hour: 3}\n", "date and source"},
		{"v.json", `{"unknown_field": 1}`, "unknown"},
	}
	for _, b := range bad {
		p := filepath.Join(dir, b.name)
		os.WriteFile(p, []byte(b.text), 0o644)
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), b.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line containing %q", b.name, err, b.want)
		}
	}
}
