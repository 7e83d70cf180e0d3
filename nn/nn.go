// Package nn holds trainable neural-network layers with forward and backward
// passes, a Sequential container addressed like PyTorch's, and the softmax
// cross-entropy loss.
//
// Layers follow PyTorch's semantics, layouts and default initialisation, so
// that a PyTorch state_dict loads into them unchanged:
//
//	rng := rand.New(rand.NewPCG(0, 0))
//	net := nn.NewSequential(
//		nn.NewConv2d(nn.Conv2dConfig{In: 1, Out: 20, Kernel: 5}, rng),
//		nn.NewReLU(),
//		nn.NewAvgPool2d(nn.PoolConfig{Kernel: 2}),
//	)
//	y, err := net.Forward(x, true) // x is [batch, 1, 28, 28]
//
// A layer owns the tensors it returns and reuses them from one batch to the
// next: copy an output that must outlive the next call. Work inside a layer is
// spread over all cores in tasks that depend only on the batch size, so
// results are identical whatever the number of threads.
package nn

import (
	"fmt"

	"github.com/snnkit/snnkit/internal/parallel"
	"github.com/snnkit/snnkit/tensor"
)

// Param is a named tensor of a layer: a trainable parameter with its
// gradient, or a buffer such as BatchNorm's running mean (Grad nil).
type Param struct {
	Name  string
	Value *tensor.Tensor
	Grad  *tensor.Tensor
}

func newParam(name string, shape ...int) *Param {
	return &Param{Name: name, Value: tensor.New(shape...), Grad: tensor.New(shape...)}
}

// Layer is one module of a network.
type Layer interface {
	// Forward computes the layer's output for a batch. train selects
	// training behaviour (batch statistics, dropout) and keeps what Backward
	// needs. The result is owned by the layer.
	Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error)
	// Backward takes the gradient of the loss with respect to the last
	// output, adds parameter gradients into Param.Grad, and returns the
	// gradient with respect to the input when needDX is set.
	Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error)
	// Params lists the trainable parameters (possibly none).
	Params() []*Param
	// OutShape maps the shape of one sample (without the batch dimension)
	// to the shape of its output, or explains why the input does not fit.
	OutShape(in []int) ([]int, error)
	// String describes the layer like PyTorch's print.
	String() string
}

// Buffered is implemented by layers with non-trainable state saved in a
// state_dict, such as BatchNorm2d's running statistics.
type Buffered interface {
	Buffers() []*Param
}

// imageGroup is the number of samples per parallel task inside layers. It is
// a constant so that partial sums do not depend on the number of threads.
const imageGroup = 8

func batchOf(x *tensor.Tensor, layer string, rank int) (int, error) {
	if len(x.Shape) != rank {
		return 0, fmt.Errorf("%s: input has shape %s, want %d dimensions", layer, tensor.ShapeString(x.Shape), rank)
	}
	return x.Shape[0], nil
}

func checkGrad(dy, out *tensor.Tensor, layer string) error {
	if out == nil || len(out.Shape) == 0 {
		return fmt.Errorf("%s: Backward called before Forward", layer)
	}
	if !tensor.SameShape(dy.Shape, out.Shape) {
		return fmt.Errorf("%s: gradient has shape %s, output was %s", layer, tensor.ShapeString(dy.Shape), tensor.ShapeString(out.Shape))
	}
	return nil
}

// elemChunk is the number of elements per parallel task of elementwise work.
const elemChunk = 1 << 15

// forElems runs fn over [0, n) in parallel chunks of elemChunk elements.
func forElems(n int, fn func(lo, hi int)) {
	if n <= elemChunk {
		fn(0, n)
		return
	}
	parallel.Chunks(n, elemChunk, fn)
}

// EnsureBias returns the bias of a Conv2d or Linear, giving it one of zeros
// first if it has none (which changes nothing the layer computes), so that
// a correction can be added to it; nil for any other layer.
func EnsureBias(l Layer) []float32 {
	switch v := l.(type) {
	case *Conv2d:
		if v.Bias == nil {
			v.Config.Bias, v.Bias = true, newParam("bias", v.Config.Out)
		}
		return v.Bias.Value.Data
	case *Linear:
		if v.Bias == nil {
			v.Config.Bias, v.Bias = true, newParam("bias", v.Config.Out)
		}
		return v.Bias.Value.Data
	}
	return nil
}
