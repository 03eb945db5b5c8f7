package kernels

import (
	"strings"
	"testing"
)

func TestParseShape(t *testing.T) {
	cases := []struct {
		in   string
		want GEMMShape
		err  string
	}{
		{"1024", Square(1024), ""},
		{" 4096x512x1024 ", GEMMShape{4096, 512, 1024}, ""},
		{"8X16X32", GEMMShape{8, 16, 32}, ""},
		{"0", GEMMShape{}, "m must be > 0"},
		{"-5", GEMMShape{}, "m must be > 0"},
		{"16x0x16", GEMMShape{}, "n must be > 0"},
		{"abc", GEMMShape{}, "not a number"},
		{"1.5", GEMMShape{}, "not a number"},
		{"16x16", GEMMShape{}, "want N or MxNxK"},
		{"1x2x3x4", GEMMShape{}, "want N or MxNxK"},
		{"2000000", GEMMShape{}, "must be <= 1048576"},
		{"", GEMMShape{}, "not a number"},
		{"99999999999999999999", GEMMShape{}, "not a number"},
	}
	for _, c := range cases {
		got, err := ParseShape(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseShape(%q) err = %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseShape(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestParseShapes(t *testing.T) {
	got, err := ParseShapes("512,1024,64x32x16")
	if err != nil || len(got) != 3 || got[2] != (GEMMShape{64, 32, 16}) {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"", "512,", ",512", "512,,1024", "512,0"} {
		if _, err := ParseShapes(bad); err == nil {
			t.Errorf("ParseShapes(%q) accepted", bad)
		}
	}
}

func FuzzParseShapes(f *testing.F) {
	for _, s := range []string{"512", "1024,2048", "64x32x16", "0", "-1", "1x", "x", "1,2x3x4", "1048576"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		shapes, err := ParseShapes(in)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		for _, s := range shapes {
			if s.Validate() != nil || s.FLOPs() <= 0 {
				t.Fatalf("%q gave invalid shape %v", in, s)
			}
			back, err := ParseShape(s.String())
			if err != nil || back != s {
				t.Fatalf("%v does not round-trip: %v %v", s, back, err)
			}
		}
	})
}

func TestFLOPsAndBytes(t *testing.T) {
	s := GEMMShape{M: 4096, N: 1024, K: 512}
	if got, want := s.FLOPs(), 2.0*4096*1024*512; got != want {
		t.Errorf("FLOPs = %v, want %v", got, want)
	}
	if got, want := s.Bytes(FP32), int64(4*(4096*512+512*1024+4096*1024)); got != want {
		t.Errorf("Bytes(fp32) = %d, want %d", got, want)
	}
	if got, want := s.Bytes(BF16), s.Bytes(FP32)/2; got != want {
		t.Errorf("Bytes(bf16) = %d, want %d", got, want)
	}
	big := Square(MaxDim)
	if big.FLOPs() != 2*float64(MaxDim)*float64(MaxDim)*float64(MaxDim) || big.Bytes(FP64) <= 0 {
		t.Errorf("largest shape overflows: %v %v", big.FLOPs(), big.Bytes(FP64))
	}
	if ai := Square(1024).ArithmeticIntensity(FP32); ai < 170 || ai > 171 {
		t.Errorf("intensity of 1024³ fp32 = %v, want 2·1024/12 ≈ 170.7", ai)
	}
}

func TestParseDTypes(t *testing.T) {
	got, err := ParseDTypes("fp32, FP64,float32,bf16")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != FP32 || got[1] != FP64 || got[2] != BF16 {
		t.Errorf("got %v", got)
	}
	for _, bad := range []string{"", "fp12", "fp32,", "int8"} {
		if _, err := ParseDTypes(bad); err == nil {
			t.Errorf("ParseDTypes(%q) accepted", bad)
		}
	}
	for _, d := range AllDTypes() {
		back, err := ParseDType(d.String())
		if err != nil || back != d || d.Size() == 0 || RelErrorBound(d) <= 0 {
			t.Errorf("%v: parse %v %v, size %d, bound %v", d, back, err, d.Size(), RelErrorBound(d))
		}
	}
}

func TestLayerGEMMs(t *testing.T) {
	// Llama 3 8B: hidden 4096, 32 heads, 8 KV heads, SwiGLU 14336.
	l := Layer{Hidden: 4096, Heads: 32, KVHeads: 8, FFN: 14336, Gated: true, Tokens: 8192}
	gs, err := l.GEMMs()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]GEMMShape{
		"qkv":      {8192, 4096 + 2*8*128, 4096},
		"attn_out": {8192, 4096, 4096},
		"mlp_up":   {8192, 2 * 14336, 4096},
		"mlp_down": {8192, 4096, 14336},
	}
	var flops float64
	for _, g := range gs {
		if g.Shape != want[g.Name] {
			t.Errorf("%s = %v, want %v", g.Name, g.Shape, want[g.Name])
		}
		flops += g.Shape.FLOPs()
	}
	// Forward FLOPs of the projections are 2 × tokens × their weights.
	weights := 4096.0*6144 + 4096*4096 + 3*4096*14336
	if flops != 2*8192*weights {
		t.Errorf("projection FLOPs %v, want 2·tokens·weights %v", flops, 2*8192*weights)
	}
	bad := []Layer{{}, {Hidden: 100, Heads: 3, KVHeads: 1, FFN: 1, Tokens: 1}, {Hidden: 64, Heads: 4, KVHeads: 3, FFN: 1, Tokens: 1}}
	for _, b := range bad {
		if _, err := b.GEMMs(); err == nil {
			t.Errorf("%+v accepted", b)
		}
	}
}

func TestUniformNeverZero(t *testing.T) {
	r := NewRand(1)
	d := make([]float32, 1<<16)
	FillUniform32(r, d)
	var sum float64
	for _, v := range d {
		if v == 0 || v < -1 || v >= 1 {
			t.Fatalf("value %v out of (−1, 1) \\ {0}", v)
		}
		sum += float64(v)
	}
	if mean := sum / float64(len(d)); mean > 0.02 || mean < -0.02 {
		t.Errorf("mean %v, want ≈ 0", mean)
	}
	a, b := make([]float64, 8), make([]float64, 8)
	FillUniform64(NewRand(5), a)
	FillUniform64(NewRand(5), b)
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same seed gave different inputs")
		}
	}
}
