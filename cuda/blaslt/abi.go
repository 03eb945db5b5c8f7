package blaslt

/*
#include <stddef.h>
#include "lt_shim.h"
enum {
	flop_lt_ws_at = offsetof(flop_lt_heuristic, workspaceSize),
	flop_lt_state_at = offsetof(flop_lt_heuristic, state),
	flop_lt_waves_at = offsetof(flop_lt_heuristic, wavesCount),
	flop_lt_reserved_at = offsetof(flop_lt_heuristic, reserved),
};
*/
import "C"

// The sizes and offsets of the structs that cross to cuBLASLt, as the C
// compiler lays out flopcast's declarations. cuBLASLt's ABI fixes them:
// cublasLtMatmulAlgo_t is 64 bytes and cublasLtMatmulHeuristicResult_t 96
// (algo, size_t workspaceSize at 64, status at 72, float wavesCount at 76,
// int reserved[4] at 80). The tests compare these with those numbers.
const (
	abiAlgoSize             = C.sizeof_flop_lt_algo
	abiHeuristicSize        = C.sizeof_flop_lt_heuristic
	abiHeuristicWorkspaceAt = C.flop_lt_ws_at
	abiHeuristicStateAt     = C.flop_lt_state_at
	abiHeuristicWavesAt     = C.flop_lt_waves_at
	abiHeuristicReservedAt  = C.flop_lt_reserved_at
)
