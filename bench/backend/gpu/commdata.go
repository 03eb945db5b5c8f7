package gpu

import (
	"fmt"
	"math"
	"slices"

	"github.com/flopcast/flopcast/bench/backend"
)

// The NCCL communicator's data: float32 small integers, so every sum over
// ranks is exact (|value| ≤ 4, exact while 4·ranks < 2^24) and every
// output element has one right value, checked exactly. Element i of world
// rank r's input is ((mix(i)+seed) + mix(r)) mod 9 − 4: no short period in
// i, so a shifted or misplaced block shows, and the sum over a group of
// ranks takes nine counts, not one term per rank, to check.

// mix is SplitMix64's finaliser.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func elemKey(i, seed int64) uint64 { return (mix(uint64(i)) + uint64(seed)) % 9 }
func rankKey(r int) uint64         { return mix(uint64(r)+0x5bd1e995) % 9 }

// commValue is element i of world rank r's input for a size seeded by seed:
// an integer in [-4, 4].
func commValue(r int, i int64, seed int64) float32 {
	return float32(int64((elemKey(i, seed)+rankKey(r))%9) - 4)
}

// groupSums returns, for each element key k, the sum over group of the
// value a rank with it has: the all-reduce of element i is
// groupSums[elemKey(i)].
func groupSums(group []int) [9]float32 {
	var s [9]float32
	for _, r := range group {
		rk := rankKey(r)
		for k := uint64(0); k < 9; k++ {
			s[k] += float32(int64((k+rk)%9) - 4)
		}
	}
	return s
}

// commLayout is how a CommRequest's Bytes become NCCL element counts (as
// nccl-tests counts them): in and out are the elements of the input and
// output buffers on each rank, count the count passed to NCCL.
type commLayout struct {
	in, out, count int64
}

// layoutFor sizes one request over n ranks of float32 elements; Bytes is
// rounded down to a whole number of elements per rank, and a size too
// small to give every rank one element is refused.
func layoutFor(op backend.CollectiveOp, bytes int64, n int) (commLayout, error) {
	elems := bytes / 4
	per := elems / int64(n)
	switch op {
	case backend.AllReduce, backend.SendRecv:
		if elems < 1 {
			return commLayout{}, fmt.Errorf("%s of %d bytes: less than one float32", op, bytes)
		}
		return commLayout{in: elems, out: elems, count: elems}, nil
	case backend.AllGather:
		if per < 1 {
			return commLayout{}, fmt.Errorf("%s of %d bytes over %d ranks: less than one float32 per rank", op, bytes, n)
		}
		return commLayout{in: per, out: per * int64(n), count: per}, nil
	case backend.ReduceScatter:
		if per < 1 {
			return commLayout{}, fmt.Errorf("%s of %d bytes over %d ranks: less than one float32 per rank", op, bytes, n)
		}
		return commLayout{in: per * int64(n), out: per, count: per}, nil
	case backend.AllToAll:
		if per < 1 {
			return commLayout{}, fmt.Errorf("%s of %d bytes over %d ranks: less than one float32 per rank", op, bytes, n)
		}
		return commLayout{in: per * int64(n), out: per * int64(n), count: per}, nil
	}
	return commLayout{}, fmt.Errorf("collective %q is not known", op)
}

// fillInput writes world rank me's input.
func fillInput(dst []float32, me int, seed int64) {
	for i := range dst {
		dst[i] = commValue(me, int64(i), seed)
	}
}

// expectedOutput returns element i of the output on the rank at position
// pos of the group (world ranks in group-rank order), given the layout
// and, for send/recv, the peer.
func expectedOutput(op backend.CollectiveOp, group []int, sums *[9]float32, pos, peer int, l commLayout, i int64, seed int64) float32 {
	switch op {
	case backend.AllReduce:
		return sums[elemKey(i, seed)]
	case backend.AllGather:
		return commValue(group[i/l.count], i%l.count, seed)
	case backend.ReduceScatter:
		return sums[elemKey(int64(pos)*l.count+i, seed)]
	case backend.AllToAll:
		return commValue(group[i/l.count], int64(pos)*l.count+i%l.count, seed)
	case backend.SendRecv:
		return commValue(peer, i, seed)
	}
	return float32(math.NaN())
}

// countWrong compares every output element with its exact value and
// returns how many differ (a NaN, from an element never written, differs).
func countWrong(out []float32, op backend.CollectiveOp, group []int, me, peer int, l commLayout, seed int64) int64 {
	var wrong int64
	sums := groupSums(group)
	pos := slices.Index(group, me)
	for i, v := range out {
		if v != expectedOutput(op, group, &sums, pos, peer, l, int64(i), seed) {
			wrong++
		}
	}
	return wrong
}
