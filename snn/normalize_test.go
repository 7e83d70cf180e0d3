package snn

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/tensor"
)

func TestPercentileMatchesNumpy(t *testing.T) {
	cases := []struct {
		v    []float32
		q    float64
		want float64
	}{
		{[]float32{1, 2, 3, 4}, 50, 2.5},
		{[]float32{1, 2, 3, 4}, 99, 3.97},
		{[]float32{4, 3, 2, 1}, 0, 1},
		{[]float32{4, 3, 2, 1}, 100, 4},
		{[]float32{0, 0, 0, 10}, 99, 9.7},
		{[]float32{7}, 99, 7},
	}
	for _, c := range cases {
		if got := Percentile(c.v, c.q); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("Percentile(%v, %v) = %v, want %v", c.v, c.q, got, c.want)
		}
	}
	r := rand.New(rand.NewPCG(1, 1))
	for n := 1; n < 300; n += 7 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.IntN(20)) // many ties
		}
		s := slices.Clone(v)
		slices.Sort(s)
		for _, q := range []float64{0, 1, 50, 99, 100} {
			rank := q / 100 * float64(n-1)
			lo := int(math.Floor(rank))
			want := float64(s[lo])
			if lo+1 < n {
				want += (float64(s[lo+1]) - want) * (rank - float64(lo))
			}
			if got := Percentile(v, q); math.Abs(got-want) > 1e-9 {
				t.Fatalf("n=%d q=%v: %v, want %v", n, q, got, want)
			}
		}
	}
}

// TestNormalizeWeights checks that after normalisation the 99th percentile
// of every ReLU's output is 1 (cumulative scaling), and the errors.
func TestNormalizeWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	ann := nn.NewSequential(
		nn.NewConv2d(nn.Conv2dConfig{In: 1, Out: 4, Kernel: 3, Bias: true}, rng), nn.NewReLU(), nn.NewAvgPool2d(nn.PoolConfig{Kernel: 2}),
		nn.NewFlatten(), nn.NewLinear(nn.LinearConfig{In: 36, Out: 8, Bias: true}, rng), nn.NewReLU(), nn.NewLinear(nn.LinearConfig{In: 8, Out: 3}, rng))
	x := tensor.New(50, 1, 8, 8)
	for i := range x.Data {
		x.Data[i] = rng.Float32() * 3
	}
	norms, err := NormalizeWeights(ann, x, 99)
	if err != nil {
		t.Fatal(err)
	}
	if len(norms) != 2 || norms[0].Layer != 0 || norms[1].Layer != 4 {
		t.Fatalf("normalisations %+v", norms)
	}
	for _, relu := range []int{1, 5} {
		act, err := forwardTo(ann, x, relu)
		if err != nil {
			t.Fatal(err)
		}
		if p := Percentile(act.Data, 99); math.Abs(p-1) > 1e-5 {
			t.Errorf("after normalisation the 99th percentile of ReLU %d is %v, want 1", relu, p)
		}
	}
	dead := nn.NewSequential(nn.NewLinear(nn.LinearConfig{In: 2, Out: 2}, nil), nn.NewReLU())
	if _, err := NormalizeWeights(dead, tensor.New(3, 2), 99); err == nil {
		t.Error("zero percentile accepted")
	}
	if _, err := NormalizeWeights(ann, x, 0); err == nil {
		t.Error("percentile 0 accepted")
	}
	if _, err := NormalizeWeights(nn.NewSequential(nn.NewFlatten()), x, 99); err == nil {
		t.Error("model without ReLU accepted")
	}
}

// TestPercentileOfBatches checks the two-pass radix selection against
// Percentile (which sorts) on values seen in batches: ties, negative values,
// signed zeros, values sharing their high 16 bits.
func TestPercentileOfBatches(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	gens := []struct {
		name string
		gen  func() float32
	}{
		{"ties", func() float32 { return float32(r.IntN(7)) }},
		{"signed", func() float32 { return float32(r.NormFloat64()) }},
		{"zeros", func() float32 { return []float32{0, float32(math.Copysign(0, -1)), 1e-30, -1e-30}[r.IntN(4)] }},
		{"one high", func() float32 { return 1 + float32(r.IntN(100))*1.1920929e-07 }},
	}
	for _, gc := range gens {
		name, gen := gc.name, gc.gen
		for _, n := range []int{1, 2, 3, 50, 1001} {
			v := make([]float32, n)
			for i := range v {
				v[i] = gen()
			}
			visit := func(each func([]float32)) error {
				for lo := 0; lo < n; lo += 17 {
					each(v[lo:min(lo+17, n)])
				}
				return nil
			}
			for _, q := range []float64{0.1, 1, 50, 99, 99.9, 100} {
				got, err := percentileOf(visit, q)
				if want := Percentile(v, q); err != nil || got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
					t.Fatalf("%s, n=%d, q=%v: %v (%v), want %v", name, n, q, got, err, want)
				}
			}
		}
	}
}

// countingSamples serves a tensor's rows and records the largest batch
// asked for.
type countingSamples struct {
	tensorSamples
	largest int
}

func (s *countingSamples) Batch(lo, hi int, x *tensor.Tensor) {
	s.largest = max(s.largest, hi-lo)
	s.tensorSamples.Batch(lo, hi, x)
}

// TestNormalizeInBatches checks that activations are measured batch by
// batch (all 60,000 training images in one batch took 8.8 GB) and that the
// result equals the one measured on all samples at once.
func TestNormalizeInBatches(t *testing.T) {
	build := func() *nn.Sequential {
		rng := rand.New(rand.NewPCG(7, 7))
		return nn.NewSequential(nn.NewConv2d(nn.Conv2dConfig{In: 1, Out: 3, Kernel: 3, Bias: true}, rng), nn.NewReLU(),
			nn.NewFlatten(), nn.NewLinear(nn.LinearConfig{In: 3 * 6 * 6, Out: 5}, rng), nn.NewReLU())
	}
	rng := rand.New(rand.NewPCG(8, 8))
	x := tensor.New(3*NormalizeBatch+17, 1, 8, 8)
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	// The reference: every activation at once, sorted.
	ref := build()
	var want []float64
	for _, relu := range []int{1, 4} {
		act, err := forwardTo(ref, x, relu)
		if err != nil {
			t.Fatal(err)
		}
		p := Percentile(act.Data, 99.5)
		want = append(want, p)
		layer := relu - 1
		for _, pr := range ref.Layers[layer].Params() {
			for j := range pr.Value.Data {
				pr.Value.Data[j] *= float32(1 / p)
			}
		}
	}
	src := &countingSamples{tensorSamples: tensorSamples{x}}
	norms, err := NormalizeWeightsFrom(context.Background(), build(), src, 99.5)
	if err != nil {
		t.Fatal(err)
	}
	if src.largest > NormalizeBatch {
		t.Errorf("a batch of %d samples, more than %d", src.largest, NormalizeBatch)
	}
	for i, n := range norms {
		if n.Percentile != want[i] {
			t.Errorf("ReLU %d: percentile %v in batches, %v at once", n.ReLU, n.Percentile, want[i])
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NormalizeWeightsFrom(ctx, build(), src, 99); err == nil {
		t.Error("a cancelled context was ignored")
	}
}
