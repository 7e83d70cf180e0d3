package snneval

import (
	"context"
	"fmt"

	"github.com/snnkit/snnkit/snn"
)

// Point is one time budget of a network: its accuracy, the operations it
// spent per sample and their estimated energy. Points over T are the
// accuracy-against-cost (Pareto) curve of a conversion.
type Point struct {
	Steps    int     `json:"timesteps"`
	Accuracy float64 `json:"accuracy"`
	// SynOps is every synaptic operation per sample as sinabs counts them,
	// those of the layers that read an analog input included.
	SynOps float64 `json:"synops_per_sample"`
	Energy Energy  `json:"energy_per_sample"`
}

// PointOf is the Point of res, a run of net; analog, eAC and eMAC are
// EstimateEnergy's.
func PointOf(net *snn.Network, res *Result, analog bool, eAC, eMAC float64) Point {
	return Point{Steps: res.Steps, Accuracy: res.Accuracy, SynOps: res.SynOpsTotal, Energy: EstimateEnergy(net, res, analog, eAC, eMAC)}
}

// Sweep simulates net on data once for every T of steps with cfg's other
// settings (cfg.Steps is ignored) and returns the points in the order of
// steps. Each T is a simulation of its own, so its operations are exactly
// what T steps spend; its accuracy is the AccuracyByT[T-1] of any longer run
// with the same encoder, since the simulation is causal and the encoders
// seed per sample.
func Sweep(ctx context.Context, net *snn.Network, data Dataset, cfg Config, steps []int, analog bool, eAC, eMAC float64) ([]Point, error) {
	if cfg.EarlyExit != nil {
		return nil, fmt.Errorf("snneval: a sweep over T runs every image for T steps; early exit does not apply")
	}
	points := make([]Point, 0, len(steps))
	for _, t := range steps {
		c := cfg
		c.Steps = t
		res, err := Run(ctx, net, data, c)
		if err != nil {
			return nil, fmt.Errorf("snneval: sweep at T=%d: %w", t, err)
		}
		points = append(points, PointOf(net, res, analog, eAC, eMAC))
	}
	return points, nil
}
