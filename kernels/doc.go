// Package kernels describes what flopcast computes, independent of any
// hardware: data types, GEMM shapes and their FLOP and byte counts, the
// GEMM shapes of a transformer layer, and the error bound each data type is
// checked against.
//
// Nothing here does I/O or touches a device; the CPU implementations live in
// kernels/cpu and the GPU ones will be CUDA C sources compiled at run time.
package kernels
