package snneval

import (
	"context"
	"fmt"
	"github.com/snnkit/snnkit/sim"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/snnkit/snnkit/encode"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/snn"
)

type tiny struct {
	images [][]float32
	labels []int
}

func (d tiny) Len() int              { return len(d.images) }
func (d tiny) Image(i int) []float32 { return d.images[i] }
func (d tiny) Label(i int) int       { return d.labels[i] }

// TestAccuracyByT uses a network that is one IAF population fed a constant
// current: neuron j first spikes when t·x_j reaches 1. Before any spike the
// counts tie at zero and the prediction is class 0, as torch.argmax does.
func TestAccuracyByT(t *testing.T) {
	opts := snn.DefaultConvertOptions()
	opts.AddSpikingOutput = false
	net, err := snn.FromModel(nn.NewSequential(nn.NewReLU()), []int{3}, opts)
	if err != nil {
		t.Fatal(err)
	}
	data := tiny{images: [][]float32{{0.5, 0.3, 0}, {0.3, 0.5, 0}, {0.1, 0.2, 0.26}}, labels: []int{0, 1, 2}}
	for _, e := range []sim.Engine{sim.EngineReference, sim.EngineAuto} {
		res, err := Run(context.Background(), net, data, Config{Steps: 4, Encoder: encode.Current{}, Engine: e})
		if err != nil {
			t.Fatal(err)
		}
		// t=1: no spikes, all predict 0: 1/3. t=2: sample 1 spikes on 1 (0.5·2=1),
		// sample 0 on 0: 2/3. t=4: sample 2's neuron 2 reaches 1.04 first: 3/3.
		want := []float64{1.0 / 3, 2.0 / 3, 2.0 / 3, 1}
		for i, w := range want {
			if d := res.AccuracyByT[i] - w; d > 1e-12 || d < -1e-12 {
				t.Fatalf("%v: accuracy by t %v, want %v", e, res.AccuracyByT, want)
			}
		}
		if res.Accuracy != 1 || res.Correct != 3 || res.Predictions[2] != 2 {
			t.Fatalf("%v: result %+v", e, res)
		}
		if res.FiringRates[0].Neurons != 3 || res.FiringRates[0].Rate <= 0 {
			t.Fatalf("%v: firing rates %+v", e, res.FiringRates)
		}
	}
	if _, err := Run(context.Background(), net, data, Config{Steps: 0}); err == nil {
		t.Fatal("T = 0 accepted")
	}
}

// TestChunking checks that splitting the run into time chunks and smaller
// batches (as long simulations are, to bound memory) changes nothing: the
// same accuracy at every step, predictions, synaptic operations and rates.
func TestChunking(t *testing.T) {
	net, err := snn.FromModel(nn.NewSequential(nn.NewLinear(nn.LinearConfig{In: 4, Out: 6, Bias: true}, rng()), nn.NewReLU(), nn.NewLinear(nn.LinearConfig{In: 6, Out: 3}, rng())), []int{4}, snn.DefaultConvertOptions())
	if err != nil {
		t.Fatal(err)
	}
	r := rng()
	var data tiny
	for i := 0; i < 7; i++ {
		data.images = append(data.images, []float32{r.Float32(), r.Float32(), r.Float32(), r.Float32()})
		data.labels = append(data.labels, i%3)
	}
	for _, e := range []sim.Engine{sim.EngineReference, sim.EngineAuto} {
		base := Config{Steps: 37, Batch: 5, Encoder: encode.Poisson{Seed: 4, Rate: 1.5}, Engine: e}
		want, err := Run(context.Background(), net, data, base)
		if err != nil {
			t.Fatal(err)
		}
		if want.SynOpsTotal == 0 || want.Accuracy == 0 {
			t.Fatalf("%v: nothing happened: %+v", e, want)
		}
		for _, chunk := range []int{4, 13, 4 * 7 * 5} {
			cfg := base
			cfg.ChunkValues = chunk
			got, err := Run(context.Background(), net, data, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got.AccuracyByT, got.Predictions, got.SynOpsTotal, got.FiringRates) != fmt.Sprint(want.AccuracyByT, want.Predictions, want.SynOpsTotal, want.FiringRates) {
				t.Fatalf("%v, chunks of %d values: %v %v %v, want %v %v %v", e, chunk, got.AccuracyByT, got.Predictions, got.SynOpsTotal, want.AccuracyByT, want.Predictions, want.SynOpsTotal)
			}
		}
	}
}

func rng() *rand.Rand { return rand.New(rand.NewPCG(3, 4)) }

// TestLongRunBoundedMemory runs a long simulation with an absurd batch: the
// run is fed in chunks of time, so it allocates a bounded amount (the
// per-step accuracy counts and one chunk), not batch × T × frame (which
// ran `snnkit run --timesteps 200000` out of memory).
func TestLongRunBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 200000 steps")
	}
	net, err := snn.FromModel(nn.NewSequential(nn.NewLinear(nn.LinearConfig{In: 4, Out: 3}, rng()), nn.NewReLU()), []int{4}, snn.DefaultConvertOptions())
	if err != nil {
		t.Fatal(err)
	}
	data := tiny{images: [][]float32{{0.9, 0.1, 0.5, 0.3}}, labels: []int{1}}
	const steps = 200000
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := Run(context.Background(), net, data, Config{Steps: steps, Batch: 100000000, Encoder: encode.Bernoulli{Seed: 1}})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.AccuracyByT) != steps {
		t.Fatalf("%d accuracies", len(res.AccuracyByT))
	}
	// 200000 steps: 1.6 MB of counts and 1.6 MB of accuracies; a chunk of
	// input is at most MaxChunkValues floats.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 4*MaxChunkValues+32*steps {
		t.Errorf("allocated %d MB", grew>>20)
	}
}
