package snn

import (
	"fmt"

	"github.com/snnkit/snnkit/graph"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/tensor"
)

// NodeReport says what a conversion did with one node of the ANN.
type NodeReport struct {
	Node   string `json:"node"`
	Op     string `json:"op"`
	Action string `json:"action"` // converted, kept, folded, dropped or added
	Detail string `json:"detail,omitempty"`
}

// FromGraph converts an ANN graph into a spiking network, as FromModel
// does a Sequential: every ReLU becomes a spiking population of
// opts.Neuron (a QCFS layer one of threshold λ, its spikes carrying λ;
// with one λ per channel, the λs are first folded into the weights that
// feed and read it, BatchNorm folded, so that its population has threshold
// 1); Add and Concat stay joins, summing or joining the currents
// and spikes that reach them; Conv2d, Linear, pooling, global average
// pooling, Flatten, Scale and Normalize stay layers applied at every step
// (biases divided by opts.BiasRescaling); MaxPool2d becomes a
// SpikingMaxPool; a BatchNorm2d that is the only reader of a Conv2d is
// folded into it (whatever opts.FoldBatchNorm, which decides it for
// FromModel's chains), and one that is not stays a layer; Dropout and
// Identity disappear. Every
// other node is an error that names it. The ANN is not modified: the
// network holds copies of its layers. The report lists every node.
func FromGraph(g *graph.Graph, opts ConvertOptions) (*Network, []NodeReport, error) {
	if err := opts.Validate(); err != nil {
		return nil, nil, fmt.Errorf("convert: %w", err)
	}
	if err := g.Check(); err != nil {
		return nil, nil, fmt.Errorf("convert: %w", err)
	}
	var layers []nn.Layer
	for _, n := range g.Nodes {
		layers = append(layers, n.Layer)
	}
	if hasChannelLambdas(layers) {
		var err error
		if g, err = unitChannelLambdas(g); err != nil {
			return nil, nil, fmt.Errorf("convert: one λ per channel: %w", err)
		}
	}
	net := &Network{Input: append([]int(nil), g.Input...), Options: opts}
	var report []NodeReport
	alias := map[string]string{graph.Input: Input} // graph value -> stage name
	index := map[string]int{}                      // stage name -> index
	readers := map[string]int{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			readers[in]++
		}
	}
	out := g.Output
	if out == "" {
		out = g.Nodes[len(g.Nodes)-1].Name
	}
	relus := 0
	done := false
	amps := map[string]bool{}
	for _, n := range g.Nodes {
		op := fmt.Sprint(n.Op())
		if done {
			report = append(report, NodeReport{n.Name, op, "dropped", "after the output node " + out})
			continue
		}
		ins := make([]string, len(n.Inputs))
		for k, in := range n.Inputs {
			ins[k] = alias[in]
		}
		inShape := g.Input
		if ins[0] != Input {
			inShape = net.Stages[index[ins[0]]].Out
		}
		add := func(st Stage, action, detail string) {
			st.Name, st.Inputs, st.In, st.Out = n.Name, ins, inShape, n.Shape
			index[n.Name] = len(net.Stages)
			net.Stages = append(net.Stages, st)
			alias[n.Name] = n.Name
			report = append(report, NodeReport{n.Name, op, action, detail})
		}
		if n.Join != nil {
			j, err := nn.CloneJoin(n.Join)
			if err != nil {
				return nil, nil, fmt.Errorf("convert: node %s: %w", n.Name, err)
			}
			add(Stage{Join: j}, "kept", "joins currents and spikes")
		} else {
			switch l := n.Layer.(type) {
			case *nn.ReLU:
				nr := opts.Neuron
				add(Stage{Neuron: &nr}, "converted", "ReLU -> "+nr.Kind.String())
				relus++
			case *nn.QCFS:
				nr, err := qcfsNeuron(l, opts)
				if err != nil {
					return nil, nil, fmt.Errorf("convert: node %s: %w", n.Name, err)
				}
				add(Stage{Neuron: &nr}, "converted", fmt.Sprintf("%v -> %v", l, &nr))
				// Its spikes carry λ: a Scale its readers read instead.
				amp := amplitudeName(n.Name)
				index[amp] = len(net.Stages)
				net.Stages = append(net.Stages, Stage{Name: amp, Layer: nn.NewScale(nr.Threshold), Inputs: []string{n.Name}, In: n.Shape, Out: n.Shape})
				alias[n.Name], amps[amp] = amp, true
				relus++
			case *nn.Dropout, *nn.Identity:
				alias[n.Name] = ins[0]
				report = append(report, NodeReport{n.Name, op, "dropped", "identity in evaluation"})
			case *nn.BatchNorm2d:
				if err := l.CheckStats(); err != nil {
					return nil, nil, fmt.Errorf("convert: node %s: %w", n.Name, err)
				}
				if ins[0] != Input && readers[n.Inputs[0]] == 1 {
					if conv, ok := net.Stages[index[ins[0]]].Layer.(*nn.Conv2d); ok {
						foldBatchNorm(conv, l)
						alias[n.Name] = ins[0]
						report = append(report, NodeReport{n.Name, op, "folded", "into " + ins[0]})
						break
					}
				}
				c, _ := nn.CloneLayer(l)
				add(Stage{Layer: c}, "kept", "")
			case *nn.Conv2d, *nn.Linear:
				c, err := nn.CloneLayer(l)
				if err != nil {
					return nil, nil, fmt.Errorf("convert: node %s: %w", n.Name, err)
				}
				for _, p := range c.Params() {
					if p.Name == "bias" && opts.BiasRescaling != 1 {
						for j := range p.Value.Data {
							p.Value.Data[j] /= opts.BiasRescaling
						}
					}
				}
				add(Stage{Layer: c}, "kept", "applied at every step")
			case *nn.Pool2d, *nn.Flatten, *nn.GlobalAvgPool2d, *nn.Scale, *nn.Normalize:
				if p, ok := l.(*nn.Pool2d); ok && p.Kind == nn.PoolMax {
					add(Stage{MaxPool: &SpikingMaxPool{Kernel: p.Config.KernelHW, Stride: p.Config.StrideHW, Padding: p.Config.PaddingHW, CeilMode: p.Config.CeilMode}}, "converted",
						"MaxPool2d -> SpikingMaxPooling2dLayer: the spikes of each window's most-spiking input")
					break
				}
				c, err := nn.CloneLayer(l)
				if err != nil {
					return nil, nil, fmt.Errorf("convert: node %s: %w", n.Name, err)
				}
				add(Stage{Layer: c}, "kept", "applied at every step")
			default:
				return nil, nil, fmt.Errorf("convert: node %s: %v cannot be converted (supported: Conv2d, Linear, ReLU, pooling, global average pooling, Flatten, BatchNorm2d, Dropout, Identity, Normalize, Scale, Add, Concat)", n.Name, n.Layer)
			}
		}
		if n.Name == out {
			done = true
			if alias[n.Name] != n.Name && !amps[alias[n.Name]] {
				return nil, nil, fmt.Errorf("convert: the output node %s is dropped by the conversion", n.Name)
			}
		}
	}
	if relus == 0 {
		return nil, nil, fmt.Errorf("convert: the graph has no ReLU or QCFS to convert into spiking neurons")
	}
	folded, err := foldAmplitudes(net, amps)
	if err != nil {
		return nil, nil, fmt.Errorf("convert: %w", err)
	}
	for _, amp := range sortedKeys(amps) {
		if into, ok := folded[amp]; ok {
			report = append(report, NodeReport{amp, "Scale", "folded", "spike amplitude λ, into the weights of " + into})
		} else {
			report = append(report, NodeReport{amp, "Scale", "added", "spike amplitude λ"})
		}
	}
	last := &net.Stages[len(net.Stages)-1]
	if last.Name != out && last.Name != amplitudeName(out) {
		return nil, nil, fmt.Errorf("convert: the output node %s is not the last stage", out)
	}
	if opts.AddSpikingOutput && !last.Spiking() {
		nr := opts.Neuron
		shape := last.Out
		net.Stages = append(net.Stages, Stage{Name: "spike_output", Neuron: &nr, Inputs: []string{last.Name}, In: shape, Out: shape})
		report = append(report, NodeReport{"spike_output", nr.String(), "added", "spiking output (sinabs' add_spiking_output)"})
	}
	if _, err := net.Sources(); err != nil {
		return nil, nil, fmt.Errorf("convert: %w", err)
	}
	for i := range net.Stages {
		st := &net.Stages[i]
		if len(st.Inputs) > 0 && st.Join == nil && !tensor.SameShape(st.In, shapeOf(net, st.Inputs[0])) {
			return nil, nil, fmt.Errorf("convert: stage %s: input shape mismatch", st.Name)
		}
	}
	return net, report, nil
}

func shapeOf(net *Network, name string) []int {
	if name == Input {
		return net.Input
	}
	for i := range net.Stages {
		if net.Stages[i].Name == name {
			return net.Stages[i].Out
		}
	}
	return nil
}
