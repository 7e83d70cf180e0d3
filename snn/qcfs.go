package snn

import (
	"fmt"
	"sort"

	"github.com/snnkit/snnkit/graph"
	"github.com/snnkit/snnkit/nn"
)

// DefaultQCFSNeuron is the population a QCFS layer converts to (Bu et al.,
// ICLR 2022), before its threshold is set to the layer's λ: integrate and
// fire, one spike per step at most (the clip bounds the ANN's output at λ,
// one spike's worth), subtract reset, no floor, the membrane starting at
// half the threshold (the QCFS shift).
func DefaultQCFSNeuron() Neuron {
	return Neuron{Kind: IAF, Threshold: 1, Spike: SingleSpike, Reset: ResetSubtract, VInit: 0.5}
}

// HasQCFS reports whether an ANN holds QCFS activations, whose conversion
// defaults (the QCFS neuron, the membrane readout) differ from a ReLU
// network's.
func HasQCFS(layers []nn.Layer) bool {
	for _, l := range layers {
		if _, ok := l.(*nn.QCFS); ok {
			return true
		}
	}
	return false
}

// qcfsNeuron returns the population of QCFS layer l: opts.QCFSNeuron with
// threshold λ. A population has one threshold: λ per channel is first
// folded into the weights (unitChannelLambdas).
func qcfsNeuron(l *nn.QCFS, opts ConvertOptions) (Neuron, error) {
	if l.PerChannel() {
		return Neuron{}, fmt.Errorf("%v: one λ per channel reached the conversion unfolded", l)
	}
	n := opts.QCFSNeuron
	if n == (Neuron{}) {
		n = DefaultQCFSNeuron()
	}
	n.Threshold = l.Lambda.Value.Data[0]
	if err := n.Validate(); err != nil {
		return Neuron{}, fmt.Errorf("%v: threshold λ: %w", l, err)
	}
	return n, nil
}

// hasChannelLambdas reports whether layers hold a QCFS layer with one λ
// per channel.
func hasChannelLambdas(layers []nn.Layer) bool {
	for _, l := range layers {
		if q, ok := l.(*nn.QCFS); ok && q.PerChannel() {
			return true
		}
	}
	return false
}

// unitChannelLambdas returns a copy of g (BatchNorm folded) in which every
// QCFS layer with one λ per channel has become one with λ = 1, the weights
// feeding its channel c divided by λ_c and those reading it multiplied by
// λ_c (rescaleGraph; a shortcut that reads it unweighted passes through a
// depthwise 1×1 Conv2d holding the factors). QCFS is positively
// homogeneous, λ·h₁(x/λ) = h_λ(x), so the network computes what it did
// (exactly when every λ_c is a power of two) and each such layer converts
// to a population with one threshold, 1.
func unitChannelLambdas(g *graph.Graph) (*graph.Graph, error) {
	c, err := g.Clone()
	if err != nil {
		return nil, err
	}
	if err := foldGraphBatchNorms(c); err != nil {
		return nil, err
	}
	p := map[string][]float64{}
	for _, n := range c.Nodes {
		switch l := n.Layer.(type) {
		case *nn.ReLU:
			p[n.Name] = fill([]float64{1}, channels(n.Shape))
		case *nn.QCFS:
			s := make([]float64, channels(n.Shape))
			for i := range s {
				s[i] = 1
				if l.PerChannel() {
					s[i] = float64(l.Lambda.Value.Data[i])
				}
			}
			if err := checkScales(n.Name, s); err != nil {
				return nil, err
			}
			p[n.Name] = s
		}
	}
	// What reads the populations unweighted at the end keeps the ANN's
	// units: the output is the ANN's.
	if _, err := rescaleGraph(c, p, func([]float64) float64 { return 1 }); err != nil {
		return nil, err
	}
	for _, n := range c.Nodes {
		if q, ok := n.Layer.(*nn.QCFS); ok && q.PerChannel() {
			n.Layer = nn.NewQCFS(q.Levels, 1, 0)
		}
	}
	return c, c.Check()
}

// amplitudeName names the Scale stage that gives a QCFS population's spikes
// their amplitude λ.
func amplitudeName(pop string) string { return pop + ".amplitude" }

// foldAmplitudes folds each spike-amplitude Scale (the stages named in amps)
// into the one Conv2d or Linear it feeds through stages that commute with a
// positive factor (average and sum pooling, Flatten, global average pooling,
// the spiking max-pool), each read by one stage only: that layer's weights
// (not its bias) take the factor and the Scale goes, so weighted layers
// read spike counts (as synaptic-operation counts assume) and no pass over
// the frames scales them. A Scale that feeds a join, a population or the
// output stays. It returns, per folded Scale, the layer that took it.
func foldAmplitudes(net *Network, amps map[string]bool) (map[string]string, error) {
	folded := map[string]string{}
	for {
		src, err := net.Sources()
		if err != nil {
			return nil, err
		}
		readers := make([][]int, len(net.Stages))
		for i, ss := range src {
			for _, j := range ss {
				if j >= 0 {
					readers[j] = append(readers[j], i)
				}
			}
		}
		changed := false
		for a := range net.Stages {
			st := &net.Stages[a]
			if !amps[st.Name] {
				continue
			}
			f := st.Layer.(*nn.Scale).Factor
			target := -1
			for k := a; len(readers[k]) == 1; {
				r := readers[k][0]
				rs := &net.Stages[r]
				if rs.Join != nil || rs.Neuron != nil {
					break
				}
				if rs.MaxPool != nil {
					k = r
					continue
				}
				switch l := rs.Layer.(type) {
				case *nn.Pool2d:
					if l.Kind == nn.PoolMax {
						break
					}
					k = r
					continue
				case *nn.Flatten, *nn.GlobalAvgPool2d:
					k = r
					continue
				case *nn.Conv2d, *nn.Linear:
					target = r
				}
				break
			}
			if target < 0 {
				continue
			}
			var w []float32
			switch l := net.Stages[target].Layer.(type) {
			case *nn.Conv2d:
				w = l.Weight.Value.Data
			case *nn.Linear:
				w = l.Weight.Value.Data
			}
			for i := range w {
				w[i] *= f
			}
			folded[st.Name] = net.Stages[target].Name
			// The Scale's reader reads what the Scale read.
			r := &net.Stages[readers[a][0]]
			for i, in := range r.Inputs {
				if in == st.Name {
					r.Inputs[i] = st.Inputs[0]
				}
			}
			net.Stages = append(net.Stages[:a], net.Stages[a+1:]...)
			changed = true
			break
		}
		if !changed {
			return folded, nil
		}
	}
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
