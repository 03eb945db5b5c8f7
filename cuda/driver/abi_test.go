package driver

import (
	"slices"
	"sort"
	"testing"
	"unsafe"
)

// TestSymbolNames pins the exported names bound for every driver call.
// Each entry lists only names whose C signature is the one the trampoline
// in cuda_shim.c calls (checked against cuda.h of CUDA 12.6, whose
// "#define cuX cuX_v2" block names the current export, and against the
// CUDA 12.8/13 additions). A _v2 is not always an alias: CUDA 13 adds
// cuCtxSynchronize_v2(CUcontext), a different function from
// cuCtxSynchronize(void), so "ctxSync" must never try it; the same holds
// for cuCtxCreate_v2/_v3/_v4, which this package does not bind at all.
func TestSymbolNames(t *testing.T) {
	want := map[string][]string{
		"init":          {"cuInit"},
		"driverVersion": {"cuDriverGetVersion"},
		"deviceCount":   {"cuDeviceGetCount"},
		"deviceGet":     {"cuDeviceGet"},
		"deviceName":    {"cuDeviceGetName"},
		"deviceUUID":    {"cuDeviceGetUuid_v2", "cuDeviceGetUuid"},
		"deviceAttr":    {"cuDeviceGetAttribute"},
		"totalMem":      {"cuDeviceTotalMem_v2", "cuDeviceTotalMem"},
		"ctxRetain":     {"cuDevicePrimaryCtxRetain"},
		"ctxRelease":    {"cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease"},
		"ctxSetCurrent": {"cuCtxSetCurrent"},
		"ctxSync":       {"cuCtxSynchronize"},
		"memInfo":       {"cuMemGetInfo_v2", "cuMemGetInfo"},
		"memAlloc":      {"cuMemAlloc_v2", "cuMemAlloc"},
		"memFree":       {"cuMemFree_v2", "cuMemFree"},
		"hostAlloc":     {"cuMemHostAlloc"},
		"hostFree":      {"cuMemFreeHost"},
		"htod":          {"cuMemcpyHtoD_v2", "cuMemcpyHtoD"},
		"dtoh":          {"cuMemcpyDtoH_v2", "cuMemcpyDtoH"},
		"htodAsync":     {"cuMemcpyHtoDAsync_v2", "cuMemcpyHtoDAsync"},
		"dtohAsync":     {"cuMemcpyDtoHAsync_v2", "cuMemcpyDtoHAsync"},
		"dtodAsync":     {"cuMemcpyDtoDAsync_v2", "cuMemcpyDtoDAsync"},
		"memset16":      {"cuMemsetD16Async"}, // the async memsets have no _v2
		"memset32":      {"cuMemsetD32Async"},
		"streamCreate":  {"cuStreamCreate"},
		"streamDestroy": {"cuStreamDestroy_v2", "cuStreamDestroy"},
		"streamSync":    {"cuStreamSynchronize"},
		"streamQuery":   {"cuStreamQuery"},
		"eventCreate":   {"cuEventCreate"},
		"eventDestroy":  {"cuEventDestroy_v2", "cuEventDestroy"},
		"eventRecord":   {"cuEventRecord"},
		"eventQuery":    {"cuEventQuery"},
		"eventSync":     {"cuEventSynchronize"},
		// CUDA 12.8 adds cuEventElapsedTime_v2 with the same signature
		// (float *ms, CUevent, CUevent); CUDA 13's header drops the
		// original.
		"eventElapsed": {"cuEventElapsedTime_v2", "cuEventElapsedTime"},
		"moduleLoad":   {"cuModuleLoadData"},
		"moduleUnload": {"cuModuleUnload"},
		"moduleFunc":   {"cuModuleGetFunction"},
		"launch":       {"cuLaunchKernel"},
		"errName":      {"cuGetErrorName"},
		"errString":    {"cuGetErrorString"},
	}
	keys := func(m map[string][]string) []string {
		var k []string
		for n := range m {
			k = append(k, n)
		}
		sort.Strings(k)
		return k
	}
	if got, w := keys(symbols), keys(want); !slices.Equal(got, w) {
		t.Fatalf("bound keys %v\nwant %v", got, w)
	}
	for k, names := range want {
		if !slices.Equal(symbols[k], names) {
			t.Errorf("%s binds %v, want %v", k, symbols[k], names)
		}
	}
}

// TestAttributeValues pins the CUdevice_attribute values read (cuda.h,
// CUdevice_attribute_enum; unchanged through CUDA 13, which drops
// cudaDeviceProp.clockRate but keeps the attribute).
func TestAttributeValues(t *testing.T) {
	cases := []struct {
		a    Attr
		want int
		name string
	}{
		{AttrClockRateKHz, 13, "CLOCK_RATE"},
		{AttrMultiprocessors, 16, "MULTIPROCESSOR_COUNT"},
		{AttrECCEnabled, 32, "ECC_ENABLED"},
		{AttrPCIBusID, 33, "PCI_BUS_ID"},
		{AttrPCIDeviceID, 34, "PCI_DEVICE_ID"},
		{AttrMemoryClockKHz, 36, "MEMORY_CLOCK_RATE"},
		{AttrMemoryBusWidthBits, 37, "GLOBAL_MEMORY_BUS_WIDTH"},
		{AttrL2CacheBytes, 38, "L2_CACHE_SIZE"},
		{AttrPCIDomainID, 50, "PCI_DOMAIN_ID"},
		{AttrComputeMajor, 75, "COMPUTE_CAPABILITY_MAJOR"},
		{AttrComputeMinor, 76, "COMPUTE_CAPABILITY_MINOR"},
	}
	for _, c := range cases {
		if int(c.a) != c.want {
			t.Errorf("CU_DEVICE_ATTRIBUTE_%s = %d, want %d", c.name, c.a, c.want)
		}
	}
	if notReady != 600 {
		t.Errorf("CUDA_ERROR_NOT_READY = %d, want 600", notReady)
	}
}

// TestShimTypeWidths checks the C types the trampolines pass: CUdeviceptr
// is 64-bit unsigned on LP64, CUdevice and CUresult are 32-bit ints, the
// handles pointers.
func TestShimTypeWidths(t *testing.T) {
	got := []uintptr{shimSizes.devptr, shimSizes.device, shimSizes.result, shimSizes.handle, shimSizes.sizeT}
	want := []uintptr{8, 4, 4, unsafe.Sizeof(uintptr(0)), 8}
	if !slices.Equal(got, want) {
		t.Errorf("sizes of CUdeviceptr, CUdevice, CUresult, CUstream, size_t = %v, want %v", got, want)
	}
	if !shimSizes.devptrUnsigned {
		t.Error("CUdeviceptr is signed")
	}
}
