package snn

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/snnkit/snnkit/internal/testnets"
	"github.com/snnkit/snnkit/tensor"
)

type sliceSamples struct{ x *tensor.Tensor }

func (s sliceSamples) Len() int { return s.x.Shape[0] }
func (s sliceSamples) Batch(lo, hi int, x *tensor.Tensor) {
	tensorSamples{s.x}.Batch(lo, hi, x)
}

// TestNormalizeGraph checks the per-population scaling: after it, every
// ReLU's percentile is 1, a Scale sits on the identity shortcut, and the
// output is the original divided by one factor (the same prediction).
func TestNormalizeGraph(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	g := testnets.ResGraph(rng)
	if err := g.Check(); err != nil {
		t.Fatal(err)
	}
	x := tensor.New(40, 1, 8, 8)
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	want, _ := g.Forward(x, false)
	want = want.Clone()
	ng, norms, err := NormalizeGraph(context.Background(), g, sliceSamples{x}, 99)
	if err != nil {
		t.Fatal(err)
	}
	if len(norms) != 4 {
		t.Fatalf("normalisations %+v", norms)
	}
	if _, ok := ng.Node("add.scale1"); !ok {
		t.Errorf("no Scale on the identity shortcut:\n%v", ng)
	}
	if _, ok := ng.Node("stem_bn"); ok {
		t.Error("BatchNorm not folded")
	}
	got, err := ng.Forward(x, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range norms {
		if p := Percentile(ng.NodeOutput(n.ReLU).Data, 99); math.Abs(p-1) > 1e-4 {
			t.Errorf("after normalisation the 99th percentile of %s is %v", n.ReLU, p)
		}
	}
	ratio := float64(want.Data[0] / got.Data[0])
	for i := range want.Data {
		if math.Abs(float64(got.Data[i])*ratio-float64(want.Data[i])) > 1e-4*math.Max(1, math.Abs(float64(want.Data[i]))) {
			t.Fatalf("output %d: %v, original %v (ratio %v)", i, got.Data[i], want.Data[i], ratio)
		}
	}
	// The original is untouched.
	again, _ := g.Forward(x, false)
	if again.Data[0] != want.Data[0] {
		t.Error("NormalizeGraph changed its input graph")
	}
}
