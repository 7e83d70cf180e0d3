package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/snnkit/snnkit/tensor"
)

// naiveConv is PyTorch's Conv2d (cross-correlation) written out in float64.
func naiveConv(x *tensor.Tensor, w, b []float32, cfg Conv2dConfig) ([]float64, []int) {
	cfg = cfg.Norm()
	n, c, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	kh, kw, sh, sw, ph, pw := cfg.KernelHW[0], cfg.KernelHW[1], cfg.StrideHW[0], cfg.StrideHW[1], cfg.PaddingHW[0], cfg.PaddingHW[1]
	oh, ow := (h+2*ph-kh)/sh+1, (wd+2*pw-kw)/sw+1
	out := make([]float64, n*cfg.Out*oh*ow)
	for bi := 0; bi < n; bi++ {
		for o := 0; o < cfg.Out; o++ {
			for y := 0; y < oh; y++ {
				for xx := 0; xx < ow; xx++ {
					var s float64
					if b != nil {
						s = float64(b[o])
					}
					for ci := 0; ci < c; ci++ {
						for i := 0; i < kh; i++ {
							for j := 0; j < kw; j++ {
								iy, ix := y*sh-ph+i, xx*sw-pw+j
								if iy < 0 || iy >= h || ix < 0 || ix >= wd {
									continue
								}
								s += float64(w[((o*c+ci)*kh+i)*kw+j]) * float64(x.Data[((bi*c+ci)*h+iy)*wd+ix])
							}
						}
					}
					out[((bi*cfg.Out+o)*oh+y)*ow+xx] = s
				}
			}
		}
	}
	return out, []int{n, cfg.Out, oh, ow}
}

func TestConvForwardMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	cfgs := []Conv2dConfig{
		{In: 1, Out: 20, Kernel: 5},
		{In: 3, Out: 4, KernelHW: [2]int{3, 2}, StrideHW: [2]int{2, 1}, PaddingHW: [2]int{1, 2}, Bias: true},
		{In: 2, Out: 3, Kernel: 1, Bias: true},
		{In: 20, Out: 32, Kernel: 5},
	}
	for _, cfg := range cfgs {
		conv := NewConv2d(cfg, rng)
		x := tensor.New(11, cfg.In, 12, 13)
		for i := range x.Data {
			x.Data[i] = rng.Float32()
		}
		var bias []float32
		if conv.Bias != nil {
			bias = conv.Bias.Value.Data
		}
		want, shape := naiveConv(x, conv.Weight.Value.Data, bias, cfg)
		got, err := conv.Forward(x, false)
		if err != nil {
			t.Fatal(err)
		}
		if !tensor.SameShape(got.Shape, shape) {
			t.Fatalf("%v: shape %v, want %v", conv, got.Shape, shape)
		}
		for i, w := range want {
			if math.Abs(float64(got.Data[i])-w) > 1e-4 {
				t.Fatalf("%v: out[%d] = %v, want %v", conv, i, got.Data[i], w)
			}
		}
	}
}

func TestLinearAndPoolForward(t *testing.T) {
	l := NewLinear(LinearConfig{In: 3, Out: 2, Bias: true}, nil)
	copy(l.Weight.Value.Data, []float32{1, 2, 3, -1, 0, 1})
	copy(l.Bias.Value.Data, []float32{0.5, -0.5})
	x, _ := tensor.FromSlice([]float32{1, 1, 1, 0, 2, -1}, 2, 3)
	y, err := l.Forward(x, false)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range []float32{6.5, -0.5, 1.5, -1.5} {
		if y.Data[i] != w {
			t.Fatalf("linear out %v, want [6.5 -0.5 1.5 -1.5]", y.Data)
		}
	}
	img, _ := tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, 1, 1, 4, 4)
	cases := []struct {
		layer *Pool2d
		want  []float32
	}{
		{NewAvgPool2d(PoolConfig{Kernel: 2}), []float32{3.5, 5.5, 11.5, 13.5}},
		{NewSumPool2d(PoolConfig{Kernel: 2}), []float32{14, 22, 46, 54}},
		{NewMaxPool2d(PoolConfig{Kernel: 2}), []float32{6, 8, 14, 16}},
		{NewAvgPool2d(PoolConfig{Kernel: 3, Stride: 1}), []float32{6, 7, 10, 11}},
		{NewMaxPool2d(PoolConfig{KernelHW: [2]int{1, 4}}), []float32{4, 8, 12, 16}},
	}
	for _, c := range cases {
		got, err := c.layer.Forward(img, false)
		if err != nil {
			t.Fatal(err)
		}
		for i := range c.want {
			if got.Data[i] != c.want[i] {
				t.Fatalf("%v: %v, want %v", c.layer, got.Data, c.want)
			}
		}
	}
}

