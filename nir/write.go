package nir

import (
	"fmt"
	"slices"

	"github.com/snnkit/snnkit/hdf5"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

// Version is the NIR version snnkit writes.
const Version = "1.0.0"

// WriteOptions choose how FromNetwork writes what sinabs cannot read.
type WriteOptions struct {
	// Exact writes NIR's own forms: AvgPool2d, and Linear for a layer
	// without bias. By default (false) the file is what sinabs' from_nir
	// reads back to the same spikes: an average pool as a SumPool2d with
	// the weights of the layer it feeds divided by its window, and every
	// Linear as an Affine with a zero bias where it has none (sinabs reads
	// neither AvgPool2d nor Linear).
	Exact bool
}

// FromNetwork returns net as a NIR graph whose nodes are its stages (by
// name) between an Input and an Output node; an Add becomes the edges
// that meet at its reader, which NIR sums. Populations must be what the
// NIR node reads back as (Network's mapping): IAF with MultiSpike,
// subtract reset and a floor at -θ (IF); LIF with MultiSpike, subtract
// reset, no floor and no norm_input (LIF); ExpLeak without norm_input
// (LI); none with an initial potential or a synaptic current. Anything
// else is an error naming the stage.
func FromNetwork(net *snn.Network, opts WriteOptions) (*Graph, error) {
	g := &Graph{Version: Version, Nodes: map[string]*Node{}}
	if net.Recurrent() {
		return nil, fmt.Errorf("nir: a recurrent network (a stage reads another one step late) is not written as NIR yet")
	}
	src, err := net.Sources()
	if err != nil {
		return nil, fmt.Errorf("nir: %w", err)
	}
	const in, out = "input", "output"
	for _, st := range net.Stages {
		if st.Name == in || st.Name == out {
			return nil, fmt.Errorf("nir: stage %s: the names input and output are the graph's", st.Name)
		}
	}
	g.add(&Node{Name: in, Type: "Input", Params: map[string]*Param{"shape": ints(net.Input)}})
	g.add(&Node{Name: out, Type: "Output", Params: map[string]*Param{"shape": ints(net.OutputShape())}})
	// Each stage's output, as NIR nodes: itself, or for an Add the nodes
	// it sums.
	outputs := make([][]string, len(net.Stages))
	inputNames := func(i int) []string {
		var names []string
		for _, j := range src[i] {
			if j < 0 {
				names = append(names, in)
			} else {
				names = append(names, outputs[j]...)
			}
		}
		return names
	}
	// Weight factors owed to a layer by an average pool written as a sum.
	owed := map[int]float64{}
	readers := make([][]int, len(net.Stages))
	for i, ss := range src {
		for _, j := range ss {
			if j >= 0 {
				readers[j] = append(readers[j], i)
			}
		}
	}
	for i, st := range net.Stages {
		if add, ok := st.Join.(*nn.Add); ok && add != nil {
			outputs[i] = inputNames(i)
			continue
		}
		n, err := stageNode(st, opts)
		if err != nil {
			return nil, fmt.Errorf("nir: %w", err)
		}
		if p, ok := st.Layer.(*nn.Pool2d); ok && p.Kind == nn.PoolAvg && !opts.Exact {
			// Written as a sum: the layer it feeds, through flatten,
			// divides by the window.
			k := float64(p.Config.KernelHW[0] * p.Config.KernelHW[1])
			target, err := weightedReader(net, readers, i)
			if err != nil {
				return nil, fmt.Errorf("nir: stage %s (an average pool, written as the sum sinabs reads): %w; write NIR's AvgPool2d with the exact form", st.Name, err)
			}
			if f, ok := owed[target]; ok {
				k *= f
			}
			owed[target] = k
		}
		if f, ok := owed[i]; ok {
			w := n.Params["weight"]
			for k := range w.Values {
				w.Values[k] = float64(float32(w.Values[k] / f))
			}
		}
		g.add(n)
		for _, s := range inputNames(i) {
			g.Edges = append(g.Edges, [2]string{s, st.Name})
		}
		outputs[i] = []string{st.Name}
	}
	for _, s := range outputs[len(net.Stages)-1] {
		g.Edges = append(g.Edges, [2]string{s, out})
	}
	return g, nil
}

func (g *Graph) add(n *Node) {
	g.Nodes[n.Name] = n
	g.Names = append(g.Names, n.Name)
}

// weightedReader follows stage i's only reader through Flatten to the
// Conv2d or Linear it feeds, which must read nothing else.
func weightedReader(net *snn.Network, readers [][]int, i int) (int, error) {
	for k := i; ; {
		if len(readers[k]) != 1 {
			return 0, fmt.Errorf("it feeds %d stages, not one weighted layer", len(readers[k]))
		}
		r := readers[k][0]
		switch net.Stages[r].Layer.(type) {
		case *nn.Conv2d, *nn.Linear:
			return r, nil
		case *nn.Flatten:
			k = r
			continue
		}
		return 0, fmt.Errorf("it feeds %s, not a weighted layer", net.Stages[r].Name)
	}
}

func ints(v []int) *Param {
	p := &Param{Shape: []int{len(v)}}
	for _, x := range v {
		p.Values = append(p.Values, float64(x))
	}
	return p
}

func scalarInt(v int) *Param { return &Param{Values: []float64{float64(v)}} }

// filled is a float32 parameter of shape holding v everywhere.
func filled(shape []int, v float32) *Param {
	p := &Param{Shape: slices.Clone(shape), Float32: true, Values: make([]float64, tensor.Numel(shape))}
	for i := range p.Values {
		p.Values[i] = float64(v)
	}
	return p
}

func floats(shape []int, v []float32) *Param {
	p := &Param{Shape: slices.Clone(shape), Float32: true, Values: make([]float64, len(v))}
	for i, x := range v {
		p.Values[i] = float64(x)
	}
	return p
}

// stageNode returns the NIR node of stage i.
func stageNode(st snn.Stage, opts WriteOptions) (*Node, error) {
	n := &Node{Name: st.Name, Params: map[string]*Param{}}
	switch {
	case st.Neuron != nil:
		return neuronNode(n, st)
	case st.Join != nil:
		return nil, fmt.Errorf("stage %s: a %v has no NIR node (an Add has: the edges meeting at its reader)", st.Name, st.Join)
	case st.MaxPool != nil:
		return nil, fmt.Errorf("stage %s: a spiking max-pool has no NIR node", st.Name)
	}
	switch l := st.Layer.(type) {
	case *nn.Conv2d:
		c := l.Config.Norm()
		if c.HasPadEnd && c.PadEndHW != c.PaddingHW {
			return nil, fmt.Errorf("stage %s: asymmetric padding has no NIR form", st.Name)
		}
		n.Type = "Conv2d"
		n.Params["weight"] = floats(l.Weight.Value.Shape, l.Weight.Value.Data)
		if l.Bias != nil {
			n.Params["bias"] = floats([]int{c.Out}, l.Bias.Value.Data)
		} else {
			n.Params["bias"] = filled([]int{c.Out}, 0)
		}
		n.Params["stride"] = ints(c.StrideHW[:])
		n.Params["padding"] = ints(c.PaddingHW[:])
		d := c.DilationHW
		if d == [2]int{} {
			d = [2]int{1, 1}
		}
		n.Params["dilation"] = ints(d[:])
		n.Params["groups"] = scalarInt(max(c.Groups, 1))
		n.Params["input_shape"] = ints(st.In[1:])
	case *nn.Linear:
		n.Type = "Affine"
		n.Params["weight"] = floats(l.Weight.Value.Shape, l.Weight.Value.Data)
		switch {
		case l.Bias != nil:
			n.Params["bias"] = floats([]int{l.Config.Out}, l.Bias.Value.Data)
		case opts.Exact:
			n.Type = "Linear"
		default:
			n.Params["bias"] = filled([]int{l.Config.Out}, 0)
		}
	case *nn.Pool2d:
		c := l.Config
		if c.CeilMode || c.ExcludePad {
			return nil, fmt.Errorf("stage %s: ceil mode and excluded padding have no NIR form", st.Name)
		}
		switch {
		case l.Kind == nn.PoolSum, l.Kind == nn.PoolAvg && !opts.Exact:
			n.Type = "SumPool2d"
			if c.PaddingHW != [2]int{} {
				return nil, fmt.Errorf("stage %s: a padded pool, which sinabs' SumPool2d does not read", st.Name)
			}
		case l.Kind == nn.PoolAvg:
			n.Type = "AvgPool2d"
		default:
			return nil, fmt.Errorf("stage %s: an analog max-pool has no NIR node", st.Name)
		}
		n.Params["kernel_size"] = ints(c.KernelHW[:])
		n.Params["stride"] = ints(c.StrideHW[:])
		n.Params["padding"] = ints(c.PaddingHW[:])
	case *nn.Flatten:
		n.Type = "Flatten"
		n.Params["start_dim"] = scalarInt(0)
		n.Params["end_dim"] = scalarInt(-1)
		n.Params["input_type"] = ints(st.In)
	case *nn.Scale:
		n.Type = "Scale"
		n.Params["scale"] = filled(st.In, l.Factor)
	default:
		return nil, fmt.Errorf("stage %s: %v has no NIR node", st.Name, st.Layer)
	}
	return n, nil
}

func neuronNode(n *Node, st snn.Stage) (*Node, error) {
	nr := st.Neuron
	bad := func(what string) error {
		return fmt.Errorf("stage %s: %v: %s, which the NIR node does not read back", st.Name, nr, what)
	}
	switch {
	case nr.VInit != 0:
		return nil, bad("an initial potential")
	case nr.TauSyn != 0:
		return nil, bad("a synaptic current")
	case nr.Kind != snn.ExpLeak && nr.Reset != snn.ResetSubtract:
		return nil, bad("a reset other than subtract")
	case nr.Kind != snn.ExpLeak && nr.Spike != snn.MultiSpike:
		return nil, bad("a spike function other than MultiSpike")
	}
	shape := st.Out
	switch nr.Kind {
	case snn.IAF:
		if !nr.HasFloor || nr.MinVMem != -nr.Threshold {
			return nil, bad("a floor other than -θ")
		}
		n.Type = "IF"
		n.Params["r"] = filled(shape, 1)
		n.Params["v_threshold"] = filled(shape, nr.Threshold)
		n.Params["v_reset"] = filled(shape, 0)
	case snn.LIF:
		if nr.HasFloor || nr.NormInput {
			return nil, bad("a floor or norm_input")
		}
		n.Type = "LIF"
		n.Params["tau"] = filled(shape, nr.TauMem)
		n.Params["r"] = filled(shape, 1)
		n.Params["v_leak"] = filled(shape, 0)
		n.Params["v_threshold"] = filled(shape, nr.Threshold)
		n.Params["v_reset"] = filled(shape, 0)
	case snn.ExpLeak:
		if nr.HasFloor || nr.NormInput {
			return nil, bad("a floor or norm_input")
		}
		n.Type = "LI"
		n.Params["tau"] = filled(shape, nr.TauMem)
		n.Params["r"] = filled(shape, 1)
		n.Params["v_leak"] = filled(shape, 0)
	default:
		return nil, bad("a neuron kind")
	}
	return n, nil
}

// Object returns g as the HDF5 tree of a NIR file.
func (g *Graph) Object() *hdf5.Object {
	root := hdf5.NewGroup()
	root.Members["version"] = hdf5.Scalar(g.Version)
	node := hdf5.NewGroup()
	root.Members["node"] = node
	node.Members["type"] = hdf5.Scalar("NIRGraph")
	edges := make([]string, 0, 2*len(g.Edges))
	for _, e := range g.Edges {
		edges = append(edges, e[0], e[1])
	}
	node.Members["edges"] = hdf5.Array(edges, len(g.Edges), 2)
	nodes := hdf5.NewGroup()
	node.Members["nodes"] = nodes
	for _, name := range g.Names {
		n := g.Nodes[name]
		o := hdf5.NewGroup()
		o.Members["type"] = hdf5.Scalar(n.Type)
		for k, p := range n.Params {
			o.Members[k] = p.object()
		}
		nodes.Members[name] = o
	}
	return root
}

func (p *Param) object() *hdf5.Object {
	switch {
	case p.Strings != nil:
		return hdf5.Array(p.Strings, p.Shape...)
	case p.Float32:
		v := make([]float32, len(p.Values))
		for i, x := range p.Values {
			v[i] = float32(x)
		}
		return hdf5.Array(v, p.Shape...)
	}
	whole := true
	for _, x := range p.Values {
		whole = whole && x == float64(int64(x))
	}
	if whole {
		v := make([]int64, len(p.Values))
		for i, x := range p.Values {
			v[i] = int64(x)
		}
		return hdf5.Array(v, p.Shape...)
	}
	return hdf5.Array(slices.Clone(p.Values), p.Shape...)
}

// Write writes g as a NIR file at path (through a temporary file renamed
// when complete).
func (g *Graph) Write(path string) error {
	if err := hdf5.WriteFile(path, g.Object()); err != nil {
		return fmt.Errorf("nir: %w", err)
	}
	return nil
}
