package nn

import (
	"fmt"
	"math"

	"github.com/snnkit/snnkit/internal/parallel"
	"github.com/snnkit/snnkit/tensor"
)

// BatchNorm2d normalises each channel of NCHW input like
// torch.nn.BatchNorm2d(num_features, eps=1e-5, momentum=0.1, affine=True):
// in training with the batch's statistics (and updates the running ones with
// the unbiased variance), in evaluation with the running statistics.
type BatchNorm2d struct {
	Features int
	Eps      float64
	Momentum float64

	Weight, Bias                      *Param
	RunningMean, RunningVar, NumBatch *Param

	x       *tensor.Tensor
	train   bool
	xhat    tensor.Tensor
	invStd  []float64
	out, dx tensor.Tensor
}

// NewBatchNorm2d returns a BatchNorm2d with weight 1, bias 0, running mean 0
// and running variance 1.
func NewBatchNorm2d(features int) *BatchNorm2d {
	b := &BatchNorm2d{Features: features, Eps: 1e-5, Momentum: 0.1,
		Weight: newParam("weight", features), Bias: newParam("bias", features),
		RunningMean: &Param{Name: "running_mean", Value: tensor.New(features)},
		RunningVar:  &Param{Name: "running_var", Value: tensor.New(features)},
		NumBatch:    &Param{Name: "num_batches_tracked", Value: tensor.New()},
	}
	for i := 0; i < features; i++ {
		b.Weight.Value.Data[i] = 1
		b.RunningVar.Value.Data[i] = 1
	}
	return b
}

// Params returns weight and bias.
func (b *BatchNorm2d) Params() []*Param { return []*Param{b.Weight, b.Bias} }

// Buffers returns running_mean, running_var and num_batches_tracked.
func (b *BatchNorm2d) Buffers() []*Param { return []*Param{b.RunningMean, b.RunningVar, b.NumBatch} }

// OutShape returns the input shape.
func (b *BatchNorm2d) OutShape(in []int) ([]int, error) {
	if len(in) != 3 || in[0] != b.Features {
		return nil, fmt.Errorf("%v: input sample shape %s, want [%d, H, W]", b, tensor.ShapeString(in), b.Features)
	}
	return append([]int(nil), in...), nil
}

// CheckStats refuses running statistics no batch can produce: a variance
// that is negative or not finite, a mean that is not finite, or an eps that
// is not a positive number. Such a layer gives NaN in every evaluation
// output (and in a convolution it is folded into).
func (b *BatchNorm2d) CheckStats() error {
	if !(b.Eps > 0) || math.IsInf(b.Eps, 0) {
		return fmt.Errorf("eps %v must be a positive number", b.Eps)
	}
	for c, v := range b.RunningVar.Value.Data {
		if !(v >= 0) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("running_var[%d] is %v: a variance must be a finite number >= 0", c, v)
		}
	}
	for c, m := range b.RunningMean.Value.Data {
		if math.IsNaN(float64(m)) || math.IsInf(float64(m), 0) {
			return fmt.Errorf("running_mean[%d] is %v", c, m)
		}
	}
	return nil
}

// EvalScaleShift returns per-channel a, c with eval output a*x + c, the form
// used to fold the layer into a preceding convolution.
func (b *BatchNorm2d) EvalScaleShift() (scale, shift []float32) {
	scale = make([]float32, b.Features)
	shift = make([]float32, b.Features)
	for c := range scale {
		inv := 1 / math.Sqrt(float64(b.RunningVar.Value.Data[c])+b.Eps)
		a := float64(b.Weight.Value.Data[c]) * inv
		scale[c] = float32(a)
		shift[c] = float32(float64(b.Bias.Value.Data[c]) - a*float64(b.RunningMean.Value.Data[c]))
	}
	return scale, shift
}

// The reductions below keep four float64 partial sums (lanes i mod 4,
// added in a fixed order at the end) rather than one: a single running sum
// is a chain of dependent additions that runs at the adder's latency, and
// BatchNorm took a third of resnet-small's training time that way.

