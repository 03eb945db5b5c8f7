package nccl

import (
	"math"
	"testing"
	"unsafe"
)

// TestEnumValues pins the ncclResult_t, ncclDataType_t and ncclRedOp_t
// values used (nccl.h of NCCL 2.18.3; unchanged since 2.0 except that
// ncclInProgress, 7, arrived in 2.14 and ncclAvg in 2.10).
func TestEnumValues(t *testing.T) {
	cases := []struct {
		name      string
		got, want int
	}{
		{"ncclSuccess", Success, 0}, {"ncclUnhandledCudaError", UnhandledCudaError, 1},
		{"ncclSystemError", SystemError, 2}, {"ncclInternalError", InternalError, 3},
		{"ncclInvalidArgument", InvalidArgument, 4}, {"ncclInvalidUsage", InvalidUsage, 5},
		{"ncclRemoteError", RemoteError, 6}, {"ncclInProgress", InProgress, 7},
		{"ncclInt8", int(Int8), 0}, {"ncclUint8", int(Uint8), 1}, {"ncclInt32", int(Int32), 2},
		{"ncclUint32", int(Uint32), 3}, {"ncclInt64", int(Int64), 4}, {"ncclUint64", int(Uint64), 5},
		{"ncclFloat16", int(Float16), 6}, {"ncclFloat32", int(Float32), 7}, {"ncclFloat64", int(Float64), 8},
		{"ncclBfloat16", int(BFloat16), 9},
		{"ncclSum", int(Sum), 0}, {"ncclProd", int(Prod), 1}, {"ncclMax", int(Max), 2}, {"ncclMin", int(Min), 3},
		{"ncclAvg", int(Avg), 4},
		{"NCCL_UNIQUE_ID_BYTES", UniqueIDBytes, 128},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	sizes := map[DataType]int64{Int8: 1, Uint8: 1, Float16: 2, BFloat16: 2, Int32: 4, Uint32: 4, Float32: 4, Int64: 8, Uint64: 8, Float64: 8}
	for d, want := range sizes {
		if d.Size() != want {
			t.Errorf("DataType(%d).Size() = %d, want %d", d, d.Size(), want)
		}
	}
}

// TestShimLayout pins the C layout: a 128-byte unique id passed by value,
// a 32-bit ncclResult_t, and ncclConfig_t's fields at nccl.h 2.18.3's
// offsets on LP64 (size_t size at 0, magic 8, version 12, blocking 16,
// cgaClusterSize, minCTAs, maxCTAs 20..31, netName 32, splitShare 40),
// with size set to 44: the bytes of these fields, so a newer NCCL, which
// copies only `size` bytes, keeps its own defaults for fields it added
// after splitShare (trafficClass, commName, ...).
func TestShimLayout(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("layout pinned for LP64 only")
	}
	l := shimLayout
	got := []uintptr{l.uniqueID, l.result, l.offMagic, l.offVersion, l.offBlocking, l.offNetName, l.offSplitShare, l.configSize, l.configStruct}
	want := []uintptr{128, 4, 8, 12, 16, 32, 40, 44, 48}
	names := []string{"sizeof(ncclUniqueId)", "sizeof(ncclResult_t)", "offsetof(magic)", "offsetof(version)", "offsetof(blocking)",
		"offsetof(netName)", "offsetof(splitShare)", "config size field", "sizeof(config struct)"}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%s = %d, want %d", names[i], got[i], want[i])
		}
	}
}

// TestConfigInitializer checks what NCCL_CONFIG_INITIALIZER would set:
// the magic 0xcafebeef, the header's version code (NCCL_VERSION(2,18,3) =
// 21803, at least 2.14 so NCCL honours blocking, at least 2.18 so it reads
// splitShare), every option undefined (INT_MIN, NULL) but blocking.
func TestConfigInitializer(t *testing.T) {
	size, magic, version, block, cga, minC, maxC, split, netNull := configFields(0)
	if size != 44 || magic != 0xcafebeef || version != 21803 || block != 0 {
		t.Errorf("size %d magic %#x version %d blocking %d, want 44 0xcafebeef 21803 0", size, magic, version, block)
	}
	for name, v := range map[string]int{"cgaClusterSize": cga, "minCTAs": minC, "maxCTAs": maxC, "splitShare": split} {
		if v != math.MinInt32 {
			t.Errorf("%s = %d, want NCCL_CONFIG_UNDEF_INT (INT_MIN)", name, v)
		}
	}
	if !netNull {
		t.Error("netName is not NULL")
	}
	if _, _, _, b, _, _, _, _, _ := configFields(1); b != 1 {
		t.Errorf("blocking = %d, want 1", b)
	}
}

// TestSymbolNames pins the exported names bound.
func TestSymbolNames(t *testing.T) {
	want := map[string]string{
		"version": "ncclGetVersion", "uniqueID": "ncclGetUniqueId", "initRank": "ncclCommInitRank",
		"asyncError": "ncclCommGetAsyncError", "abort": "ncclCommAbort", "destroy": "ncclCommDestroy",
		"errString": "ncclGetErrorString", "allReduce": "ncclAllReduce", "allGather": "ncclAllGather",
		"reduceScatter": "ncclReduceScatter", "send": "ncclSend", "recv": "ncclRecv",
		"groupStart": "ncclGroupStart", "groupEnd": "ncclGroupEnd",
	}
	if len(symbols) != len(want) {
		t.Errorf("%d required symbols, want %d", len(symbols), len(want))
	}
	for k, name := range want {
		if got := symbols[k]; len(got) != 1 || got[0] != name {
			t.Errorf("symbols[%q] = %v, want [%s]", k, got, name)
		}
	}
	wantOpt := map[string]string{"initRankConfig": "ncclCommInitRankConfig", "finalize": "ncclCommFinalize",
		"lastError": "ncclGetLastError", "allToAll": "ncclAlltoAll"}
	for k, name := range wantOpt {
		if optional[k] != name {
			t.Errorf("optional[%q] = %q, want %q", k, optional[k], name)
		}
	}
}
