package kernels

import (
	"math"
	"testing"
)

func f32(bits uint32) float32 { return math.Float32frombits(bits) }

func TestBF16KnownValues(t *testing.T) {
	cases := []struct {
		in   float32
		want uint16
	}{
		{1, 0x3f80}, {-2, 0xc000}, {0, 0x0000}, {float32(math.Copysign(0, -1)), 0x8000},
		{f32(0x40490fdb), 0x4049}, // pi: rounds down
		{f32(0x3f808000), 0x3f80}, // tie, even below
		{f32(0x3f818000), 0x3f82}, // tie, even above
		{f32(0x3f808001), 0x3f81}, // just above the tie
		{f32(0x7f7fffff), 0x7f80}, // max float32 rounds to infinity
		{float32(math.Inf(-1)), 0xff80},
		{f32(0x7fc00000), 0x7fc0}, {f32(0x7f800001), 0x7fc0}, {f32(0xff800001), 0xffc0}, // NaN stays NaN
		{f32(0x00000001), 0x0000}, // smallest subnormal flushes by rounding
	}
	for _, c := range cases {
		if got := BF16FromFloat32(c.in); got != c.want {
			t.Errorf("BF16FromFloat32(%#08x) = %#04x, want %#04x", math.Float32bits(c.in), got, c.want)
		}
	}
	for h := 0; h < 1<<16; h++ {
		f := BF16ToFloat32(uint16(h))
		if f != f {
			continue
		}
		if got := BF16FromFloat32(f); got != uint16(h) {
			t.Fatalf("bf16 %#04x does not round-trip: %#04x", h, got)
		}
	}
}

