package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/snnkit/snnkit/tensor"
)

// ReLU is max(x, 0) elementwise (NaN passes through, as in PyTorch).
type ReLU struct {
	out, dx tensor.Tensor
}

// NewReLU returns a ReLU layer.
func NewReLU() *ReLU { return &ReLU{} }

// Params returns nil.
func (r *ReLU) Params() []*Param { return nil }

// OutShape returns the input shape.
func (r *ReLU) OutShape(in []int) ([]int, error) { return append([]int(nil), in...), nil }

// Forward computes max(x, 0).
func (r *ReLU) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	r.out.Resize(x.Shape...)
	forElems(len(x.Data), func(lo, hi int) {
		_ = tensor.Relu(r.out.Data[lo:hi], x.Data[lo:hi])
	})
	return &r.out, nil
}

// Backward passes the gradient where the output was positive.
func (r *ReLU) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad(dy, &r.out, r.String()); err != nil {
		return nil, err
	}
	if !needDX {
		return nil, nil
	}
	r.dx.Resize(dy.Shape...)
	forElems(len(dy.Data), func(lo, hi int) {
		_ = tensor.ReluGrad(r.dx.Data[lo:hi], dy.Data[lo:hi], r.out.Data[lo:hi])
	})
	return &r.dx, nil
}

// String describes the ReLU as snnkit prints it.
func (r *ReLU) String() string { return "ReLU()" }

// Flatten reshapes [B, ...] to [B, prod(...)] (torch.nn.Flatten with start_dim 1).
type Flatten struct {
	in []int
}

// NewFlatten returns a Flatten layer.
func NewFlatten() *Flatten { return &Flatten{} }

// Params returns nil.
func (f *Flatten) Params() []*Param { return nil }

// OutShape returns [prod(in)].
func (f *Flatten) OutShape(in []int) ([]int, error) { return []int{tensor.Numel(in)}, nil }

// Forward returns a view of x with shape [B, rest].
func (f *Flatten) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	if len(x.Shape) < 1 {
		return nil, fmt.Errorf("Flatten: input has no batch dimension")
	}
	f.in = append(f.in[:0], x.Shape...)
	return x.Reshape(x.Shape[0], tensor.Numel(x.Shape[1:]))
}

// Backward reshapes the gradient back to the input's shape.
func (f *Flatten) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if f.in == nil {
		return nil, fmt.Errorf("Flatten: Backward called before Forward")
	}
	if !needDX {
		return nil, nil
	}
	return dy.Reshape(f.in...)
}

// String describes the Flatten as snnkit prints it.
func (f *Flatten) String() string { return "Flatten(start_dim=1, end_dim=-1)" }

// Dropout zeroes each element with probability P during training and scales
// the rest by 1/(1-P); it is the identity in evaluation.
type Dropout struct {
	P    float64
	rng  *rand.Rand
	mask []float32
	out  tensor.Tensor
	dx   tensor.Tensor
}

// NewDropout returns a Dropout layer drawing its masks from rng (seeded by
// the caller, so training is reproducible). P must be in [0, 1).
func NewDropout(p float64, rng *rand.Rand) *Dropout {
	if rng == nil {
		rng = rand.New(rand.NewPCG(0, 0))
	}
	return &Dropout{P: p, rng: rng}
}

// Params returns nil.
func (d *Dropout) Params() []*Param { return nil }

// OutShape returns the input shape.
func (d *Dropout) OutShape(in []int) ([]int, error) { return append([]int(nil), in...), nil }

// Forward applies the dropout mask in training and returns x otherwise.
func (d *Dropout) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	if !train || d.P == 0 {
		d.mask = d.mask[:0]
		d.out = tensor.Tensor{Shape: x.Shape, Data: x.Data}
		return x, nil
	}
	d.mask = grow(d.mask, len(x.Data))
	d.out.Resize(x.Shape...)
	scale := float32(1 / (1 - d.P))
	for i, v := range x.Data {
		if d.rng.Float64() < d.P {
			d.mask[i] = 0
		} else {
			d.mask[i] = scale
		}
		d.out.Data[i] = v * d.mask[i]
	}
	return &d.out, nil
}

// Backward applies the same mask to the gradient.
func (d *Dropout) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad(dy, &d.out, d.String()); err != nil {
		return nil, err
	}
	if !needDX {
		return nil, nil
	}
	if len(d.mask) == 0 {
		return dy, nil
	}
	d.dx.Resize(dy.Shape...)
	for i, v := range dy.Data {
		d.dx.Data[i] = v * d.mask[i]
	}
	return &d.dx, nil
}

// String describes the Dropout as snnkit prints it.
func (d *Dropout) String() string { return fmt.Sprintf("Dropout(p=%g, inplace=False)", d.P) }
