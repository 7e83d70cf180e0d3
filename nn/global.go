package nn

import (
	"fmt"
	"math"
	"strings"

	"github.com/snnkit/snnkit/tensor"
)

// GlobalAvgPool2d averages each channel over its whole plane: [C, H, W] to
// [C, 1, 1] (ONNX GlobalAveragePool, torch's AdaptiveAvgPool2d(1)).
type GlobalAvgPool2d struct {
	in  []int
	out tensor.Tensor
	dx  tensor.Tensor
}

// NewGlobalAvgPool2d returns a GlobalAvgPool2d.
func NewGlobalAvgPool2d() *GlobalAvgPool2d { return &GlobalAvgPool2d{} }

// Params returns nil.
func (g *GlobalAvgPool2d) Params() []*Param { return nil }

// OutShape returns [C, 1, 1].
func (g *GlobalAvgPool2d) OutShape(in []int) ([]int, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("%v: input sample shape %s, want [C, H, W]", g, tensor.ShapeString(in))
	}
	return []int{in[0], 1, 1}, nil
}

// Forward averages every plane, summing in float64.
func (g *GlobalAvgPool2d) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	if _, err := batchOf(x, g.String(), 4); err != nil {
		return nil, err
	}
	b, c, plane := x.Shape[0], x.Shape[1], x.Shape[2]*x.Shape[3]
	g.in = append(g.in[:0], x.Shape...)
	g.out.Resize(b, c, 1, 1)
	for i := 0; i < b*c; i++ {
		var s float64
		for _, v := range x.Data[i*plane : (i+1)*plane] {
			s += float64(v)
		}
		g.out.Data[i] = float32(s / float64(plane))
	}
	return &g.out, nil
}

// Backward spreads each gradient evenly over its plane.
func (g *GlobalAvgPool2d) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad(dy, &g.out, g.String()); err != nil {
		return nil, err
	}
	if !needDX {
		return nil, nil
	}
	plane := g.in[2] * g.in[3]
	g.dx.Resize(g.in...)
	for i, d := range dy.Data {
		v := d / float32(plane)
		row := g.dx.Data[i*plane : (i+1)*plane]
		for j := range row {
			row[j] = v
		}
	}
	return &g.dx, nil
}

// String describes the layer like PyTorch's AdaptiveAvgPool2d(1).
func (g *GlobalAvgPool2d) String() string { return "AdaptiveAvgPool2d(output_size=1)" }

// Identity returns its input (torch.nn.Identity, ONNX Identity; also what a
// Dropout is in evaluation).
type Identity struct{ in []int }

// NewIdentity returns an Identity.
func NewIdentity() *Identity { return &Identity{} }

// Params returns nil.
func (d *Identity) Params() []*Param { return nil }

// OutShape returns the input shape.
func (d *Identity) OutShape(in []int) ([]int, error) { return append([]int(nil), in...), nil }

// Forward returns x.
func (d *Identity) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	d.in = append(d.in[:0], x.Shape...)
	return x, nil
}

// Backward returns dy.
func (d *Identity) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if d.in == nil {
		return nil, fmt.Errorf("Identity: Backward called before Forward")
	}
	return dy, nil
}

// String describes the Identity.
func (d *Identity) String() string { return "Identity()" }

// Normalize is a fixed per-channel affine map of the input, (x - mean) /
// std as torchvision's Normalize: mean and std have one value per channel
// (dimension 0 of a sample), or one value for all. They are buffers (saved
// in a state_dict as "mean" and "std"), not trained.
type Normalize struct {
	Mean, Std *Param
	in        []int
	out       tensor.Tensor
	dx        tensor.Tensor
}

// NewNormalize returns a Normalize with the given per-channel values; std
// must be positive and finite, mean finite, and both of one length.
func NewNormalize(mean, std []float32) (*Normalize, error) {
	if len(mean) == 0 || len(mean) != len(std) {
		return nil, fmt.Errorf("normalize: %d means and %d standard deviations", len(mean), len(std))
	}
	for i := range mean {
		if math.IsNaN(float64(mean[i])) || math.IsInf(float64(mean[i]), 0) || !(std[i] > 0) || math.IsInf(float64(std[i]), 0) {
			return nil, fmt.Errorf("normalize: channel %d: mean %v, std %v (want a finite mean and a positive std)", i, mean[i], std[i])
		}
	}
	n := &Normalize{Mean: &Param{Name: "mean", Value: tensor.New(len(mean))}, Std: &Param{Name: "std", Value: tensor.New(len(std))}}
	copy(n.Mean.Value.Data, mean)
	copy(n.Std.Value.Data, std)
	return n, nil
}

