package nccl

/*
#include <stddef.h>
#include "nccl_shim.h"

enum {
	flop_off_magic = offsetof(flop_nccl_config, magic),
	flop_off_version = offsetof(flop_nccl_config, version),
	flop_off_blocking = offsetof(flop_nccl_config, blocking),
	flop_off_netName = offsetof(flop_nccl_config, netName),
	flop_off_splitShare = offsetof(flop_nccl_config, splitShare),
};
*/
import "C"

// shimLayout is how the C compiler lays out the declarations in
// nccl_shim.h; the tests compare it with nccl.h (NCCL 2.18.3) on LP64.
var shimLayout = struct {
	uniqueID, configSize, configStruct, result                   uintptr
	offMagic, offVersion, offBlocking, offNetName, offSplitShare uintptr
}{
	uniqueID: C.sizeof_flop_nccl_id, configSize: uintptr(C.flop_nccl_config_size),
	configStruct: C.sizeof_flop_nccl_config, result: C.sizeof_ncclRes,
	offMagic: C.flop_off_magic, offVersion: C.flop_off_version, offBlocking: C.flop_off_blocking,
	offNetName: C.flop_off_netName, offSplitShare: C.flop_off_splitShare,
}

// configFields returns the values flop_nccl_config_init sets, for the
// tests: size, magic, version, blocking, the undefined int options and
// whether netName is NULL.
func configFields(blocking int) (size uintptr, magic, version uint32, block, cga, minCTAs, maxCTAs, split int, netNameNull bool) {
	var c C.flop_nccl_config
	C.flop_nccl_config_init(&c, C.int(blocking))
	return uintptr(c.size), uint32(c.magic), uint32(c.version), int(c.blocking), int(c.cgaClusterSize),
		int(c.minCTAs), int(c.maxCTAs), int(c.splitShare), c.netName == nil
}
