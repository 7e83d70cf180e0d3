package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/snnkit/snnkit/tensor"
)

// LinearConfig configures a Linear layer like torch.nn.Linear.
type LinearConfig struct {
	In, Out int
	Bias    bool
}

// Linear computes y = x·Wᵀ + b for x [B, In] with weight [Out, In].
type Linear struct {
	Config LinearConfig
	Weight *Param
	Bias   *Param // nil without bias

	x   *tensor.Tensor
	out tensor.Tensor
	dx  tensor.Tensor
}

// NewLinear returns a Linear initialised as PyTorch does (uniform in
// ±1/sqrt(In) for weight and bias). rng may be nil for zero weights.
func NewLinear(cfg LinearConfig, rng *rand.Rand) *Linear {
	l := &Linear{Config: cfg, Weight: newParam("weight", cfg.Out, cfg.In)}
	if cfg.Bias {
		l.Bias = newParam("bias", cfg.Out)
	}
	if rng != nil {
		initUniform(l.Weight.Value.Data, cfg.In, rng)
		if l.Bias != nil {
			initUniform(l.Bias.Value.Data, cfg.In, rng)
		}
	}
	return l
}

// Params returns weight and, if present, bias.
func (l *Linear) Params() []*Param {
	if l.Bias != nil {
		return []*Param{l.Weight, l.Bias}
	}
	return []*Param{l.Weight}
}

// OutShape returns [Out] for an input of [In].
func (l *Linear) OutShape(in []int) ([]int, error) {
	if len(in) != 1 || in[0] != l.Config.In {
		return nil, fmt.Errorf("%v: input sample shape %s, want [%d]", l, tensor.ShapeString(in), l.Config.In)
	}
	return []int{l.Config.Out}, nil
}

// Forward computes x·Wᵀ + b.
func (l *Linear) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	b, err := batchOf(x, l.String(), 2)
	if err != nil {
		return nil, err
	}
	if _, err := l.OutShape(x.Shape[1:]); err != nil {
		return nil, err
	}
	in, out := l.Config.In, l.Config.Out
	l.x = x
	l.out.Resize(b, out)
	if err := tensor.Gemm(false, true, b, out, in, x.Data, in, l.Weight.Value.Data, in, l.out.Data, out, false); err != nil {
		return nil, err
	}
	if l.Bias != nil {
		for i := 0; i < b; i++ {
			row := l.out.Data[i*out : (i+1)*out]
			for j, bv := range l.Bias.Value.Data {
				row[j] += bv
			}
		}
	}
	return &l.out, nil
}

// Backward accumulates dW = dyᵀ·x and db = Σ dy, and returns dx = dy·W.
func (l *Linear) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad(dy, &l.out, l.String()); err != nil {
		return nil, err
	}
	b, in, out := dy.Shape[0], l.Config.In, l.Config.Out
	if err := tensor.Gemm(true, false, out, in, b, dy.Data, out, l.x.Data, in, l.Weight.Grad.Data, in, true); err != nil {
		return nil, err
	}
	if l.Bias != nil {
		db := l.Bias.Grad.Data
		for i := 0; i < b; i++ {
			for j, v := range dy.Data[i*out : (i+1)*out] {
				db[j] += v
			}
		}
	}
	if !needDX {
		return nil, nil
	}
	l.dx.Resize(b, in)
	if err := tensor.Gemm(false, false, b, in, out, dy.Data, out, l.Weight.Value.Data, in, l.dx.Data, in, false); err != nil {
		return nil, err
	}
	return &l.dx, nil
}

// String describes the Linear as snnkit prints it.
func (l *Linear) String() string {
	return fmt.Sprintf("Linear(in_features=%d, out_features=%d, bias=%s)", l.Config.In, l.Config.Out, pyBool(l.Config.Bias))
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}
