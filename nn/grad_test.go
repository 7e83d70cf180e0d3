package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/snnkit/snnkit/tensor"
)

// lossOf runs a forward pass and returns Σ r·y in float64.
func lossOf(t *testing.T, l Layer, x *tensor.Tensor, r []float32, train bool) float64 {
	t.Helper()
	y, err := l.Forward(x, train)
	if err != nil {
		t.Fatal(err)
	}
	var s float64
	for i, v := range y.Data {
		s += float64(v) * float64(r[i])
	}
	return s
}

// gradCheck compares analytical gradients of L = Σ r·y with respect to the
// input and every parameter against central finite differences. Inputs are
// spread so that no ReLU or max-pool kink lies within eps of a sample.
func gradCheck(t *testing.T, l Layer, inShape []int, train bool) {
	t.Helper()
	const eps = 5e-3
	rng := rand.New(rand.NewPCG(7, 8))
	x := tensor.New(inShape...)
	perm := rng.Perm(len(x.Data))
	for i := range x.Data {
		// distinct values at least 0.05 apart, none near zero
		v := float32(perm[i]+1)*0.05 + 0.025
		if rng.IntN(2) == 0 {
			v = -v
		}
		x.Data[i] = v * 0.5
	}
	y, err := l.Forward(x, train)
	if err != nil {
		t.Fatal(err)
	}
	r := make([]float32, len(y.Data))
	for i := range r {
		r[i] = rng.Float32()*2 - 1
	}
	for _, p := range l.Params() {
		p.Grad.Zero()
	}
	dy := &tensor.Tensor{Shape: append([]int(nil), y.Shape...), Data: append([]float32(nil), r...)}
	dx, err := l.Backward(dy, true)
	if err != nil {
		t.Fatal(err)
	}
	dxc := append([]float32(nil), dx.Data...)
	check := func(what string, vals []float32, grad []float32) {
		n := len(vals)
		idx := rng.Perm(n)
		if n > 40 {
			idx = idx[:40]
		}
		for _, i := range idx {
			old := vals[i]
			vals[i] = old + eps
			lp := lossOf(t, l, x, r, train)
			vals[i] = old - eps
			lm := lossOf(t, l, x, r, train)
			vals[i] = old
			num := (lp - lm) / (2 * eps)
			ana := float64(grad[i])
			if math.Abs(num-ana) > 2e-3+2e-2*math.Abs(num) {
				t.Errorf("%v: d/d%s[%d]: analytical %.6g, numerical %.6g", l, what, i, ana, num)
			}
		}
	}
	check("x", x.Data, dxc)
	for _, p := range l.Params() {
		check(p.Name, p.Value.Data, append([]float32(nil), p.Grad.Data...))
	}
}

func TestGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	cases := []struct {
		name  string
		layer any
		in    []int
		train bool
	}{
		{"conv", NewConv2d(Conv2dConfig{In: 2, Out: 3, Kernel: 3}, rng), []int{2, 2, 6, 5}, true},
		{"conv bias stride pad", NewConv2d(Conv2dConfig{In: 2, Out: 3, KernelHW: [2]int{3, 2}, Stride: 2, PaddingHW: [2]int{1, 0}, Bias: true}, rng), []int{3, 2, 7, 6}, true},
		{"conv 1x1", NewConv2d(Conv2dConfig{In: 4, Out: 3, Kernel: 1, Bias: true}, rng), []int{2, 4, 3, 3}, true},
		{"conv groups", NewConv2d(Conv2dConfig{In: 4, Out: 6, Kernel: 3, Stride: 2, Padding: 1, Groups: 2, Bias: true}, rng), []int{2, 4, 6, 5}, true},
		{"conv depthwise", NewConv2d(Conv2dConfig{In: 3, Out: 3, Kernel: 3, Padding: 1, Groups: 3}, rng), []int{2, 3, 4, 4}, true},
		{"conv dilation", NewConv2d(Conv2dConfig{In: 2, Out: 2, Kernel: 3, DilationHW: [2]int{2, 1}, Bias: true}, rng), []int{2, 2, 7, 5}, true},
		{"conv asymmetric pads", NewConv2d(Conv2dConfig{In: 2, Out: 3, Kernel: 2, PaddingHW: [2]int{1, 0}, PadEndHW: [2]int{0, 2}, HasPadEnd: true, Bias: true}, rng), []int{2, 2, 4, 4}, true},
		{"conv many images", NewConv2d(Conv2dConfig{In: 1, Out: 2, Kernel: 2, Bias: true}, rng), []int{19, 1, 3, 3}, true},
		{"linear", NewLinear(LinearConfig{In: 7, Out: 5}, rng), []int{3, 7}, true},
		{"linear bias", NewLinear(LinearConfig{In: 6, Out: 4, Bias: true}, rng), []int{5, 6}, true},
		{"relu", NewReLU(), []int{2, 3, 4}, true},
		{"avgpool", NewAvgPool2d(PoolConfig{Kernel: 2}), []int{2, 3, 4, 5}, true},
		{"avgpool stride 1", NewAvgPool2d(PoolConfig{Kernel: 3, Stride: 1}), []int{2, 2, 5, 5}, true},
		{"sumpool", NewSumPool2d(PoolConfig{Kernel: 2}), []int{2, 2, 4, 4}, true},
		{"maxpool", NewMaxPool2d(PoolConfig{Kernel: 2}), []int{2, 3, 4, 6}, true},
		{"maxpool overlap", NewMaxPool2d(PoolConfig{Kernel: 3, Stride: 2}), []int{1, 2, 7, 7}, true},
		{"maxpool padded ceil", NewMaxPool2d(PoolConfig{Kernel: 3, Stride: 2, PaddingHW: [2]int{1, 1}, CeilMode: true}), []int{2, 2, 6, 5}, true},
		{"avgpool padded", NewAvgPool2d(PoolConfig{Kernel: 3, Stride: 2, PaddingHW: [2]int{1, 1}}), []int{2, 2, 6, 5}, true},
		{"avgpool padded exclude ceil", NewAvgPool2d(PoolConfig{Kernel: 2, Stride: 2, PaddingHW: [2]int{1, 0}, ExcludePad: true, CeilMode: true}), []int{2, 2, 5, 5}, true},
		{"sumpool padded", NewSumPool2d(PoolConfig{Kernel: 3, Stride: 1, PaddingHW: [2]int{1, 1}}), []int{1, 2, 4, 4}, true},
		{"flatten", NewFlatten(), []int{2, 3, 2, 2}, true},
		{"batchnorm train", NewBatchNorm2d(3), []int{4, 3, 3, 2}, true},
		{"batchnorm eval", NewBatchNorm2d(3), []int{4, 3, 3, 2}, false},
		{"dropout eval", NewDropout(0.5, nil), []int{3, 4}, false},
		{"global avgpool", NewGlobalAvgPool2d(), []int{2, 3, 4, 5}, true},
		{"identity", NewIdentity(), []int{2, 3}, true},
		{"normalize per channel", must(NewNormalize([]float32{0.5, -1, 2}, []float32{0.25, 2, 0.5})), []int{2, 3, 2, 2}, true},
		{"normalize one value", must(NewNormalize([]float32{0.286}, []float32{0.353})), []int{2, 1, 3, 3}, true},
		{"scale", NewScale(-2.5), []int{2, 3, 2}, true},
		// No ReLU after BatchNorm here: normalised values cross zero under any
		// weight perturbation, which a finite difference cannot see past.
		{"sequential", NewSequential(
			NewConv2d(Conv2dConfig{In: 1, Out: 4, Kernel: 3, Bias: true}, rng), NewBatchNorm2d(4),
			NewAvgPool2d(PoolConfig{Kernel: 2}), NewFlatten(), NewLinear(LinearConfig{In: 64, Out: 3, Bias: true}, rng)),
			[]int{5, 1, 10, 10}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if bn, ok := c.layer.(*BatchNorm2d); ok {
				for i := range bn.Weight.Value.Data {
					bn.Weight.Value.Data[i] = 0.5 + float32(i)
					bn.Bias.Value.Data[i] = 0.1 * float32(i)
					bn.RunningMean.Value.Data[i] = 0.2 * float32(i)
					bn.RunningVar.Value.Data[i] = 1 + float32(i)
				}
			}
			gradCheck(t, asLayer(c.layer), c.in, c.train)
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// seqLayer adapts a Sequential to the Layer interface for gradCheck.
type seqLayer struct {
	*Sequential
	dx *tensor.Tensor
}

func (s seqLayer) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	for i := len(s.Layers) - 1; i >= 0; i-- {
		var err error
		if dy, err = s.Layers[i].Backward(dy, true); err != nil {
			return nil, err
		}
	}
	return dy, nil
}

func asLayer(l any) Layer {
	if s, ok := l.(*Sequential); ok {
		return seqLayer{Sequential: s}
	}
	return l.(Layer)
}

func TestDropoutTrain(t *testing.T) {
	d := NewDropout(0.25, rand.New(rand.NewPCG(1, 2)))
	x := tensor.New(1000)
	for i := range x.Data {
		x.Data[i] = 1
	}
	x, _ = x.Reshape(10, 100)
	y, err := d.Forward(x, true)
	if err != nil {
		t.Fatal(err)
	}
	zeros := 0
	for _, v := range y.Data {
		switch v {
		case 0:
			zeros++
		case float32(1 / 0.75):
		default:
			t.Fatalf("dropout output %v, want 0 or 1/0.75", v)
		}
	}
	if zeros < 200 || zeros > 300 {
		t.Fatalf("dropout zeroed %d of 1000 at p=0.25", zeros)
	}
	dy := tensor.New(10, 100)
	for i := range dy.Data {
		dy.Data[i] = 2
	}
	dx, err := d.Backward(dy, true)
	if err != nil {
		t.Fatal(err)
	}
	for i := range dx.Data {
		if dx.Data[i] != 2*y.Data[i] {
			t.Fatalf("dropout gradient %v where output %v", dx.Data[i], y.Data[i])
		}
	}
}

func TestSoftmaxCrossEntropyGradient(t *testing.T) {
	logits := tensor.New(3, 4)
	for i := range logits.Data {
		logits.Data[i] = float32(i%5) * 0.3
	}
	labels := []int{0, 3, 2}
	grad := tensor.New(3, 4)
	loss, _, err := SoftmaxCrossEntropy(logits, labels, grad)
	if err != nil {
		t.Fatal(err)
	}
	const eps = 1e-3
	for i := range logits.Data {
		old := logits.Data[i]
		logits.Data[i] = old + eps
		lp, _, _ := SoftmaxCrossEntropy(logits, labels, nil)
		logits.Data[i] = old - eps
		lm, _, _ := SoftmaxCrossEntropy(logits, labels, nil)
		logits.Data[i] = old
		if num := (lp - lm) / (2 * eps); math.Abs(num-float64(grad.Data[i])) > 1e-4 {
			t.Errorf("dlogits[%d] = %v, numerical %v", i, grad.Data[i], num)
		}
	}
	if loss <= 0 {
		t.Errorf("loss %v", loss)
	}
	if _, _, err := SoftmaxCrossEntropy(logits, []int{0, 9, 1}, nil); err == nil {
		t.Error("label out of range accepted")
	}
}
