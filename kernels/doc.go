// Package kernels describes what flopcast computes, independent of any
// hardware: data types, GEMM shapes and their FLOP and byte counts, the
// GEMM shapes of a transformer layer, and the error bound each data type is
// checked against.
//
// Model shapes come from embedded Hugging Face config.json files
// (models/*.json) or a user's own (ParseHFConfig; LoadModelConfig is the one
// function here that reads a file). Nothing here touches a device; the CPU
// implementations live in kernels/cpu and the GPU ones will be CUDA C
// sources compiled at run time.
package kernels
