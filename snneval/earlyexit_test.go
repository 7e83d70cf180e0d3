package snneval

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/snnkit/snnkit/encode"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/sim"
	"github.com/snnkit/snnkit/snn"
)

// TestEarlyExit checks early exit against the run without it: a patience
// beyond T changes nothing (accuracy at every step, predictions, synaptic
// operations and rates, all sums of spike counts), a confidence every
// softmax reaches stops every sample after one step with the first step's
// accuracy, and a real threshold gives per-sample steps whose statistics
// are consistent, whatever the number of threads.
func TestEarlyExit(t *testing.T) {
	opts := snn.DefaultConvertOptions()
	opts.AddSpikingOutput = false // the membrane readout
	net, err := snn.FromModel(nn.NewSequential(nn.NewLinear(nn.LinearConfig{In: 4, Out: 6, Bias: true}, rng()), nn.NewReLU(), nn.NewLinear(nn.LinearConfig{In: 6, Out: 3}, rng())), []int{4}, opts)
	if err != nil {
		t.Fatal(err)
	}
	r := rng()
	var data tiny
	for i := 0; i < 23; i++ {
		data.images = append(data.images, []float32{r.Float32(), r.Float32(), r.Float32(), r.Float32()})
		data.labels = append(data.labels, i%3)
	}
	ctx := context.Background()
	for _, e := range []sim.Engine{sim.EngineReference, sim.EngineAuto} {
		base := Config{Steps: 20, Encoder: encode.Poisson{Seed: 4, Rate: 1.5}, Engine: e}
		want, err := Run(ctx, net, data, base)
		if err != nil {
			t.Fatal(err)
		}
		never := base
		never.EarlyExit = &EarlyExit{Confidence: 0.5, Patience: 1000}
		got, err := Run(ctx, net, data, never)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got.AccuracyByT, got.Predictions, got.SynOps, got.FiringRates) != fmt.Sprint(want.AccuracyByT, want.Predictions, want.SynOps, want.FiringRates) {
			t.Fatalf("%v: never exiting differs from no early exit:\n%v %v %v %v\n%v %v %v %v", e, got.AccuracyByT, got.Predictions, got.SynOps, got.FiringRates, want.AccuracyByT, want.Predictions, want.SynOps, want.FiringRates)
		}
		if got.MeanSteps != 20 || got.MaxSteps != 20 || got.MedianSteps != 20 {
			t.Fatalf("%v: steps %v %v %v without an exit", e, got.MeanSteps, got.MedianSteps, got.MaxSteps)
		}
		first := base
		first.EarlyExit = &EarlyExit{Confidence: 1.0 / 3, Patience: 1} // a softmax of 3 classes always reaches 1/3
		got, err = Run(ctx, net, data, first)
		if err != nil {
			t.Fatal(err)
		}
		if got.MeanSteps != 1 || got.Accuracy != want.AccuracyByT[0] {
			t.Fatalf("%v: exiting at once: mean T %v, accuracy %v, want 1 and %v", e, got.MeanSteps, got.Accuracy, want.AccuracyByT[0])
		}
		some := base
		some.EarlyExit = &EarlyExit{Confidence: 0.4, Patience: 2}
		var runs []*Result
		for _, procs := range []int{1, 2} {
			old := runtime.GOMAXPROCS(procs)
			res, err := Run(ctx, net, data, some)
			runtime.GOMAXPROCS(old)
			if err != nil {
				t.Fatal(err)
			}
			runs = append(runs, res)
		}
		res := runs[0]
		if fmt.Sprint(res.ExitSteps, res.Predictions, res.SynOps) != fmt.Sprint(runs[1].ExitSteps, runs[1].Predictions, runs[1].SynOps) {
			t.Fatalf("%v: early exit differs with the number of threads", e)
		}
		sum, exited := 0, false
		for _, s := range res.ExitSteps {
			sum += s
			exited = exited || s < 20
			if s < 2 || s > 20 {
				t.Fatalf("%v: a sample ran %d steps with patience 2", e, s)
			}
		}
		if !exited || math.Abs(res.MeanSteps-float64(sum)/23) > 1e-12 || res.Accuracy != res.AccuracyByT[19] || res.SynOpsTotal >= want.SynOpsTotal {
			t.Fatalf("%v: exits %v, mean %v, accuracy %v (by t %v), synops %v against %v", e, res.ExitSteps, res.MeanSteps, res.Accuracy, res.AccuracyByT, res.SynOpsTotal, want.SynOpsTotal)
		}
	}
	for _, bad := range []EarlyExit{{0, 1}, {1.5, 1}, {0.9, 0}, {math.NaN(), 1}} {
		if _, err := Run(ctx, net, data, Config{Steps: 5, EarlyExit: &bad}); err == nil {
			t.Errorf("early exit %+v accepted", bad)
		}
	}
}

// TestEstimateEnergy checks the energy of a two-layer network on analog
// input: the first Linear does multiply-accumulates (its ANN count), the
// second accumulates the spikes it is sent; on spike input both
// accumulate.
func TestEstimateEnergy(t *testing.T) {
	opts := snn.DefaultConvertOptions()
	net, err := snn.FromModel(nn.NewSequential(nn.NewLinear(nn.LinearConfig{In: 4, Out: 6, Bias: true}, rng()), nn.NewReLU(), nn.NewLinear(nn.LinearConfig{In: 6, Out: 3}, rng())), []int{4}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if a := AnalogStages(net); !a["0"] || !a["1"] || a["2"] || a["spike_output"] {
		t.Fatalf("analog stages %v, want 0 and the population it feeds", a)
	}
	data := tiny{images: [][]float32{{1, 0.5, 0.25, 1}, {0.5, 1, 1, 0}}, labels: []int{0, 1}}
	res, err := Run(context.Background(), net, data, Config{Steps: 10, Encoder: encode.Current{}})
	if err != nil {
		t.Fatal(err)
	}
	e := EstimateEnergy(net, res, true, 1, 10)
	if len(res.SynOps) != 2 || e.AnalogMACs != 24 || e.SpikeSynOps != res.SynOps[1].PerSample || e.SNN != e.SpikeSynOps+240 || e.ANN != (24+18)*10 {
		t.Fatalf("energy %+v from synops %+v", e, res.SynOps)
	}
	if e := EstimateEnergy(net, res, false, 1, 10); e.AnalogMACs != 0 || e.SpikeSynOps != res.SynOpsTotal {
		t.Fatalf("spike input: energy %+v", e)
	}
}
