package snneval

import (
	"github.com/snnkit/snnkit/monitor"
	"github.com/snnkit/snnkit/snn"
)

// Energy per operation by default, in joules: an accumulate (a synaptic
// operation of a spike) and a multiply-accumulate, 32-bit floating point
// at 45 nm (Horowitz, ISSCC 2014), as the conversion literature counts.
const (
	DefaultEnergyAC  = 0.9e-12
	DefaultEnergyMAC = 4.6e-12
)

// Energy is the estimated energy of one sample's inference.
type Energy struct {
	// SNN is the synaptic operations of spikes times the energy of an
	// accumulate, plus the multiply-accumulates of the layers that take
	// the analog input (once per image: a constant current's first layer
	// is computed once) times the energy of a multiply-accumulate.
	SNN float64 `json:"snn"`
	// ANN is the ANN's multiply-accumulates times the energy of one.
	ANN float64 `json:"ann"`
	// SpikeSynOps and AnalogMACs are the two counts of SNN.
	SpikeSynOps float64 `json:"spike_synops"`
	AnalogMACs  int64   `json:"analog_macs"`
}

// EstimateEnergy estimates the energy per sample of res, a run of net, with
// energies eAC and eMAC per operation. With analog input (a current), the
// weighted stages that read it before any spiking population do
// multiply-accumulates, counted once per image; their synaptic operations
// are not spikes'.
func EstimateEnergy(net *snn.Network, res *Result, analog bool, eAC, eMAC float64) Energy {
	return estimateEnergy(net, res.SynOps, analog, eAC, eMAC)
}

// estimateEnergy is EstimateEnergy from the counts of each weighted stage.
func estimateEnergy(net *snn.Network, layers []monitor.LayerSynOps, analog bool, eAC, eMAC float64) Energy {
	var e Energy
	fed := map[string]bool{}
	if analog {
		fed = AnalogStages(net)
	}
	var annMACs int64
	for _, s := range layers {
		annMACs += s.ANNMACs
		if fed[s.Name] {
			e.AnalogMACs += s.ANNMACs
			continue
		}
		e.SpikeSynOps += s.PerSample
	}
	e.SNN = e.SpikeSynOps*eAC + float64(e.AnalogMACs)*eMAC
	e.ANN = float64(annMACs) * eMAC
	return e
}

// AnalogStages names the stages of net that read the network's input
// through no spiking population: those that see analog values when the
// input is a current.
func AnalogStages(net *snn.Network) map[string]bool {
	src, err := net.Sources()
	if err != nil {
		return nil
	}
	analog := make([]bool, len(net.Stages))
	out := map[string]bool{}
	for i, ss := range src {
		for _, j := range ss {
			if j < 0 || (analog[j] && !net.Stages[j].Spiking()) {
				analog[i] = true
			}
		}
		if analog[i] {
			out[net.Stages[i].Name] = true
		}
	}
	return out
}
