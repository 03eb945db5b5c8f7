package kernels

import (
	"errors"
	"math"
	"testing"
)

func TestSaturatingArithmetic(t *testing.T) {
	cases := []struct {
		name      string
		got, want int64
	}{
		{"small product", MulSat(3, 4, 5), 60},
		{"product at the edge", MulSat(1<<31, 1<<31), 1 << 62},
		{"product one past the edge", MulSat(1<<31, 1<<31, 2), math.MaxInt64},
		{"product of huge", MulSat(math.MaxInt64, 2), math.MaxInt64},
		{"negative factor", MulSat(-5, 7), 0},
		{"zero factor", MulSat(math.MaxInt64, math.MaxInt64, 0), 0},
		{"sum", AddSat(1, 2, 3), 6},
		{"overflowing sum", AddSat(math.MaxInt64-1, 2), math.MaxInt64},
		{"negative term", AddSat(5, -7), 5},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, c.got, c.want)
		}
	}
}

func TestShapeSizesNeverWrap(t *testing.T) {
	// Shapes read from a file are not validated by ParseShape: their
	// sizes saturate instead of wrapping to small or negative numbers.
	s := GEMMShape{M: math.MaxInt64, N: 2, K: 2}
	a, b, c := s.Elements()
	if a != math.MaxInt64 || b != 4 || c != math.MaxInt64 {
		t.Errorf("Elements = %d, %d, %d", a, b, c)
	}
	if got := s.Bytes(FP64); got != math.MaxInt64 {
		t.Errorf("Bytes = %d, want MaxInt64", got)
	}
	big := Square(MaxDim)
	if got, want := big.Bytes(FP64), int64(3)*MaxDim*MaxDim*8; got != want {
		t.Errorf("Bytes(%s fp64) = %d, want %d", big, got, want)
	}
	if _, err := ParseShape("9223372036854775807x2x2"); err == nil {
		t.Error("ParseShape accepted a 2^63-1 dimension")
	}
}

func TestBlockSizesAreBounded(t *testing.T) {
	base := BlockConfig{Arch: Llama, Hidden: 64, Heads: 4, KVHeads: 2, FFN: 128, Seq: 16, Batch: 2}
	cases := []struct {
		name  string
		edit  func(*BlockConfig)
		field string
	}{
		{"seq 2^31 × batch 2^31", func(c *BlockConfig) { c.Seq, c.Batch = 1<<31, 1<<31 }, "seq"},
		{"batch 2^62", func(c *BlockConfig) { c.Batch = 1 << 62 }, "batch"},
		{"hidden above MaxDim", func(c *BlockConfig) { c.Hidden, c.FFN = MaxDim*2, 8 }, "hidden"},
		{"ffn above MaxDim", func(c *BlockConfig) { c.FFN = MaxDim + 1 }, "ffn"},
		{"tokens above MaxBlockTokens", func(c *BlockConfig) { c.Seq, c.Batch = MaxDim, MaxDim }, "seq"},
		{"batch the larger", func(c *BlockConfig) { c.Seq, c.Batch = 1<<13, MaxDim }, "batch"},
	}
	for _, tc := range cases {
		c := base
		tc.edit(&c)
		err := c.Validate()
		var be *BlockConfigError
		if !errors.As(err, &be) || be.Field != tc.field {
			t.Errorf("%s: Validate = %v, want an error naming %s", tc.name, err, tc.field)
		}
	}

	// The largest block Validate accepts: its estimate saturates, never
	// wraps, so a memory check refuses it.
	c := BlockConfig{Arch: GPT, Hidden: MaxDim, Heads: MaxDim, KVHeads: MaxDim, FFN: MaxDim, Seq: 1 << 16, Batch: 1 << 16}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate(%s): %v", c, err)
	}
	m := c.MemoryEstimate(FP64, FP64, AttentionUnfused)
	if m.Activations != math.MaxInt64 || m.Total() != math.MaxInt64 {
		t.Errorf("estimate %+v: want saturated activations and total", m)
	}
	if m.Weights <= 0 || m.OptimizerStates <= 0 {
		t.Errorf("estimate %+v: parts must stay positive", m)
	}
	// Flash attention's count fits: tokens · (7·hidden + ...) exactly.
	flash := c.ActivationElements(AttentionFlash)
	tok := int64(1 << 32)
	want := tok*(7*MaxDim+2*MaxDim+2*MaxDim+4) + tok*MaxDim
	if flash != want {
		t.Errorf("flash activations %d, want %d", flash, want)
	}
}
