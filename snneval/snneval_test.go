package snneval

import (
	"context"
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
	for _, e := range []snn.Engine{snn.EngineReference, snn.EngineAuto} {
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