func TestForwardShapeErrors(t *testing.T) {
	conv := NewConv2d(Conv2dConfig{In: 3, Out: 2, Kernel: 3}, nil)
	for _, shape := range [][]int{{2, 1, 8, 8}, {2, 3, 2, 8}, {3, 8, 8}} {
		if _, err := conv.Forward(tensor.New(shape...), false); err == nil {
			t.Errorf("conv accepted input %v", shape)
		}
	}
	lin := NewLinear(LinearConfig{In: 4, Out: 2}, nil)
	if _, err := lin.Forward(tensor.New(2, 5), false); err == nil {
		t.Error("linear accepted 5 features for 4")
	}
	if _, err := lin.Backward(tensor.New(3, 2), true); err == nil {
		t.Error("backward before forward accepted")
	}
}

// TestCloneLayer checks that a clone computes the same output and owns its
// parameters.
func TestCloneLayer(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	bn := NewBatchNorm2d(2)
	bn.RunningMean.Value.Data[1] = 0.5
	norm, _ := NewNormalize([]float32{0.1, 0.2}, []float32{0.5, 2})
	seq := NewSequential(norm, NewConv2d(Conv2dConfig{In: 2, Out: 2, Kernel: 3, Padding: 1, Bias: true}, rng), bn, NewReLU(),
		NewMaxPool2d(PoolConfig{Kernel: 2}), NewScale(0.5), NewIdentity(), NewGlobalAvgPool2d(), NewFlatten(), NewDropout(0.3, nil), NewLinear(LinearConfig{In: 2, Out: 3, Bias: true}, rng))
	c, err := seq.Clone()
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(2, 2, 4, 4)
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	a, _ := seq.Forward(x, false)
	a = a.Clone()
	b, _ := c.Forward(x, false)
	for i := range a.Data {
		if a.Data[i] != b.Data[i] {
			t.Fatalf("clone output %v, original %v", b.Data, a.Data)
		}
	}
	c.Params()[0].Value.Data[0] += 1
	if seq.Params()[0].Value.Data[0] == c.Params()[0].Value.Data[0] {
		t.Fatal("the clone shares its parameters")
	}
}

// TestPaddedPools checks padding, count_include_pad and ceil_mode against
// values worked out by hand from PyTorch's definitions.
func TestPaddedPools(t *testing.T) {
	ones := &tensor.Tensor{Shape: []int{1, 1, 3, 3}, Data: []float32{1, 1, 1, 1, 1, 1, 1, 1, 1}}
	ramp := &tensor.Tensor{Shape: []int{1, 1, 3, 3}, Data: []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}}
	cases := []struct {
		name  string
		layer *Pool2d
		x     *tensor.Tensor
		shape string
		want  []float32
	}{
		// Windows of 2×2 at stride 2 over [-1, 3): corner windows hold 1
		// input, edges 2, the last 4; the divisor is 4 with the padding.
		{"avg pad include", NewAvgPool2d(PoolConfig{Kernel: 2, Stride: 2, PaddingHW: [2]int{1, 1}}), ones, "[1, 1, 2, 2]", []float32{0.25, 0.5, 0.5, 1}},
		{"avg pad exclude", NewAvgPool2d(PoolConfig{Kernel: 2, Stride: 2, PaddingHW: [2]int{1, 1}, ExcludePad: true}), ones, "[1, 1, 2, 2]", []float32{1, 1, 1, 1}},
		{"max pad", NewMaxPool2d(PoolConfig{Kernel: 2, Stride: 2, PaddingHW: [2]int{1, 1}}), ramp, "[1, 1, 2, 2]", []float32{1, 3, 7, 9}},
		// ceil mode: 3 wide, kernel 2, stride 2 gives 2 outputs, the last
		// window holding one column.
		{"max ceil", NewMaxPool2d(PoolConfig{Kernel: 2, Stride: 2, CeilMode: true}), ramp, "[1, 1, 2, 2]", []float32{5, 6, 8, 9}},
		{"avg ceil", NewAvgPool2d(PoolConfig{Kernel: 2, Stride: 2, CeilMode: true}), ramp, "[1, 1, 2, 2]", []float32{3, 4.5, 7.5, 9}},
		{"sum pad", NewSumPool2d(PoolConfig{Kernel: 3, Stride: 1, PaddingHW: [2]int{1, 1}}), ones, "[1, 1, 3, 3]", []float32{4, 6, 4, 6, 9, 6, 4, 6, 4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			y, err := c.layer.Forward(c.x, false)
			if err != nil {
				t.Fatal(err)
			}
			if tensor.ShapeString(y.Shape) != c.shape {
				t.Fatalf("shape %v, want %s", y.Shape, c.shape)
			}
			for i, w := range c.want {
				if y.Data[i] != w {
					t.Fatalf("output %v, want %v", y.Data, c.want)
				}
			}
		})
	}
	if _, err := NewMaxPool2d(PoolConfig{Kernel: 2, PaddingHW: [2]int{2, 2}}).OutShape([]int{1, 4, 4}); err == nil {
		t.Error("padding above half the kernel accepted")
	}
}