// sum4 returns Σ v in float64.
func sum4(v []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(v); i += 4 {
		s0 += float64(v[i])
		s1 += float64(v[i+1])
		s2 += float64(v[i+2])
		s3 += float64(v[i+3])
	}
	for ; i < len(v); i++ {
		s0 += float64(v[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// sqDev4 returns Σ (v - mean)² in float64.
func sqDev4(v []float32, mean float64) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(v); i += 4 {
		d0, d1, d2, d3 := float64(v[i])-mean, float64(v[i+1])-mean, float64(v[i+2])-mean, float64(v[i+3])-mean
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(v); i++ {
		d := float64(v[i]) - mean
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// sumDot4 returns Σ g and Σ g·x in float64.
func sumDot4(g, x []float32) (sum, dot float64) {
	x = x[:len(g)]
	var s0, s1, d0, d1 float64
	i := 0
	for ; i+2 <= len(g); i += 2 {
		a, b := float64(g[i]), float64(g[i+1])
		s0 += a
		s1 += b
		d0 += a * float64(x[i])
		d1 += b * float64(x[i+1])
	}
	for ; i < len(g); i++ {
		s0 += float64(g[i])
		d0 += float64(g[i]) * float64(x[i])
	}
	return s0 + s1, d0 + d1
}

// Forward normalises x [B, C, H, W].
func (b *BatchNorm2d) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	n, err := batchOf(x, b.String(), 4)
	if err != nil {
		return nil, err
	}
	if _, err := b.OutShape(x.Shape[1:]); err != nil {
		return nil, err
	}
	c, hw := b.Features, x.Shape[2]*x.Shape[3]
	b.x, b.train = x, train
	b.out.Resize(x.Shape...)
	b.xhat.Resize(x.Shape...)
	if cap(b.invStd) < c {
		b.invStd = make([]float64, c)
	}
	b.invStd = b.invStd[:c]
	count := n * hw
	if train && count < 2 {
		return nil, fmt.Errorf("%v: training needs more than one value per channel, have input %s", b, tensor.ShapeString(x.Shape))
	}
	parallel.Run(c, func(ch int) {
		var mean, variance float64
		if train {
			var s, ss float64
			for i := 0; i < n; i++ {
				s += sum4(x.Data[(i*c+ch)*hw : (i*c+ch+1)*hw])
			}
			mean = s / float64(count)
			for i := 0; i < n; i++ {
				ss += sqDev4(x.Data[(i*c+ch)*hw:(i*c+ch+1)*hw], mean)
			}
			variance = ss / float64(count)
			m := b.Momentum
			rm, rv := b.RunningMean.Value.Data, b.RunningVar.Value.Data
			rm[ch] = float32((1-m)*float64(rm[ch]) + m*mean)
			rv[ch] = float32((1-m)*float64(rv[ch]) + m*ss/float64(count-1))
		} else {
			mean = float64(b.RunningMean.Value.Data[ch])
			variance = float64(b.RunningVar.Value.Data[ch])
		}
		inv := 1 / math.Sqrt(variance+b.Eps)
		b.invStd[ch] = inv
		// The statistics are float64; the elementwise map is float32, as
		// PyTorch's CPU kernel computes it.
		w, bias := b.Weight.Value.Data[ch], b.Bias.Value.Data[ch]
		mf, invf := float32(mean), float32(inv)
		for i := 0; i < n; i++ {
			off := (i*c + ch) * hw
			xh, out := b.xhat.Data[off:off+hw], b.out.Data[off:off+hw]
			for j, v := range x.Data[off : off+hw] {
				h := (v - mf) * invf
				xh[j] = h
				out[j] = h*w + bias
			}
		}
	})
	if train {
		b.NumBatch.Value.Data[0]++
	}
	return &b.out, nil
}

// Backward accumulates the weight and bias gradients and returns dx.
func (b *BatchNorm2d) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad(dy, &b.out, b.String()); err != nil {
		return nil, err
	}
	n, c, hw := dy.Shape[0], b.Features, dy.Shape[2]*dy.Shape[3]
	if needDX {
		b.dx.Resize(dy.Shape...)
	}
	count := float64(n * hw)
	parallel.Run(c, func(ch int) {
		var sdy, sdyx float64
		for i := 0; i < n; i++ {
			off := (i*c + ch) * hw
			a, d := sumDot4(dy.Data[off:off+hw], b.xhat.Data[off:off+hw])
			sdy += a
			sdyx += d
		}
		b.Weight.Grad.Data[ch] += float32(sdyx)
		b.Bias.Grad.Data[ch] += float32(sdy)
		if !needDX {
			return
		}
		k := float32(float64(b.Weight.Value.Data[ch]) * b.invStd[ch])
		mdy, mdyx := float32(sdy/count), float32(sdyx/count)
		for i := 0; i < n; i++ {
			off := (i*c + ch) * hw
			dx, xh := b.dx.Data[off:off+hw], b.xhat.Data[off:off+hw]
			if b.train {
				for j, g := range dy.Data[off : off+hw] {
					dx[j] = k * (g - mdy - xh[j]*mdyx)
				}
			} else {
				for j, g := range dy.Data[off : off+hw] {
					dx[j] = k * g
				}
			}
		}
	})
	if !needDX {
		return nil, nil
	}
	return &b.dx, nil
}

// String describes the BatchNorm2d as snnkit prints it.
func (b *BatchNorm2d) String() string {
	return fmt.Sprintf("BatchNorm2d(%d, eps=%g, momentum=%g, affine=True, track_running_stats=True)", b.Features, b.Eps, b.Momentum)
}
