package snneval

import (
	"context"
	"testing"

	"github.com/snnkit/snnkit/encode"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/sim"
	"github.com/snnkit/snnkit/snn"
)

// TestSweep checks that each point of a sweep is the run at its T: the
// accuracy that a longer run reached after T steps, operations that grow
// with T, and the energy EstimateEnergy gives that run.
func TestSweep(t *testing.T) {
	net, err := snn.FromModel(nn.NewSequential(nn.NewLinear(nn.LinearConfig{In: 4, Out: 6, Bias: true}, rng()), nn.NewReLU(), nn.NewLinear(nn.LinearConfig{In: 6, Out: 3}, rng())), []int{4}, snn.DefaultConvertOptions())
	if err != nil {
		t.Fatal(err)
	}
	r := rng()
	var data tiny
	for i := 0; i < 19; i++ {
		data.images = append(data.images, []float32{r.Float32(), r.Float32(), r.Float32(), r.Float32()})
		data.labels = append(data.labels, i%3)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		enc    encode.Encoder
		analog bool
	}{{encode.Poisson{Seed: 2, Rate: 1.5}, false}, {encode.Current{}, true}} {
		cfg := Config{Encoder: tc.enc, Engine: sim.EngineAuto, Steps: 12}
		long, err := Run(ctx, net, data, cfg)
		if err != nil {
			t.Fatal(err)
		}
		steps := []int{1, 3, 7, 12}
		pts, err := Sweep(ctx, net, data, cfg, steps, tc.analog, 1e-12, 5e-12)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range pts {
			if p.Steps != steps[i] || p.Accuracy != long.AccuracyByT[p.Steps-1] {
				t.Errorf("%v: point %+v, accuracy at T=%d of the long run %v", tc.enc, p, steps[i], long.AccuracyByT[steps[i]-1])
			}
			if i > 0 && !(p.SynOps > pts[i-1].SynOps) {
				t.Errorf("%v: synops %v at T=%d, not above %v at T=%d", tc.enc, p.SynOps, p.Steps, pts[i-1].SynOps, pts[i-1].Steps)
			}
		}
		if last, want := pts[len(pts)-1], PointOf(net, long, tc.analog, 1e-12, 5e-12); last != want {
			t.Errorf("%v: point at T=12 %+v, the run's %+v", tc.enc, last, want)
		}
		if tc.analog && pts[0].Energy.AnalogMACs != 24 {
			t.Errorf("analog MACs %d, want the first layer's 4×6", pts[0].Energy.AnalogMACs)
		}
	}
	cfg := Config{EarlyExit: &EarlyExit{Confidence: 0.9, Patience: 1}}
	if _, err := Sweep(ctx, net, data, cfg, []int{2}, false, 1, 1); err == nil {
		t.Error("a sweep with early exit accepted")
	}
	if _, err := Sweep(ctx, net, data, Config{}, []int{0}, false, 1, 1); err == nil {
		t.Error("T = 0 accepted")
	}
}
