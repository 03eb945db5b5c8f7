package gpu

import (
	"math"
	"slices"
	"testing"

	"github.com/flopcast/flopcast/bench/backend"
)

// simulate computes each rank's output of one collective directly from
// every rank's input (the definition, one term per rank), as a reference
// for the closed forms the NCCL check uses.
func simulate(op backend.CollectiveOp, group []int, l commLayout, seed int64, peerOf func(int) int) map[int][]float32 {
	in := map[int][]float32{}
	for _, r := range group {
		in[r] = make([]float32, l.in)
		fillInput(in[r], r, seed)
	}
	out := map[int][]float32{}
	n := int64(len(group))
	for pos, me := range group {
		o := make([]float32, l.out)
		switch op {
		case backend.AllReduce:
			for _, r := range group {
				for i := range o {
					o[i] += in[r][i]
				}
			}
		case backend.AllGather:
			for j, r := range group {
				copy(o[int64(j)*l.count:], in[r])
			}
		case backend.ReduceScatter:
			for _, r := range group {
				for i := range o {
					o[i] += in[r][int64(pos)*l.count+int64(i)]
				}
			}
		case backend.AllToAll:
			for j := int64(0); j < n; j++ {
				src := group[j]
				copy(o[j*l.count:(j+1)*l.count], in[src][int64(pos)*l.count:int64(pos+1)*l.count])
			}
		case backend.SendRecv:
			copy(o, in[peerOf(me)])
		}
		out[me] = o
	}
	return out
}

// TestCommCheckMatchesDefinition: for every collective over a group of
// four world ranks (not 0..3, so world and group ranks differ), the
// simulated right outputs have no wrong element; one changed element, a
// NaN (never written) and a block from the wrong rank are each counted.
func TestCommCheckMatchesDefinition(t *testing.T) {
	group := []int{1, 4, 6, 9}
	peerOf := func(r int) int { return group[(slices.Index(group, r)+1)%len(group)] }
	const seed = 17
	for _, op := range backend.CollectiveOps {
		l, err := layoutFor(op, 4*4*37, len(group))
		if err != nil {
			t.Fatal(err)
		}
		out := simulate(op, group, l, seed, peerOf)
		for _, me := range group {
			o := out[me]
			if int64(len(o)) != l.out {
				t.Fatalf("%s: %d output elements, layout says %d", op, len(o), l.out)
			}
			if w := countWrong(o, op, group, me, peerOf(me), l, seed); w != 0 {
				t.Errorf("%s rank %d: %d wrong elements in the right output", op, me, w)
			}
			bad := append([]float32(nil), o...)
			bad[len(bad)/2] += 1
			bad[0] = float32(math.NaN())
			if w := countWrong(bad, op, group, me, peerOf(me), l, seed); w != 2 {
				t.Errorf("%s rank %d: %d wrong elements counted, want 2", op, me, w)
			}
			if w := countWrong(o, op, group, me, peerOf(me), l, seed+1); w == 0 {
				t.Errorf("%s rank %d: another seed's expected values match too", op, me)
			}
		}
	}
	// A block from the wrong rank in an all-gather is found.
	l, _ := layoutFor(backend.AllGather, 4*4*64, len(group))
	o := simulate(backend.AllGather, group, l, seed, peerOf)[group[0]]
	copy(o[0:l.count], o[l.count:2*l.count])
	if w := countWrong(o, backend.AllGather, group, group[0], 0, l, seed); w < l.count/2 {
		t.Errorf("swapped all-gather block: %d wrong of %d", w, l.count)
	}
}

// TestCommValuesAreSmallIntegers: inputs are integers in [-4, 4] and
// differ between ranks and along a buffer.
func TestCommValuesAreSmallIntegers(t *testing.T) {
	seen := map[float32]bool{}
	same := 0
	for i := int64(0); i < 1000; i++ {
		v := commValue(3, i, 5)
		if v != float32(math.Trunc(float64(v))) || v < -4 || v > 4 {
			t.Fatalf("commValue(3, %d) = %v", i, v)
		}
		seen[v] = true
		if v == commValue(4, i, 5) {
			same++
		}
	}
	if len(seen) != 9 {
		t.Errorf("%d distinct values, want 9", len(seen))
	}
	if same > 200 {
		t.Errorf("ranks 3 and 4 agree on %d of 1000 elements", same)
	}
}

// TestCommLayout: nccl-tests' counts per collective; too small is refused.
func TestCommLayout(t *testing.T) {
	cases := []struct {
		op             backend.CollectiveOp
		bytes          int64
		n              int
		in, out, count int64
	}{
		{backend.AllReduce, 1 << 20, 8, 1 << 18, 1 << 18, 1 << 18},
		{backend.AllGather, 1 << 20, 8, 1 << 15, 1 << 18, 1 << 15},
		{backend.ReduceScatter, 1 << 20, 8, 1 << 18, 1 << 15, 1 << 15},
		{backend.AllToAll, 1 << 20, 8, 1 << 18, 1 << 18, 1 << 15},
		{backend.SendRecv, 1 << 20, 8, 1 << 18, 1 << 18, 1 << 18},
		{backend.AllGather, 100, 3, 8, 24, 8},
	}
	for _, c := range cases {
		l, err := layoutFor(c.op, c.bytes, c.n)
		if err != nil || l != (commLayout{c.in, c.out, c.count}) {
			t.Errorf("layoutFor(%s, %d, %d) = %+v, %v; want {%d %d %d}", c.op, c.bytes, c.n, l, err, c.in, c.out, c.count)
		}
	}
	if _, err := layoutFor(backend.AllGather, 8, 4); err == nil {
		t.Error("8 bytes over 4 ranks accepted")
	}
	if _, err := layoutFor("broadcast", 1024, 2); err == nil {
		t.Error("unknown collective accepted")
	}
}
