package snneval

import (
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

// Points returns the Point of every checkpoint of res (Config.Checkpoints),
// a run of net; analog, eAC and eMAC are EstimateEnergy's. A checkpoint's
// point is what a run of its T reports: the simulation is causal, the
// encoders seed per sample, and time is cut into chunks at the checkpoints.
func (res *Result) Points(net *snn.Network, analog bool, eAC, eMAC float64) []Point {
	pts := make([]Point, len(res.Checkpoints))
	for i, c := range res.Checkpoints {
		pts[i] = Point{Steps: c.Steps, Accuracy: c.Accuracy, SynOps: c.SynOpsTotal, Energy: estimateEnergy(net, c.SynOps, analog, eAC, eMAC)}
	}
	return pts
}
