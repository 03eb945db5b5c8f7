package compare

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/flopcast/flopcast/kernels"
)

// Bounds of a reference run: far beyond any cluster or corpus today, and
// small enough that the forecast's layout search stays quick.
const (
	MaxReferenceGPUs   = 1 << 20
	MaxReferenceTokens = 1e16
)

// ParseReference reads a --reference value, MODEL[:TOKENS[:GPUS]], e.g.
// "llama3-70b:15T:1024"; TOKENS takes a k, M, B/G or T suffix. Parts left
// out keep DefaultReference's.
func ParseReference(s string) (Reference, error) {
	ref := DefaultReference()
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) > 3 {
		return Reference{}, fmt.Errorf("%q: want MODEL[:TOKENS[:GPUS]], e.g. llama3-70b:15T:1024", s)
	}
	m, err := kernels.LookupModel(parts[0])
	if err != nil {
		return Reference{}, err
	}
	ref.Model = m.Name
	if len(parts) > 1 {
		v, err := parseCount(parts[1])
		if err != nil || v <= 0 {
			return Reference{}, fmt.Errorf("tokens %q: want a positive count such as 15T or 300B", parts[1])
		}
		if v > MaxReferenceTokens {
			return Reference{}, fmt.Errorf("tokens %q: more than %s tokens is not a training run this forecast can price", parts[1], SI(MaxReferenceTokens))
		}
		ref.Tokens = v
	}
	if len(parts) > 2 {
		n, err := strconv.Atoi(parts[2])
		if err != nil || n <= 0 {
			return Reference{}, fmt.Errorf("GPUs %q: want a positive whole number", parts[2])
		}
		if n > MaxReferenceGPUs {
			return Reference{}, fmt.Errorf("GPUs %q: more than %d GPUs is not a training run this forecast can price", parts[2], MaxReferenceGPUs)
		}
		ref.GPUs = n
	}
	return ref, nil
}

func parseCount(s string) (float64, error) {
	s = strings.TrimSpace(s)
	mult := 1.0
	if s != "" {
		switch strings.ToUpper(s[len(s)-1:]) {
		case "K":
			mult = 1e3
		case "M":
			mult = 1e6
		case "B", "G":
			mult = 1e9
		case "T":
			mult = 1e12
		}
		if mult != 1 {
			s = s[:len(s)-1]
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("not a number")
	}
	return v * mult, nil
}