// Params returns nil: the statistics are buffers.
func (n *Normalize) Params() []*Param { return nil }

// Check refuses statistics loaded from a file that NewNormalize would
// refuse: a mean that is not finite, a std that is not a positive number,
// or lengths that differ.
func (n *Normalize) Check() error {
	_, err := NewNormalize(n.Mean.Value.Data, n.Std.Value.Data)
	return err
}

// Buffers returns mean and std.
func (n *Normalize) Buffers() []*Param { return []*Param{n.Mean, n.Std} }

// OutShape checks that the channels match the statistics.
func (n *Normalize) OutShape(in []int) ([]int, error) {
	c := len(n.Mean.Value.Data)
	if len(in) == 0 || (c != 1 && in[0] != c) {
		return nil, fmt.Errorf("%v: input sample shape %s, want %d channels", n, tensor.ShapeString(in), c)
	}
	return append([]int(nil), in...), nil
}

// Forward computes (x - mean) / std per channel, in float32 as torch does.
func (n *Normalize) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	if len(x.Shape) < 2 {
		return nil, fmt.Errorf("%v: input has shape %s", n, tensor.ShapeString(x.Shape))
	}
	if _, err := n.OutShape(x.Shape[1:]); err != nil {
		return nil, err
	}
	n.in = append(n.in[:0], x.Shape...)
	n.out.Resize(x.Shape...)
	mean, std := n.Mean.Value.Data, n.Std.Value.Data
	c := x.Shape[1]
	plane := len(x.Data) / (x.Shape[0] * c)
	for i := 0; i < x.Shape[0]*c; i++ {
		k := 0
		if len(mean) > 1 {
			k = i % c
		}
		for j := i * plane; j < (i+1)*plane; j++ {
			n.out.Data[j] = (x.Data[j] - mean[k]) / std[k]
		}
	}
	return &n.out, nil
}

// Backward divides the gradient by std.
func (n *Normalize) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad(dy, &n.out, n.String()); err != nil {
		return nil, err
	}
	if !needDX {
		return nil, nil
	}
	n.dx.Resize(dy.Shape...)
	std := n.Std.Value.Data
	c := dy.Shape[1]
	plane := len(dy.Data) / (dy.Shape[0] * c)
	for i := 0; i < dy.Shape[0]*c; i++ {
		k := 0
		if len(std) > 1 {
			k = i % c
		}
		for j := i * plane; j < (i+1)*plane; j++ {
			n.dx.Data[j] = dy.Data[j] / std[k]
		}
	}
	return &n.dx, nil
}

// String describes the Normalize like torchvision's.
func (n *Normalize) String() string {
	f := func(v []float32) string {
		p := make([]string, len(v))
		for i, x := range v {
			p[i] = fmt.Sprint(x)
		}
		return "(" + strings.Join(p, ", ") + ")"
	}
	return fmt.Sprintf("Normalize(mean=%s, std=%s)", f(n.Mean.Value.Data), f(n.Std.Value.Data))
}

// Scale multiplies its input by a constant (not trained): the factor
// weight normalisation puts on a branch that carries activations to a join
// without a weighted layer of its own, so that every input of the join has
// the same scale.
type Scale struct {
	Factor float32
	out    tensor.Tensor
	dx     tensor.Tensor
}

// NewScale returns a Scale by factor.
func NewScale(factor float32) *Scale { return &Scale{Factor: factor} }

// Params returns nil.
func (s *Scale) Params() []*Param { return nil }

// OutShape returns the input shape.
func (s *Scale) OutShape(in []int) ([]int, error) { return append([]int(nil), in...), nil }

// Forward computes Factor·x.
func (s *Scale) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	s.out.Resize(x.Shape...)
	for i, v := range x.Data {
		s.out.Data[i] = s.Factor * v
	}
	return &s.out, nil
}

// Backward computes Factor·dy.
func (s *Scale) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad(dy, &s.out, s.String()); err != nil {
		return nil, err
	}
	if !needDX {
		return nil, nil
	}
	s.dx.Resize(dy.Shape...)
	for i, v := range dy.Data {
		s.dx.Data[i] = s.Factor * v
	}
	return &s.dx, nil
}

// String describes the Scale.
func (s *Scale) String() string { return fmt.Sprintf("Scale(factor=%g)", s.Factor) }
