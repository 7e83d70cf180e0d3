package perf

import (
	"context"
	"github.com/snnkit/snnkit/sim"

	"github.com/snnkit/snnkit/encode"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/snneval"
)

// SNNResult is the speed of one engine on one network.
type SNNResult struct {
	Network          string  `json:"network"`
	Engine           string  `json:"engine"`
	Samples          int     `json:"samples"`
	Timesteps        int     `json:"timesteps"`
	Seconds          float64 `json:"seconds"`
	ImagesPerSecond  float64 `json:"images_per_second"`
	SynOpsPerImage   float64 `json:"synops_per_image"`
	SynOpsPerSecond  float64 `json:"synops_per_second"`
	DenseMACsPerStep float64 `json:"dense_macs_per_image_step"`
	DenseGFLOPS      float64 `json:"dense_equivalent_gflops"`
	Accuracy         float64 `json:"accuracy"`
	MeanFiringRate   float64 `json:"mean_firing_rate"`
}

// SNN simulates data with the given engine and encoder (nil: Bernoulli
// with seed 1) at steps time steps, and reports its speed.
func SNN(ctx context.Context, name string, net *snn.Network, data snneval.Dataset, steps int, engine sim.Engine, enc encode.Encoder) (SNNResult, error) {
	if enc == nil {
		enc = encode.Bernoulli{Seed: 1}
	}
	res, err := snneval.Run(ctx, net, data, snneval.Config{Steps: steps, Batch: 64, Encoder: enc, Engine: engine})
	if err != nil {
		return SNNResult{}, err
	}
	var macs float64
	for _, s := range res.SynOps {
		macs += float64(s.ANNMACs)
	}
	var spikes, neurons float64
	for _, r := range res.FiringRates {
		spikes += r.Rate * float64(r.Neurons)
		neurons += float64(r.Neurons)
	}
	return SNNResult{Network: name, Engine: engine.String(), Samples: res.Samples, Timesteps: steps, Seconds: res.Seconds,
		ImagesPerSecond: res.SamplesPerSecond, SynOpsPerImage: res.SynOpsTotal, SynOpsPerSecond: res.SynOpsTotal * res.SamplesPerSecond,
		DenseMACsPerStep: macs, DenseGFLOPS: 2 * macs * float64(steps) * res.SamplesPerSecond / 1e9,
		Accuracy: res.Accuracy, MeanFiringRate: spikes / neurons}, nil
}
