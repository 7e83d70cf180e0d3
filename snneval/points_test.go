package snneval

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/snnkit/snnkit/encode"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/sim"
	"github.com/snnkit/snnkit/snn"
)

// TestCheckpoints checks that the checkpoints of one run are the runs of
// their T: the same accuracy, synaptic operations per layer and energy as a
// separate run of that many steps, for spike and analog input, on every
// engine and with chunks shorter than the gaps between checkpoints; and
// that the checkpoints change nothing else in the run.
func TestCheckpoints(t *testing.T) {
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
	// Analog input sums in float32 within a chunk, so chunks cut
	// elsewhere round its synaptic operations differently; spike counts
	// are integers and sum exactly.
	tol := 0.0
	near := func(a, b float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }
	for _, tc := range []struct {
		enc    encode.Encoder
		analog bool
		engine sim.Engine
		chunk  int
	}{
		{encode.Poisson{Seed: 2, Rate: 1.5}, false, sim.EngineAuto, 0},
		{encode.Poisson{Seed: 2, Rate: 1.5}, false, sim.EngineReference, 5 * 4 * 2},
		{encode.Current{}, true, sim.EngineEvent, 0},
		{encode.Current{}, true, sim.EngineDense, 3 * 4 * 3},
	} {
		name := fmt.Sprintf("%v/%v/chunk %d", tc.enc, tc.engine, tc.chunk)
		tol = 1e-12
		if tc.analog {
			tol = 1e-6
		}
		cfg := Config{Encoder: tc.enc, Engine: tc.engine, Steps: 12, Batch: 5, ChunkValues: tc.chunk}
		plain, err := Run(ctx, net, data, cfg)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Checkpoints = []int{7, 1, 12, 3, 7}
		long, err := Run(ctx, net, data, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(long.AccuracyByT, long.Predictions, long.FiringRates) != fmt.Sprint(plain.AccuracyByT, plain.Predictions, plain.FiringRates) || !near(long.SynOpsTotal, plain.SynOpsTotal) {
			t.Errorf("%s: checkpoints changed the run", name)
		}
		pts := long.Points(net, tc.analog, 1e-12, 5e-12)
		if len(pts) != 4 {
			t.Fatalf("%s: %d points for checkpoints 1, 3, 7, 12", name, len(pts))
		}
		for i, p := range pts {
			one := cfg
			one.Steps, one.Checkpoints = p.Steps, nil
			res, err := Run(ctx, net, data, one)
			if err != nil {
				t.Fatal(err)
			}
			want := EstimateEnergy(net, res, tc.analog, 1e-12, 5e-12)
			if p.Accuracy != res.Accuracy || !near(p.SynOps, res.SynOpsTotal) || !near(p.Energy.SNN, want.SNN) || p.Energy.ANN != want.ANN || p.Energy.AnalogMACs != want.AnalogMACs {
				t.Errorf("%s: point %+v, a run of T=%d: accuracy %v, synops %v, energy %+v", name, p, p.Steps, res.Accuracy, res.SynOpsTotal, want)
			}
			for l := range res.SynOps {
				if !near(long.Checkpoints[i].SynOps[l].PerSample, res.SynOps[l].PerSample) {
					t.Errorf("%s: T=%d layer %s: %v synops, a run of T: %v", name, p.Steps, res.SynOps[l].Name, long.Checkpoints[i].SynOps[l].PerSample, res.SynOps[l].PerSample)
				}
			}
			if i > 0 && !(p.SynOps > pts[i-1].SynOps) {
				t.Errorf("%s: synops %v at T=%d, not above %v at T=%d", name, p.SynOps, p.Steps, pts[i-1].SynOps, pts[i-1].Steps)
			}
		}
		if tc.analog && pts[0].Energy.AnalogMACs != 24 {
			t.Errorf("%s: analog MACs %d, want the first layer's 4×6", name, pts[0].Energy.AnalogMACs)
		}
	}
	for _, bad := range []Config{
		{Steps: 5, Checkpoints: []int{6}},
		{Steps: 5, Checkpoints: []int{0}},
		{Steps: 5, Checkpoints: []int{2}, EarlyExit: &EarlyExit{Confidence: 0.9, Patience: 1}},
	} {
		if _, err := Run(ctx, net, data, bad); err == nil {
			t.Errorf("checkpoints %v (T=%d, early exit %v) accepted", bad.Checkpoints, bad.Steps, bad.EarlyExit != nil)
		}
	}
}