func TestFP16KnownValues(t *testing.T) {
	cases := []struct {
		in   float32
		want uint16
	}{
		{1, 0x3c00}, {-2, 0xc000}, {0.5, 0x3800}, {65504, 0x7bff},
		{65519, 0x7bff}, {65520, 0x7c00}, // the tie above the largest finite goes to infinity
		{f32(0x3dcccccd), 0x2e66},             // 0.1
		{1.0 / 3, 0x3555},                     // 0.333
		{float32(math.Ldexp(1, -14)), 0x0400}, // smallest normal
		{float32(math.Ldexp(1, -24)), 0x0001}, // smallest subnormal
		{float32(math.Ldexp(1, -25)), 0x0000}, // tie with zero: even
		{float32(math.Ldexp(1.5, -25)), 0x0001},
		{float32(math.Ldexp(3, -25)), 0x0002},      // tie between 1 and 2 units: even
		{float32(math.Ldexp(1023.5, -24)), 0x0400}, // rounds up into the normals
		{1 + float32(math.Ldexp(1, -11)), 0x3c00},  // tie, even below
		{1 + float32(math.Ldexp(3, -11)), 0x3c02},  // tie, even above
		{float32(math.Copysign(0, -1)), 0x8000},
		{float32(math.Inf(1)), 0x7c00}, {float32(math.Inf(-1)), 0xfc00},
		{float32(math.NaN()), 0x7e00}, {f32(0xff800001), 0xfe00},
		{1e-10, 0x0000}, {1e10, 0x7c00},
	}
	for _, c := range cases {
		if got := FP16FromFloat32(c.in); got != c.want {
			t.Errorf("FP16FromFloat32(%g) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	for h, want := range map[uint16]float32{0x3c00: 1, 0x0001: float32(math.Ldexp(1, -24)), 0x7bff: 65504, 0x8000: 0, 0xfc00: float32(math.Inf(-1))} {
		if got := FP16ToFloat32(h); got != want {
			t.Errorf("FP16ToFloat32(%#04x) = %g, want %g", h, got, want)
		}
	}
	// Every finite value round-trips, and the midpoint between neighbours
	// rounds to the one with the even encoding.
	for h := 0; h < 0x7c00; h++ {
		f := FP16ToFloat32(uint16(h))
		if got := FP16FromFloat32(f); got != uint16(h) {
			t.Fatalf("fp16 %#04x does not round-trip: %#04x", h, got)
		}
		if got := FP16FromFloat32(-f); got != uint16(h)|0x8000 {
			t.Fatalf("fp16 -%#04x does not round-trip: %#04x", h, got)
		}
		if h+1 < 0x7c00 {
			mid := float32((float64(f) + float64(FP16ToFloat32(uint16(h+1)))) / 2)
			want := uint16(h)
			if h&1 == 1 {
				want = uint16(h + 1)
			}
			if got := FP16FromFloat32(mid); got != want {
				t.Fatalf("midpoint of %#04x and %#04x rounds to %#04x, want %#04x", h, h+1, got, want)
			}
		}
	}
}

func TestFP8E4M3KnownValues(t *testing.T) {
	cases := []struct {
		in   float32
		want uint8
	}{
		{1, 0x38}, {-2, 0xc0}, {448, 0x7e}, {-448, 0xfe}, {240, 0x77},
		{449, 0x7e}, {464, 0x7e}, {500, 0x7e}, {1e9, 0x7e}, // saturate
		{float32(math.Inf(1)), 0x7e}, {float32(math.Inf(-1)), 0xfe},
		{float32(math.NaN()), 0x7f}, {f32(0xffc00000), 0xff},
		{float32(math.Ldexp(1, -6)), 0x08}, // smallest normal
		{float32(math.Ldexp(1, -9)), 0x01}, // smallest subnormal
		{float32(math.Ldexp(7, -9)), 0x07},
		{float32(math.Ldexp(1, -10)), 0x00}, // tie with zero: even
		{float32(math.Ldexp(1.5, -10)), 0x01},
		{float32(math.Ldexp(3, -10)), 0x02},  // tie between 1 and 2 units: even
		{float32(math.Ldexp(15, -10)), 0x08}, // tie between 7 units and the smallest normal: even
		{1.0625, 0x38}, {1.1875, 0x3a},       // ties
		{0.1, 0x1d}, {f32(0x00000001), 0x00}, {float32(math.Copysign(0, -1)), 0x80},
	}
	for _, c := range cases {
		if got := FP8E4M3FromFloat32(c.in); got != c.want {
			t.Errorf("FP8E4M3FromFloat32(%g) = %#02x, want %#02x", c.in, got, c.want)
		}
	}
	for x, want := range map[uint8]float32{0x7e: 448, 0x01: float32(math.Ldexp(1, -9)), 0x08: float32(math.Ldexp(1, -6)), 0x38: 1, 0xb8: -1, 0x77: 240} {
		if got := FP8E4M3ToFloat32(x); got != want {
			t.Errorf("FP8E4M3ToFloat32(%#02x) = %g, want %g", x, got, want)
		}
	}
	for _, x := range []uint8{0x7f, 0xff} {
		if v := FP8E4M3ToFloat32(x); v == v {
			t.Errorf("FP8E4M3ToFloat32(%#02x) = %g, want NaN", x, v)
		}
	}
	for x := 0; x < 256; x++ {
		if x&0x7f == 0x7f {
			continue
		}
		if got := FP8E4M3FromFloat32(FP8E4M3ToFloat32(uint8(x))); got != uint8(x) {
			t.Errorf("fp8 %#02x does not round-trip: %#02x", x, got)
		}
	}
}

func TestRoundTF32(t *testing.T) {
	cases := []struct{ in, want uint32 }{
		{0x3f800000, 0x3f800000},
		{0x3f801000, 0x3f800000}, // tie, even below
		{0x3f803000, 0x3f804000}, // tie, even above
		{0x3f801001, 0x3f802000},
		{0x7f800000, 0x7f800000}, {0x7fc00001, 0x7fc00001},
	}
	for _, c := range cases {
		if got := math.Float32bits(RoundTF32(f32(c.in))); got != c.want {
			t.Errorf("RoundTF32(%#08x) = %#08x, want %#08x", c.in, got, c.want)
		}
	}
}

func TestQuantizeAndMatrices(t *testing.T) {
	if Quantize(FP8E4M3, 1000) != 448 || Quantize(BF16, f32(0x3f818000)) != BF16ToFloat32(0x3f82) || Quantize(FP32, 0.1) != 0.1 {
		t.Error("Quantize picks the wrong rounding")
	}
	if !math.IsInf(float64(Quantize(FP16, 65520)), 1) {
		t.Error("fp16 65520 is not infinite")
	}
	// 2x3 matrix [[1 2 3] [4 5 6]] in each storage.
	vals := []float32{1, 2, 3, 4, 5, 6}
	bf, fp := make([]uint16, 6), make([]uint16, 6)
	rowF8, colF8 := make([]uint8, 6), make([]uint8, 6)
	for i, v := range vals {
		bf[i], fp[i], rowF8[i] = BF16FromFloat32(v), FP16FromFloat32(v), FP8E4M3FromFloat32(v)
		r, c := i/3, i%3
		colF8[c*2+r] = FP8E4M3FromFloat32(v)
	}
	for _, m := range []Matrix{RowMajorBF16{bf, 2, 3}, RowMajorFP16{fp, 2, 3}, FP8Matrix{rowF8, 2, 3, false}, FP8Matrix{colF8, 2, 3, true}} {
		if r, c := m.Dims(); r != 2 || c != 3 || m.At(1, 0) != 4 || m.At(0, 2) != 3 || m.At(1, 2) != 6 {
			t.Errorf("%T reads wrong elements", m)
		}
	}
}

func TestPoisonBitsAreNaNInEveryType(t *testing.T) {
	p := uint32(PoisonBits32)
	if v := math.Float32frombits(p); v == v {
		t.Error("fp32 poison is not NaN")
	}
	if v := math.Float64frombits(uint64(p)<<32 | uint64(p)); v == v {
		t.Error("fp64 poison is not NaN")
	}
	h := uint16(p)
	if v := FP16ToFloat32(h); v == v {
		t.Error("fp16 poison is not NaN")
	}
	if v := BF16ToFloat32(h); v == v {
		t.Error("bf16 poison is not NaN")
	}
}
