package block

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// gorgonia's Reshape and Slice return values that share memory with their
// input, and its tape machine, which does not track such sharing, may let a
// later in-place operation overwrite the shared memory while another node
// still needs it: finite differences showed wrong attention gradients with
// them. The block's reshapes, transposes and rotary embedding are therefore
// the two copying operations below.

// permuteOp is y = reshape(transpose(reshape(x, in), axes), out) with y in
// fresh memory. Its gradient is the inverse permutation.
type permuteOp struct {
	inDims int          // dimensions of x
	in     tensor.Shape // x viewed as
	axes   []int        // transpose pattern; nil for none
	out    tensor.Shape // the result's shape
}

// permute applies a permuteOp to x.
func permute(x *G.Node, in tensor.Shape, axes []int, out tensor.Shape) *G.Node {
	return G.Must(G.ApplyOp(permuteOp{inDims: x.Dims(), in: in, axes: axes, out: out}, x))
}

// reshape copies x into the given shape.
func reshape(x *G.Node, out ...int) *G.Node {
	return permute(x, x.Shape().Clone(), nil, tensor.Shape(out))
}

func (op permuteOp) Arity() int { return 1 }

func (op permuteOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(G.TensorType{Dims: op.inDims, Of: a}, G.TensorType{Dims: len(op.out), Of: a})
}

func (op permuteOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("%v: %d inputs", op, len(in))
	}
	s, ok := in[0].(tensor.Shape)
	if ok && s.TotalSize() != op.out.TotalSize() {
		return nil, fmt.Errorf("%v: input shape %v", op, s)
	}
	return op.out.Clone(), nil
}

func (op permuteOp) Do(vals ...G.Value) (G.Value, error) {
	x, ok := vals[0].(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("%v: input %T", op, vals[0])
	}
	c := x.Clone().(*tensor.Dense)
	if err := c.Reshape(op.in...); err != nil {
		return nil, err
	}
	if op.axes != nil {
		t, err := tensor.Transpose(c, op.axes...)
		if err != nil {
			return nil, err
		}
		c = t.(*tensor.Dense)
	}
	if err := c.Reshape(op.out...); err != nil {
		return nil, err
	}
	return c, nil
}

func (op permuteOp) ReturnsPtr() bool      { return false }
func (op permuteOp) CallsExtern() bool     { return false }
func (op permuteOp) OverwritesInput() int  { return -1 }
func (op permuteOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%v", op) }
func (op permuteOp) Hashcode() uint32      { return hashOf(op) }
func (op permuteOp) String() string {
	return fmt.Sprintf("permute%v%v→%v", []int(op.in), op.axes, []int(op.out))
}

func (op permuteOp) DiffWRT(int) []bool { return []bool{true} }

func (op permuteOp) SymDiff(inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	mid := op.in.Clone()
	var inv []int
	if op.axes != nil {
		inv = make([]int, len(op.axes))
		for i, a := range op.axes {
			mid[i] = op.in[a]
			inv[a] = i
		}
	}
	back := permuteOp{inDims: len(op.out), in: mid, axes: inv, out: inputs[0].Shape().Clone()}
	n, err := G.ApplyOp(back, grad)
	return G.Nodes{n}, err
}

// ropeOp rotates every head of x (tokens × heads·headDim) by its token's
// position in rotate-half form, pair (i, i+headDim/2) by angle
// pos·base^(−2i/headDim); inverse rotates the other way, which is the
// gradient, a rotation being orthogonal.
type ropeOp struct {
	seq, heads, hd int
	inverse        bool
	cos, sin       []float64 // seq × headDim/2
}

func newRope(seq, heads, hd int) ropeOp {
	half := hd / 2
	op := ropeOp{seq: seq, heads: heads, hd: hd, cos: make([]float64, seq*half), sin: make([]float64, seq*half)}
	for p := 0; p < seq; p++ {
		for i := 0; i < half; i++ {
			op.sin[p*half+i], op.cos[p*half+i] = math.Sincos(float64(p) * ropeFreq(i, hd))
		}
	}
	return op
}

func (op ropeOp) Arity() int { return 1 }

func (op ropeOp) Type() hm.Type {
	t := G.TensorType{Dims: 2, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t)
}

func (op ropeOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, ok := in[0].(tensor.Shape)
	if !ok || s.Dims() != 2 || s[1] != op.heads*op.hd {
		return nil, fmt.Errorf("%v: input shape %v", op, in[0])
	}
	return s.Clone(), nil
}

func (op ropeOp) Do(vals ...G.Value) (G.Value, error) {
	x, ok := vals[0].(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("%v: input %T", op, vals[0])
	}
	y := x.Clone().(*tensor.Dense)
	switch d := y.Data().(type) {
	case []float32:
		rotate(op, d)
	case []float64:
		rotate(op, d)
	default:
		return nil, fmt.Errorf("%v: dtype %v", op, y.Dtype())
	}
	return y, nil
}

func rotate[T float32 | float64](op ropeOp, v []T) {
	half := op.hd / 2
	sign := 1.0
	if op.inverse {
		sign = -1
	}
	width := op.heads * op.hd
	for t := 0; t < len(v)/width; t++ {
		pos := t % op.seq
		cs, sn := op.cos[pos*half:][:half], op.sin[pos*half:][:half]
		for h := 0; h < op.heads; h++ {
			row := v[t*width+h*op.hd:][:op.hd]
			for i := 0; i < half; i++ {
				c, s := T(cs[i]), T(sign*sn[i])
				a, b := row[i], row[i+half]
				row[i] = a*c - b*s
				row[i+half] = b*c + a*s
			}
		}
	}
}

func (op ropeOp) ReturnsPtr() bool      { return false }
func (op ropeOp) CallsExtern() bool     { return false }
func (op ropeOp) OverwritesInput() int  { return -1 }
func (op ropeOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%v", op) }
func (op ropeOp) Hashcode() uint32      { return hashOf(op) }
func (op ropeOp) String() string {
	return fmt.Sprintf("rope{seq %d, heads %d, hd %d, inverse %v}", op.seq, op.heads, op.hd, op.inverse)
}

func (op ropeOp) DiffWRT(int) []bool { return []bool{true} }

func (op ropeOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	back := op
	back.inverse = !op.inverse
	n, err := G.ApplyOp(back, grad)
	return G.Nodes{n}, err
}

func hashOf(op fmt.Stringer) uint32 {
	h := fnv.New32a()
	fmt.Fprint(h, op.String())
	return h.Sum32()
}
