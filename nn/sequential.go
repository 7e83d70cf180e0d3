package nn

import (
	"fmt"
	"strings"

	"github.com/snnkit/snnkit/tensor"
)

// Model is a whole network as evaluation needs it: a Sequential, or a graph
// (package graph).
type Model interface {
	Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error)
	Params() []*Param
}

// Trainable is a whole network as training needs it: a Sequential, or a
// graph (package graph). Backward takes the gradient of the loss with
// respect to the last Forward's output and accumulates parameter
// gradients.
type Trainable interface {
	Model
	Backward(dy *tensor.Tensor) error
	ZeroGrad()
}

// Sequential runs its layers in order. Its parameters are addressed like
// PyTorch's nn.Sequential: "<index>.<name>", e.g. "0.weight".
type Sequential struct {
	Layers []Layer
}

// NewSequential returns a Sequential of the given layers.
func NewSequential(layers ...Layer) *Sequential { return &Sequential{Layers: layers} }

// Forward runs x through every layer.
func (s *Sequential) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	for i, l := range s.Layers {
		var err error
		if x, err = l.Forward(x, train); err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
	}
	return x, nil
}

// Backward propagates dy from the last layer to the first, accumulating
// parameter gradients. It does not compute the gradient of the input.
func (s *Sequential) Backward(dy *tensor.Tensor) error {
	for i := len(s.Layers) - 1; i >= 0; i-- {
		var err error
		if dy, err = s.Layers[i].Backward(dy, i > 0); err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
	}
	return nil
}

// Params returns every trainable parameter, in state_dict order.
func (s *Sequential) Params() []*Param {
	var ps []*Param
	for _, l := range s.Layers {
		ps = append(ps, l.Params()...)
	}
	return ps
}

// OutShape maps a sample shape through every layer.
func (s *Sequential) OutShape(in []int) ([]int, error) {
	shape := in
	for i, l := range s.Layers {
		var err error
		if shape, err = l.OutShape(shape); err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
	}
	return shape, nil
}

// NamedTensor is an entry of a state_dict.
type NamedTensor struct {
	Name  string
	Param *Param
}

// StateDict lists parameters and buffers with PyTorch's names and order:
// by layer, parameters before buffers.
func (s *Sequential) StateDict() []NamedTensor {
	var out []NamedTensor
	for i, l := range s.Layers {
		for _, p := range l.Params() {
			out = append(out, NamedTensor{fmt.Sprintf("%d.%s", i, p.Name), p})
		}
		if b, ok := l.(Buffered); ok {
			for _, p := range b.Buffers() {
				out = append(out, NamedTensor{fmt.Sprintf("%d.%s", i, p.Name), p})
			}
		}
	}
	return out
}

// ZeroGrad sets every parameter gradient to zero.
func (s *Sequential) ZeroGrad() {
	for _, p := range s.Params() {
		p.Grad.Zero()
	}
}

// String prints the network like PyTorch's print(model).
func (s *Sequential) String() string {
	var b strings.Builder
	b.WriteString("Sequential(\n")
	for i, l := range s.Layers {
		fmt.Fprintf(&b, "  (%d): %v\n", i, l)
	}
	b.WriteString(")")
	return b.String()
}