// TestGeneralConv checks the general convolution against the fast path:
// groups as separate convolutions of the channel groups, dilation as a
// kernel with zeros between its taps, asymmetric padding as a padded input.
func TestGeneralConv(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	x := tensor.New(2, 4, 7, 6)
	for i := range x.Data {
		x.Data[i] = float32(rng.IntN(9)-4) / 4
	}
	dyadic := func(c *Conv2d) *Conv2d {
		for _, p := range c.Params() {
			for i := range p.Value.Data {
				p.Value.Data[i] = float32(rng.IntN(9)-4) / 8
			}
		}
		return c
	}
	same := func(name string, got, want *tensor.Tensor) {
		t.Helper()
		if tensor.ShapeString(got.Shape) != tensor.ShapeString(want.Shape) {
			t.Fatalf("%s: shape %v, want %v", name, got.Shape, want.Shape)
		}
		for i := range want.Data {
			if got.Data[i] != want.Data[i] {
				t.Fatalf("%s: value %d is %v, want %v", name, i, got.Data[i], want.Data[i])
			}
		}
	}
	// Groups: 2 groups of 2 input and 3 output channels.
	gc := dyadic(NewConv2d(Conv2dConfig{In: 4, Out: 6, Kernel: 3, Padding: 1, Groups: 2, Bias: true}, nil))
	got, _ := gc.Forward(x, false)
	got = got.Clone()
	for grp := 0; grp < 2; grp++ {
		part := NewConv2d(Conv2dConfig{In: 2, Out: 3, Kernel: 3, Padding: 1, Bias: true}, nil)
		copy(part.Weight.Value.Data, gc.Weight.Value.Data[grp*3*2*9:(grp+1)*3*2*9])
		copy(part.Bias.Value.Data, gc.Bias.Value.Data[grp*3:(grp+1)*3])
		xs := tensor.New(2, 2, 7, 6)
		for n := 0; n < 2; n++ {
			copy(xs.Data[n*2*42:(n+1)*2*42], x.Data[(n*4+grp*2)*42:(n*4+grp*2+2)*42])
		}
		y, _ := part.Forward(xs, false)
		want := tensor.New(2, 3, 7, 6)
		for n := 0; n < 2; n++ {
			copy(want.Data[n*3*42:(n+1)*3*42], got.Data[(n*6+grp*3)*42:(n*6+grp*3+3)*42])
		}
		same(fmt.Sprint("group ", grp), want, y)
	}
	// Dilation 2 of a 2×2 kernel is a 3×3 kernel with zeros between taps.
	dc := dyadic(NewConv2d(Conv2dConfig{In: 4, Out: 2, Kernel: 2, DilationHW: [2]int{2, 2}}, nil))
	wide := NewConv2d(Conv2dConfig{In: 4, Out: 2, Kernel: 3}, nil)
	for oc := 0; oc < 8; oc++ {
		for i := 0; i < 2; i++ {
			for j := 0; j < 2; j++ {
				wide.Weight.Value.Data[oc*9+2*i*3+2*j] = dc.Weight.Value.Data[oc*4+i*2+j]
			}
		}
	}
	a, _ := dc.Forward(x, false)
	a = a.Clone()
	b, _ := wide.Forward(x, false)
	same("dilation", a, b)
	// Asymmetric padding: top 1, left 0, bottom 0, right 2.
	ac := dyadic(NewConv2d(Conv2dConfig{In: 4, Out: 2, Kernel: 3, PaddingHW: [2]int{1, 0}, PadEndHW: [2]int{0, 2}, HasPadEnd: true}, nil))
	padded := tensor.New(2, 4, 8, 8)
	for n := 0; n < 2; n++ {
		for ch := 0; ch < 4; ch++ {
			for y := 0; y < 7; y++ {
				copy(padded.Data[((n*4+ch)*8+y+1)*8:], x.Data[((n*4+ch)*7+y)*6:((n*4+ch)*7+y+1)*6])
			}
		}
	}
	plain := NewConv2d(Conv2dConfig{In: 4, Out: 2, Kernel: 3}, nil)
	copy(plain.Weight.Value.Data, ac.Weight.Value.Data)
	a, _ = ac.Forward(x, false)
	a = a.Clone()
	b, _ = plain.Forward(padded, false)
	same("asymmetric padding", a, b)
	if _, err := NewConv2d(Conv2dConfig{In: 4, Out: 3, Kernel: 1, Groups: 2}, nil).OutShape([]int{4, 3, 3}); err == nil {
		t.Error("groups that do not divide the outputs accepted")
	}
}
