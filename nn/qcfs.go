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
	// Penalty, when set, adds Penalty·Σh(x)/B to the loss of a batch of B
	// (an L1 penalty on the activations: the gradient Penalty/B reaches
	// every output), the way to train for fewer spikes (synaptic
	// operations) after conversion.
	Penalty float32

	in, out, dx tensor.Tensor
	clampIn     []float32 // training: floor(x/λ·L + 1/2)/L per element, for Backward
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

// floor32 is math.Floor for a float32 without the call: a conversion to
// int32 and back where that is exact (|u| < 2^23; beyond, u is whole
// already, and NaN stays NaN). u is never -0 here (x/λ·L + 1/2 rounds
// -1/2 + 1/2 to +0), the one input where it would differ.
func floor32(u float32) float32 {
	if !(u > -1<<23 && u < 1<<23) {
		return u
	}
	f := float32(int32(u))
	if f > u {
		f--
	}
	return f
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
		if cap(q.clampIn) < len(x.Data) {
			q.clampIn = make([]float32, len(x.Data))
		}
		q.clampIn = q.clampIn[:len(x.Data)]
	}
	q.out.Resize(x.Shape...)
	lam := q.Lambda.Value.Data
	// Runs of inner elements share a λ: no division per element to find it.
	q.runs(len(x.Data), inner, lams, func(lo, hi, k int) {
		out, in, lk, l := q.out.Data[lo:hi], x.Data[lo:hi], lam[k], float32(q.Levels)
		var c []float32
		if train {
			c = q.clampIn[lo:hi]
		}
		// h, rounded step by step as PyTorch does, and the clamp's input,
		// which decides where gradients pass (written out here: a call per
		// element cost as much as the arithmetic).
		for i, v := range in {
			u := v / lk
			u = u * l
			u = u + 0.5
			ci := floor32(u) / l
			kk := ci
			if kk < 0 {
				kk = 0
			} else if kk > 1 {
				kk = 1
			}
			out[i] = kk * lk
			if c != nil {
				c[i] = ci
			}
		}
	})
	return &q.out, nil
}

// runs calls fn on [lo, hi) pieces of n elements, each within one run of
// inner elements sharing λ k, in parallel. A single λ splits n evenly.
func (q *QCFS) runs(n, inner, lams int, fn func(lo, hi, k int)) {
	if lams == 1 {
		forElems(n, func(lo, hi int) { fn(lo, hi, 0) })
		return
	}
	rows := n / inner
	per := max(1, elemChunk/max(inner, 1))
	parallel.Chunks(rows, per, func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			fn(r*inner, (r+1)*inner, r%lams)
		}
	})
}

// Backward passes the gradient through the floor unchanged and adds λ's
// gradient, summed per sample group in a fixed order (the same whatever
// the number of threads).
func (q *QCFS) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad(dy, &q.out, q.String()); err != nil {
		return nil, err
	}
	if !tensor.SameShape(q.in.Shape, dy.Shape) || len(q.clampIn) != len(dy.Data) {
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
	pen := q.Penalty / float32(max(batch, 1))
	parallel.Run(tasks, func(t int) {
		g := q.lamGrad[t*lams : (t+1)*lams]
		lo, hi := t*imageGroup*per, min((t+1)*imageGroup, batch)*per
		for r := lo; r < hi; {
			k := r / inner % lams
			end := min(hi, (r/inner+1)*inner)
			lk := lam[k]
			inv := 1 / float64(lk)
			var sums [4]float64 // four chains of additions, not one
			cs, dys, xs := q.clampIn[r:end], dy.Data[r:end], q.in.Data[r:end]
			var dxs []float32
			if needDX {
				dxs = q.dx.Data[r:end]
			}
			for i, c := range cs {
				// PyTorch's chain, in its order: ·λ, clamp, /L, floor
				// (straight through), +1/2, ·L, /λ.
				dyi := dys[i] + pen
				d, kk := dyi*lk, c
				switch {
				case c < 0:
					d, kk = 0, 0
				case c > 1:
					d, kk = 0, 1
				case c != c: // NaN
					d = 0
				}
				d = d / l * l / lk
				if dxs != nil {
					dxs[i] = d
				}
				// λ appears twice: as the factor (gradient: the clamp's
				// output) and in x/λ (−x/λ² times the gradient reaching
				// x/λ, which is λ times d).
				sums[i&3] += float64(dyi)*float64(kk) - float64(d)*float64(xs[i])*inv
			}
			g[k] += (sums[0] + sums[1]) + (sums[2] + sums[3])
			r = end
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
	return fmt.Sprintf("QCFS(levels=%d, lambda=%.4g)", q.Levels, q.Lambda.Value.Data[0])
}
