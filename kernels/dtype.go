package kernels

import (
	"fmt"
	"strings"
)

// DType is an element type a workload runs in.
type DType int

// The data types flopcast knows. CPU backends run FP64 and FP32; the GPU
// backend adds the tensor-core types.
const (
	FP64 DType = iota + 1
	FP32
	TF32
	BF16
	FP16
	FP8E4M3
)

var dtypeNames = map[DType]string{
	FP64:    "fp64",
	FP32:    "fp32",
	TF32:    "tf32",
	BF16:    "bf16",
	FP16:    "fp16",
	FP8E4M3: "fp8",
}

// dtypeAliases maps every accepted spelling to its DType.
var dtypeAliases = map[string]DType{
	"fp64": FP64, "float64": FP64, "f64": FP64, "double": FP64,
	"fp32": FP32, "float32": FP32, "f32": FP32, "float": FP32,
	"tf32": TF32,
	"bf16": BF16, "bfloat16": BF16,
	"fp16": FP16, "float16": FP16, "f16": FP16, "half": FP16,
	"fp8": FP8E4M3, "fp8e4m3": FP8E4M3, "e4m3": FP8E4M3,
}

// AllDTypes lists every known data type in a stable order.
func AllDTypes() []DType { return []DType{FP64, FP32, TF32, BF16, FP16, FP8E4M3} }

// String returns the canonical lower-case name, e.g. "fp32".
func (d DType) String() string {
	if s, ok := dtypeNames[d]; ok {
		return s
	}
	return fmt.Sprintf("dtype(%d)", int(d))
}

// Size returns the size in bytes of one input element of type d (TF32
// operands are stored as 4-byte floats).
func (d DType) Size() int {
	switch d {
	case FP64:
		return 8
	case FP32, TF32:
		return 4
	case BF16, FP16:
		return 2
	case FP8E4M3:
		return 1
	}
	return 0
}

// ParseDType parses one data type name such as "fp32" or "bf16".
func ParseDType(s string) (DType, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	if d, ok := dtypeAliases[name]; ok {
		return d, nil
	}
	return 0, fmt.Errorf("unknown dtype %q (known: fp64, fp32, tf32, bf16, fp16, fp8)", s)
}

// ParseDTypes parses a comma-separated list of data types, dropping
// duplicates and keeping the order given.
func ParseDTypes(list string) ([]DType, error) {
	var out []DType
	seen := map[DType]bool{}
	for _, part := range strings.Split(list, ",") {
		if strings.TrimSpace(part) == "" {
			return nil, fmt.Errorf("empty dtype in %q", list)
		}
		d, err := ParseDType(part)
		if err != nil {
			return nil, err
		}
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out, nil
}
