// Package cpu holds flopcast's CPU implementations: GEMM through gorgonia's
// tensor package on the fastest BLAS found at run time (OpenBLAS, else
// gonum), and the float64 reference every result is checked against.
package cpu
