// nccl_shim.h: flopcast's own minimal declarations for NCCL (opaque
// communicator and stream handles as pointers, enums and results as ints,
// the 128-byte unique id and the prefix of ncclConfig_t flopcast sets) and
// the C trampolines that call functions bound with dlsym.
#ifndef FLOPCAST_NCCL_SHIM_H
#define FLOPCAST_NCCL_SHIM_H
#include <stddef.h>
#include <stdint.h>

typedef int ncclRes;

// ncclUniqueId: 128 opaque bytes (NCCL_UNIQUE_ID_BYTES), passed by value.
typedef struct { char internal[128]; } flop_nccl_id;

// The ncclConfig_t fields up to splitShare, laid out as nccl.h of NCCL
// 2.18.3 declares them (ncclConfig_v21700). NCCL copies only the first
// `size` bytes of the struct it is given and keeps its own defaults for
// the rest, so setting size to flop_nccl_config_size (the bytes of the
// fields below, without tail padding) stays correct on newer NCCLs, whose
// ncclConfig_t extends this prefix.
typedef struct {
	size_t size;
	unsigned int magic;
	unsigned int version;
	int blocking;
	int cgaClusterSize;
	int minCTAs;
	int maxCTAs;
	const char *netName;
	int splitShare;
} flop_nccl_config;

extern const size_t flop_nccl_config_size;
void flop_nccl_config_init(flop_nccl_config *c, int blocking);

ncclRes flop_nccl_pint(void *f, int *v);
ncclRes flop_nccl_uid(void *f, flop_nccl_id *id);
ncclRes flop_nccl_init(void *f, void **comm, int nranks, const flop_nccl_id *id, int rank);
ncclRes flop_nccl_init_config(void *f, void **comm, int nranks, const flop_nccl_id *id, int rank, flop_nccl_config *c);
ncclRes flop_nccl_async_error(void *f, void *comm, ncclRes *r);
ncclRes flop_nccl_comm(void *f, void *comm);
ncclRes flop_nccl_void(void *f);
const char *flop_nccl_str(void *f, ncclRes r);
const char *flop_nccl_last(void *f, void *comm);
ncclRes flop_nccl_allreduce(void *f, uint64_t send, uint64_t recv, size_t count, int dt, int op, void *comm, void *stream);
ncclRes flop_nccl_allgather(void *f, uint64_t send, uint64_t recv, size_t count, int dt, void *comm, void *stream);
ncclRes flop_nccl_reducescatter(void *f, uint64_t send, uint64_t recv, size_t count, int dt, int op, void *comm, void *stream);
ncclRes flop_nccl_alltoall(void *f, uint64_t send, uint64_t recv, size_t count, int dt, void *comm, void *stream);
ncclRes flop_nccl_sendrecv(void *f, uint64_t buf, size_t count, int dt, int peer, void *comm, void *stream);

#endif
