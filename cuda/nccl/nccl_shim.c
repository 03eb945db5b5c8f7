#include <limits.h>
#include <string.h>
#include "nccl_shim.h"

// P turns a device address into the pointer NCCL takes.
#define P(x) ((void *)(uintptr_t)(x))

const size_t flop_nccl_config_size = offsetof(flop_nccl_config, splitShare) + sizeof(int);

// flop_nccl_config_init sets what NCCL_CONFIG_INITIALIZER sets (magic
// 0xcafebeef, the header's version, every option undefined: INT_MIN or
// NULL), then blocking.
void flop_nccl_config_init(flop_nccl_config *c, int blocking) {
	memset(c, 0, sizeof(*c));
	c->size = flop_nccl_config_size;
	c->magic = 0xcafebeef;
	c->version = 21803; // NCCL_VERSION(2, 18, 3): the header followed
	c->blocking = blocking;
	c->cgaClusterSize = INT_MIN;
	c->minCTAs = INT_MIN;
	c->maxCTAs = INT_MIN;
	c->netName = NULL;
	c->splitShare = INT_MIN;
}

typedef ncclRes (*pint_fn)(int *);
typedef ncclRes (*uid_fn)(flop_nccl_id *);
typedef ncclRes (*init_fn)(void **, int, flop_nccl_id, int);
typedef ncclRes (*init_config_fn)(void **, int, flop_nccl_id, int, flop_nccl_config *);
typedef ncclRes (*async_fn)(void *, ncclRes *);
typedef ncclRes (*comm_fn)(void *);
typedef ncclRes (*void_fn)(void);
typedef const char *(*str_fn)(ncclRes);
typedef const char *(*last_fn)(void *);
typedef ncclRes (*allreduce_fn)(const void *, void *, size_t, int, int, void *, void *);
typedef ncclRes (*allgather_fn)(const void *, void *, size_t, int, void *, void *);
typedef ncclRes (*sendrecv_fn)(void *, size_t, int, int, void *, void *);

ncclRes flop_nccl_pint(void *f, int *v) { return ((pint_fn)f)(v); }
ncclRes flop_nccl_uid(void *f, flop_nccl_id *id) { return ((uid_fn)f)(id); }
ncclRes flop_nccl_init(void *f, void **comm, int nranks, const flop_nccl_id *id, int rank) {
	return ((init_fn)f)(comm, nranks, *id, rank);
}
ncclRes flop_nccl_init_config(void *f, void **comm, int nranks, const flop_nccl_id *id, int rank, flop_nccl_config *c) {
	return ((init_config_fn)f)(comm, nranks, *id, rank, c);
}
ncclRes flop_nccl_async_error(void *f, void *comm, ncclRes *r) { return ((async_fn)f)(comm, r); }
ncclRes flop_nccl_comm(void *f, void *comm) { return ((comm_fn)f)(comm); }
ncclRes flop_nccl_void(void *f) { return ((void_fn)f)(); }
const char *flop_nccl_str(void *f, ncclRes r) { return ((str_fn)f)(r); }
const char *flop_nccl_last(void *f, void *comm) { return ((last_fn)f)(comm); }
ncclRes flop_nccl_allreduce(void *f, uint64_t send, uint64_t recv, size_t count, int dt, int op, void *comm, void *stream) {
	return ((allreduce_fn)f)(P(send), P(recv), count, dt, op, comm, stream);
}
ncclRes flop_nccl_allgather(void *f, uint64_t send, uint64_t recv, size_t count, int dt, void *comm, void *stream) {
	return ((allgather_fn)f)(P(send), P(recv), count, dt, comm, stream);
}
ncclRes flop_nccl_reducescatter(void *f, uint64_t send, uint64_t recv, size_t count, int dt, int op, void *comm, void *stream) {
	return ((allreduce_fn)f)(P(send), P(recv), count, dt, op, comm, stream);
}
ncclRes flop_nccl_alltoall(void *f, uint64_t send, uint64_t recv, size_t count, int dt, void *comm, void *stream) {
	return ((allgather_fn)f)(P(send), P(recv), count, dt, comm, stream);
}
ncclRes flop_nccl_sendrecv(void *f, uint64_t buf, size_t count, int dt, int peer, void *comm, void *stream) {
	return ((sendrecv_fn)f)(P(buf), count, dt, peer, comm, stream);
}
