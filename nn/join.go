package nn

import (
	"fmt"

	"github.com/snnkit/snnkit/tensor"
)

// Join is an operation of several inputs, the meeting point of branches in
// a network graph: Add (residual connections) and Concat.
type Join interface {
	// Forward computes the output for a batch of each input (all with the
	// same batch size). The result is owned by the join.
	Forward(xs []*tensor.Tensor, train bool) (*tensor.Tensor, error)
	// Backward returns the gradient with respect to each input, given the
	// gradient with respect to the last output. The results are owned by
	// the join (or alias dy).
	Backward(dy *tensor.Tensor) ([]*tensor.Tensor, error)
	// OutShape maps the sample shapes of the inputs to the output's, or
	// explains why they do not fit together.
	OutShape(in [][]int) ([]int, error)
	// String describes the join.
	String() string
}

// Add sums two or more inputs of the same shape (a residual connection,
// torch's x + y).
type Add struct {
	n   int
	out tensor.Tensor
}

// NewAdd returns an Add.
func NewAdd() *Add { return &Add{} }

// OutShape checks that there are at least two inputs of one shape.
func (a *Add) OutShape(in [][]int) ([]int, error) {
	if len(in) < 2 {
		return nil, fmt.Errorf("Add: %d inputs, want at least 2", len(in))
	}
	for _, s := range in[1:] {
		if !tensor.SameShape(s, in[0]) {
			return nil, fmt.Errorf("Add: input shapes %s and %s differ", tensor.ShapeString(in[0]), tensor.ShapeString(s))
		}
	}
	return append([]int(nil), in[0]...), nil
}

// Forward sums the inputs, in input order.
func (a *Add) Forward(xs []*tensor.Tensor, train bool) (*tensor.Tensor, error) {
	shapes := make([][]int, len(xs))
	for i, x := range xs {
		shapes[i] = x.Shape
	}
	if _, err := a.OutShape(shapes); err != nil {
		return nil, err
	}
	a.n = len(xs)
	a.out.Resize(xs[0].Shape...)
	forElems(len(a.out.Data), func(lo, hi int) {
		o := a.out.Data[lo:hi]
		copy(o, xs[0].Data[lo:hi])
		for _, x := range xs[1:] {
			_ = tensor.Add(o, x.Data[lo:hi])
		}
	})
	return &a.out, nil
}

// Backward passes dy to every input.
func (a *Add) Backward(dy *tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkGrad(dy, &a.out, a.String()); err != nil {
		return nil, err
	}
	dxs := make([]*tensor.Tensor, a.n)
	for i := range dxs {
		dxs[i] = dy
	}
	return dxs, nil
}

// String describes the Add.
func (a *Add) String() string { return "Add()" }

// Concat joins inputs along the channel dimension (torch.cat(xs, dim=1)):
// samples [C1, ...], [C2, ...] give [C1+C2, ...]; the other dimensions must
// agree.
type Concat struct {
	sizes  []int   // values per sample of each input
	shapes [][]int // each input's full shape
	out    tensor.Tensor
	dxs    []tensor.Tensor
}

// NewConcat returns a Concat.
func NewConcat() *Concat { return &Concat{} }

// OutShape checks that the inputs agree beyond their first dimension.
func (c *Concat) OutShape(in [][]int) ([]int, error) {
	if len(in) < 1 {
		return nil, fmt.Errorf("Concat: no inputs")
	}
	out := append([]int(nil), in[0]...)
	if len(out) == 0 {
		return nil, fmt.Errorf("Concat: scalar inputs")
	}
	for _, s := range in[1:] {
		if len(s) != len(out) || !tensor.SameShape(s[1:], out[1:]) {
			return nil, fmt.Errorf("Concat: input shapes %s and %s differ beyond the channels", tensor.ShapeString(in[0]), tensor.ShapeString(s))
		}
		out[0] += s[0]
	}
	return out, nil
}

// Forward copies each sample's inputs one after the other.
func (c *Concat) Forward(xs []*tensor.Tensor, train bool) (*tensor.Tensor, error) {
	shapes := make([][]int, len(xs))
	for i, x := range xs {
		if len(x.Shape) < 2 || x.Shape[0] != xs[0].Shape[0] {
			return nil, fmt.Errorf("Concat: input %d has shape %s", i, tensor.ShapeString(x.Shape))
		}
		shapes[i] = x.Shape[1:]
	}
	out, err := c.OutShape(shapes)
	if err != nil {
		return nil, err
	}
	b := xs[0].Shape[0]
	c.sizes, c.shapes = c.sizes[:0], c.shapes[:0]
	total := 0
	for _, x := range xs {
		c.sizes = append(c.sizes, len(x.Data)/b)
		c.shapes = append(c.shapes, append([]int(nil), x.Shape...))
		total += len(x.Data) / b
	}
	c.out.Resize(append([]int{b}, out...)...)
	for s := 0; s < b; s++ {
		o := c.out.Data[s*total : (s+1)*total]
		for i, x := range xs {
			n := c.sizes[i]
			copy(o[:n], x.Data[s*n:(s+1)*n])
			o = o[n:]
		}
	}
	return &c.out, nil
}

// Backward splits dy back into the inputs' parts.
func (c *Concat) Backward(dy *tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkGrad(dy, &c.out, c.String()); err != nil {
		return nil, err
	}
	b := dy.Shape[0]
	total := len(dy.Data) / b
	if len(c.dxs) != len(c.sizes) {
		c.dxs = make([]tensor.Tensor, len(c.sizes))
	}
	res := make([]*tensor.Tensor, len(c.sizes))
	off := 0
	for i, n := range c.sizes {
		c.dxs[i].Resize(c.shapes[i]...)
		for s := 0; s < b; s++ {
			copy(c.dxs[i].Data[s*n:(s+1)*n], dy.Data[s*total+off:s*total+off+n])
		}
		off += n
		res[i] = &c.dxs[i]
	}
	return res, nil
}

// String describes the Concat.
func (c *Concat) String() string { return "Concat(dim=1)" }
