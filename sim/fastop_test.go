package sim

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/snnkit/snnkit/arch"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

// BenchmarkConv1Op measures the tutorial's first convolution on 8 frames
// of 12 % non-zero input pixels, dense and event-driven.
func BenchmarkConv1Op(b *testing.B) { benchOp(b, 0, 1, 12) }

// BenchmarkConv2Op measures the tutorial's second convolution on 8 frames
// of pooled spikes, 24 % of them non-zero as in the normalised network,
// dense and event-driven.
func BenchmarkConv2Op(b *testing.B) { benchOp(b, 3, 20, 24) }

// BenchmarkConv3Op measures the third convolution at 40 % input density.
func BenchmarkConv3Op(b *testing.B) { benchOp(b, 6, 32, 40) }

// BenchmarkLinear1Op measures the first linear layer at 16 % input density.
func BenchmarkLinear1Op(b *testing.B) { benchOp(b, 10, 128, 16) }

// benchOp measures op opIdx of the tutorial network on 8 frames whose first ch
// channels are pct % non-zero, dense and event-driven.
func benchOp(b *testing.B, opIdx, ch, pct int) {
	for _, e := range []Engine{EngineDense, EngineEvent} {
		b.Run(e.String(), func(b *testing.B) { measureOp(b, e, opIdx, ch, pct) })
	}
}

// BenchmarkEventCost measures the event-driven weighted layers of the
// tutorial network at input densities from silent to busy, with the cost
// model's figure for the same frames beside each measurement (the data
// the model in costs() is calibrated on), and the dense figure once.
func BenchmarkEventCost(b *testing.B) {
	for _, l := range []struct {
		name   string
		op, ch int
	}{{"conv2", 3, 20}, {"conv3", 6, 32}, {"fc1", 10, 128}, {"fc2", 12, 500}} {
		b.Run(l.name+"/dense", func(b *testing.B) { measureOp(b, EngineDense, l.op, l.ch, 20) })
		for _, pct := range []int{0, 10, 30, 60} {
			b.Run(fmt.Sprintf("%s/event%d", l.name, pct), func(b *testing.B) { measureOp(b, EngineEvent, l.op, l.ch, pct) })
		}
	}
}

// measureOp runs op opIdx with engine e on 8 frames whose first ch channels
// are pct % non-zero and reports the time and the cost model's figure per
// frame.
func measureOp(b *testing.B, e Engine, opIdx, ch, pct int) {
	spec, _ := arch.Lookup("tutorial")
	ann, _ := spec.Build(rand.New(rand.NewPCG(1, 1)))
	net, _ := snn.FromModel(ann, spec.Input, snn.DefaultConvertOptions())
	const n = 8
	sm, _ := New(net)
	sm.SetEngine(e)
	op := sm.fast.ops[opIdx].(*weightedOp)
	r := rand.New(rand.NewPCG(2, 2))
	x := make([]float32, n*op.inLen)
	nz, cs := 0, max(op.in.cs, ch)
	for i := range x {
		if i%cs < ch && r.IntN(100) < pct {
			nz++
			x[i] = float32(1+r.IntN(4)) / 4
		}
	}
	t := sm.fast.task(n)
	y := make([]float32, n*op.outLen)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		op.compute(e, t, x, y, n, -1)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/frame")
	model := op.denseNs
	if e == EngineEvent {
		model = op.eventFrameNs + float64(nz)/n*op.eventNs
		if nz > 0 {
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*nz), "ns/event")
		}
	}
	b.ReportMetric(model, "model-ns/frame")
}

// BenchmarkStep streams one time step of a batch of 8 through the tutorial
// network with the default engine and reports allocations per step.
func BenchmarkStep(b *testing.B) {
	spec, _ := arch.Lookup("tutorial")
	ann, _ := spec.Build(rand.New(rand.NewPCG(1, 1)))
	net, _ := snn.FromModel(ann, spec.Input, snn.DefaultConvertOptions())
	sm, _ := New(net)
	frame := make([]float32, 8*784)
	r := rand.New(rand.NewPCG(3, 3))
	for i := range frame {
		if r.IntN(8) == 0 {
			frame[i] = 1
		}
	}
	in := &tensor.Tensor{Shape: []int{8, 1, 28, 28}, Data: frame}
	if _, err := sm.Step(in); err != nil { // warm up buffers
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := sm.Step(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRun simulates 8 images for 100 steps through the tutorial
// network with the default engine: the throughput path of snnkit run.
func BenchmarkRun(b *testing.B) {
	spec, _ := arch.Lookup("tutorial")
	ann, _ := spec.Build(rand.New(rand.NewPCG(1, 1)))
	net, _ := snn.FromModel(ann, spec.Input, snn.DefaultConvertOptions())
	sm, _ := New(net)
	in := tensor.New(8, 100, 1, 28, 28)
	r := rand.New(rand.NewPCG(3, 3))
	for i := range in.Data {
		if r.IntN(8) == 0 {
			in.Data[i] = 1
		}
	}
	if _, err := sm.Run(context.Background(), in); err != nil { // warm up buffers
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sm.Reset()
		if _, err := sm.Run(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(8*b.N)/b.Elapsed().Seconds(), "images/s")
}

func TestAllFinite(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    []float32
		want bool
	}{
		{"empty", nil, true},
		{"finite", []float32{0, -0, 1, -3e38, 3.4e38, 1e-45, -1e-45}, true},
		{"NaN", []float32{1, 2, 3, 4, float32(math.NaN())}, false},
		{"+Inf first", []float32{float32(math.Inf(1)), 1, 2, 3, 4, 5}, false},
		{"-Inf", []float32{1, 2, 3, float32(math.Inf(-1))}, false},
		{"largest finite", []float32{math.MaxFloat32, -math.MaxFloat32}, true},
	} {
		if got := allFinite(tc.v); got != tc.want {
			t.Errorf("%s: allFinite = %v, want %v", tc.name, got, tc.want)
		}
	}
}
