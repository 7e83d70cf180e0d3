package nn

import (
	"fmt"
	"math"

	"github.com/snnkit/snnkit/internal/parallel"
	"github.com/snnkit/snnkit/tensor"
)

// QCFS is the quantisation-clip-floor-shift activation of Bu et al. ("Optimal
// ANN-SNN conversion for high-accuracy and ultra-low-latency spiking neural
// networks", ICLR 2022), the ReLU to train an ANN with when it is to run as
// a spiking network at a handful of time steps:
//
//	h(x) = λ · clamp(floor(x/λ · L + 1/2) / L, 0, 1)
//
// L levels, λ trainable (one per layer, or one per channel of [B, C, ...]
// inputs). The floor passes its gradient straight through, so
//
//	∂h/∂x = m,  ∂h/∂λ = clamp(...) − m · x/λ,  m = 1 where 0 ≤ floor(...)/L ≤ 1
//
// (PyTorch's clamp passes the gradient at its bounds too). Each step rounds
// to float32 in the order of the authors' released code (x/λ, ·L, +1/2,
// floor, /L, clamp, ·λ), so outputs equal PyTorch's bit for bit.
//
// Converted, a QCFS layer is an integrate-and-fire population with threshold
// λ whose membrane starts at λ/2: over T steps its spike count times λ/T
// approaches h.
type QCFS struct {
	Levels int
	Lambda *Param // [1], or [C] for one per channel

	in, out, dx tensor.Tensor
	lamGrad     []float64 // per task and λ, summed in task order
}

// NewQCFS returns a QCFS layer of levels levels with every λ set to lambda:
// one λ when channels is 0, else one per channel.
func NewQCFS(levels int, lambda float32, channels int) *QCFS {
	n := max(channels, 1)
	q := &QCFS{Levels: levels, Lambda: newParam("lambda", n)}
	for i := range q.Lambda.Value.Data {
		q.Lambda.Value.Data[i] = lambda
	}
	return q
}

// PerChannel reports whether the layer has one λ per channel.
func (q *QCFS) PerChannel() bool {
	return len(q.Lambda.Value.Shape) == 1 && q.Lambda.Value.Shape[0] > 1
}

// Params returns λ.
func (q *QCFS) Params() []*Param { return []*Param{q.Lambda} }

// OutShape returns the input shape; a per-channel λ needs the channels first.
func (q *QCFS) OutShape(in []int) ([]int, error) {
	if q.PerChannel() && (len(in) == 0 || in[0] != q.Lambda.Value.Shape[0]) {
		return nil, fmt.Errorf("%s: input %v does not have %d channels first", q, in, q.Lambda.Value.Shape[0])
	}
	return append([]int(nil), in...), nil
}

// check rejects settings the formula cannot take: no levels, and λ that is
// not a positive finite number (training can drive it there).
func (q *QCFS) check() error {
	if q.Levels < 1 {
		return fmt.Errorf("%s: levels %d must be at least 1", q, q.Levels)
	}
	for c, l := range q.Lambda.Value.Data {
		if !(l > 0) || math.IsInf(float64(l), 0) {
			return fmt.Errorf("%s: lambda[%d] = %v must be a positive finite number", q, c, l)
		}
	}
	return nil
}

// geometry returns the number of λ and the elements that share one in a
// row (inner) for input x; a single λ covers everything.
func (q *QCFS) geometry(x *tensor.Tensor) (lams, inner int, err error) {
	if len(x.Shape) < 1 {
		return 0, 0, fmt.Errorf("%s: input has no batch dimension", q)
	}
	if _, err := q.OutShape(x.Shape[1:]); err != nil {
		return 0, 0, err
	}
	if !q.PerChannel() {
		return 1, len(x.Data), nil
	}
	return q.Lambda.Value.Shape[0], tensor.Numel(x.Shape[2:]), nil
}

// quantise is h for one element, rounding as PyTorch does; it also returns
// the clamp's input, whose range decides where gradients pass.
func (q *QCFS) quantise(x, lam float32) (y, c float32) {
	l := float32(q.Levels)
	u := x / lam
	u = u * l
	u = u + 0.5
	c = float32(math.Floor(float64(u))) / l
	k := c
	if k < 0 {
		k = 0
	} else if k > 1 {
		k = 1
	}
	return k * lam, c
}

// Forward computes h(x).
func (q *QCFS) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	if err := q.check(); err != nil {
		return nil, err
	}
	lams, inner, err := q.geometry(x)
	if err != nil {
		return nil, err
	}
	if train {
		q.in.Resize(x.Shape...)
		copy(q.in.Data, x.Data)
	}
	q.out.Resize(x.Shape...)
	lam := q.Lambda.Value.Data
	forElems(len(x.Data), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			q.out.Data[i], _ = q.quantise(x.Data[i], lam[i/inner%lams])
		}
	})
	return &q.out, nil
}

// Backward passes the gradient through the floor unchanged and adds λ's
// gradient, summed per sample group in a fixed order (the same whatever
// the number of threads).
func (q *QCFS) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad(dy, &q.out, q.String()); err != nil {
		return nil, err
	}
	if !tensor.SameShape(q.in.Shape, dy.Shape) {
		return nil, fmt.Errorf("%s: Backward needs a Forward in training mode", q)
	}
	lams, inner, err := q.geometry(&q.in)
	if err != nil {
		return nil, err
	}
	if needDX {
		q.dx.Resize(dy.Shape...)
	}
	batch := dy.Shape[0]
	per := len(dy.Data) / max(batch, 1)
	tasks := (batch + imageGroup - 1) / imageGroup
	q.lamGrad = append(q.lamGrad[:0], make([]float64, tasks*lams)...)
	lam, l := q.Lambda.Value.Data, float32(q.Levels)
	parallel.Run(tasks, func(t int) {
		g := q.lamGrad[t*lams : (t+1)*lams]
		for i := t * imageGroup * per; i < min((t+1)*imageGroup, batch)*per; i++ {
			k := i / inner % lams
			_, c := q.quantise(q.in.Data[i], lam[k])
			// PyTorch's chain, in its order: ·λ, clamp, /L, floor (straight
			// through), +1/2, ·L, /λ.
			d := dy.Data[i] * lam[k]
			if !(c >= 0 && c <= 1) {
				d = 0
			}
			d = d / l * l / lam[k]
			if needDX {
				q.dx.Data[i] = d
			}
			// λ appears twice: as the factor (gradient: the clamp's output)
			// and in x/λ (−x/λ² times the gradient reaching x/λ, which is
			// λ times d).
			g[k] += float64(dy.Data[i])*float64(min(max(c, 0), 1)) - float64(d)*float64(q.in.Data[i])/float64(lam[k])
		}
	})
	for t := 0; t < tasks; t++ {
		for k := 0; k < lams; k++ {
			q.Lambda.Grad.Data[k] += float32(q.lamGrad[t*lams+k])
		}
	}
	if !needDX {
		return nil, nil
	}
	return &q.dx, nil
}

// String describes the layer.
func (q *QCFS) String() string {
	if q.PerChannel() {
		return fmt.Sprintf("QCFS(levels=%d, channels=%d)", q.Levels, q.Lambda.Value.Shape[0])
	}
	return fmt.Sprintf("QCFS(levels=%d)", q.Levels)
}
