package nir

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/snnkit/snnkit/arch"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

// Dynamics is how Network reads NIR's continuous-time neurons.
type Dynamics int

const (
	// Sinabs reads what sinabs' from_nir builds (the default; see Network).
	Sinabs Dynamics = iota
	// Reference is NIR's own definition stepped with a time step dt: each
	// neuron's ODE with its exact exponential decay, one spike a step at
	// most, reset to v_reset (see NetworkWith).
	Reference
)

// ParseDynamics reads "sinabs" or "nir".
func ParseDynamics(s string) (Dynamics, error) {
	switch s {
	case "sinabs":
		return Sinabs, nil
	case "nir":
		return Reference, nil
	}
	return 0, fmt.Errorf("dynamics %q: want sinabs or nir", s)
}

// String names the dynamics as --nir-dynamics reads them.
func (d Dynamics) String() string {
	if d == Reference {
		return "nir"
	}
	return "sinabs"
}

// ReadOptions choose the dynamics NetworkWith gives NIR's neurons.
type ReadOptions struct {
	Dynamics Dynamics
	// DT is the time step in NIR's time units (seconds), for Reference.
	DT float64
}

// Network is NetworkWith the sinabs dynamics.
func (g *Graph) Network() (*snn.Network, error) { return g.NetworkWith(ReadOptions{}) }

// NetworkWith builds g as snnkit stages named by the NIR nodes (so a
// simulation's outputs are named by node). With the Sinabs dynamics it is
// the network sinabs' from_nir builds:
//
//   - IF: IAF with threshold v_threshold, MultiSpike, subtract reset, and
//     a floor at -v_threshold (sinabs' IAFSqueeze(spike_threshold=
//     v_threshold, min_v_mem=-v_threshold)); r and v_reset are not read.
//   - LIF: LIF with τ_mem = tau time steps, threshold v_threshold,
//     MultiSpike (sinabs' LIF default), subtract reset, no floor,
//     norm_input off (sinabs' LIFSqueeze(tau_mem=tau, norm_input=False,
//     min_v_mem=None)); r is not read, v_leak must be 0.
//   - LI: ExpLeak with τ = tau steps, norm_input off; v_leak 0 and r 1.
//   - Affine and Linear: Linear with and without bias; Conv2d: Conv2d
//     (stride, padding, dilation, groups, bias); SumPool2d: SumPool2d of
//     kernel_size and stride, its padding not read (sinabs' SumPool2d takes
//     none); AvgPool2d: AvgPool2d (which sinabs cannot import); Flatten of
//     the whole sample; Scale of one factor; Input and Output: the
//     network's input and output.
//
// With the Reference dynamics, NIR's equations stepped by opts.DT:
//
//   - IF (v' = R·I): v += dt·R·I; a spike when v >= v_threshold, one a
//     step at most; then v = v_reset.
//   - LIF (τ·v' = v_leak - v + R·I): v = a·v + (1-a)·(R·I + v_leak) with
//     a = exp(-dt/τ), the exact solution for an input constant over the
//     step; spikes and reset as IF.
//   - LI: the LIF equation without spikes.
//
// R·dt (IF) or R (LIF, LI) scales, and v_leak offsets, the weights and
// bias of the Conv2d, Affine or Linear that feeds the population and
// nothing else, which must exist unless R is 1 and v_leak 0.
//
// Nodes run in the edges' topological order (ties by name); a node fed by
// several sums them (an Add). A population has one threshold and one τ:
// neuron parameters that differ between neurons are an error naming the
// node, as are cycles, shapes that disagree (naming both nodes) and node
// types the dynamics do not read.
func (g *Graph) NetworkWith(opts ReadOptions) (*snn.Network, error) {
	if opts.Dynamics == Reference && !(opts.DT > 0 && opts.DT < math.Inf(1)) {
		return nil, fmt.Errorf("nir: the nir dynamics need a time step dt > 0, have %v", opts.DT)
	}
	order, preds, delayed, err := g.topoOrder()
	if err != nil {
		return nil, err
	}
	succs := map[string][]string{}
	for _, e := range g.Edges {
		succs[e[0]] = append(succs[e[0]], e[1])
	}
	var input, output string
	for _, name := range order {
		switch g.Nodes[name].Type {
		case "Input":
			if input != "" {
				return nil, fmt.Errorf("nir: nodes %s and %s are both Input nodes; one input is read", input, name)
			}
			input = name
		case "Output":
			if output != "" {
				return nil, fmt.Errorf("nir: nodes %s and %s are both Output nodes; one output is read", output, name)
			}
			output = name
		}
	}
	if input == "" || output == "" {
		return nil, fmt.Errorf("nir: the graph needs an Input and an Output node")
	}
	in := g.Nodes[input]
	shape, err := in.ints("shape", -1)
	if err != nil {
		return nil, fmt.Errorf("nir: %w", err)
	}
	if len(shape) == 0 || arch.CheckActivation(shape) != nil {
		return nil, fmt.Errorf("nir: node %s (Input): shape %v", input, shape)
	}
	for _, d := range shape {
		if d < 1 {
			return nil, fmt.Errorf("nir: node %s (Input): shape %v", input, shape)
		}
	}
	net := &snn.Network{Input: shape}
	shapes := map[string][]int{input: shape}
	stageOf := map[string]string{input: snn.Input} // node → the stage that holds its output
	params := 0
	var lateInto [][2]string // [source node, the sum stage reading it a step late]
	for _, name := range order {
		n := g.Nodes[name]
		if name == input {
			continue
		}
		ps := preds[name]
		if len(ps) == 0 {
			return nil, fmt.Errorf("nir: node %s (%s) has no input", name, n.Type)
		}
		// Several inputs are summed first, and so are inputs read a step
		// late (a recurrent connection).
		var now, late []string
		for _, p := range ps {
			if delayed[[2]string{p, name}] {
				late = append(late, p)
			} else {
				now = append(now, p)
			}
		}
		if len(now) == 0 {
			return nil, fmt.Errorf("nir: node %s (%s) is fed only by its own recurrence", name, n.Type)
		}
		src := stageOf[now[0]]
		cur := shapes[now[0]]
		if len(ps) > 1 || len(late) > 0 {
			var ins []string
			var inShapes [][]int
			for _, p := range now {
				if !slices.Equal(shapes[p], cur) {
					return nil, fmt.Errorf("nir: node %s (%s) sums its inputs %s %v and %s %v, which differ in shape", name, n.Type, now[0], cur, p, shapes[p])
				}
				ins = append(ins, stageOf[p])
				inShapes = append(inShapes, shapes[p])
			}
			sum := name + ".sum"
			add := nn.NewAdd()
			for range late {
				inShapes = append(inShapes, cur) // checked once its stage is built
			}
			out, err := add.OutShape(inShapes)
			if err != nil {
				return nil, fmt.Errorf("nir: node %s: %w", name, err)
			}
			// A late input's shape is known once its stage is built:
			// checked below.
			for _, p := range late {
				ins = append(ins, p)
				lateInto = append(lateInto, [2]string{p, sum})
			}
			net.Stages = append(net.Stages, snn.Stage{Name: sum, Join: add, Inputs: ins, Delayed: late, In: cur, Out: out})
			src = sum
		}
		if n.Type == "Output" {
			want, err := n.ints("shape", -1)
			if err == nil && !slices.Equal(want, cur) && !(len(want) == 0) {
				return nil, fmt.Errorf("nir: node %s (Output) has shape %v, but %s, which feeds it, gives %v", name, want, ps[0], cur)
			}
			if src != lastName(net) {
				return nil, fmt.Errorf("nir: the Output %s reads %s, but nodes after it in the graph feed no output", name, ps[0])
			}
			continue
		}
		var st snn.Stage
		var fold *folding
		if opts.Dynamics == Reference {
			st, fold, err = referenceStage(n, cur, opts.DT)
		} else {
			st, err = stage(n, cur)
		}
		if err != nil {
			return nil, fmt.Errorf("nir: %w", err)
		}
		if fold != nil && (fold.scale != 1 || fold.offset != 0) {
			if err := fold.into(net, ps, succs, name); err != nil {
				if fold.offset != 0 || src == snn.Input {
					return nil, fmt.Errorf("nir: %w", err)
				}
				// No layer of its own to fold into (a sum, a recurrent
				// one): a Scale stage before the population.
				f := fold.scale
				spec := arch.Layer{Type: "Scale", Factor: &f}
				sc, err := layerStage(n, spec, cur, nil)
				if err != nil {
					return nil, fmt.Errorf("nir: %w", err)
				}
				sc.Name, sc.Inputs, sc.In = name+".scale", []string{src}, cur
				net.Stages = append(net.Stages, sc)
				src = sc.Name
			}
		}
		if st.Layer != nil {
			for _, p := range st.Layer.Params() {
				params += p.Value.Len()
			}
			if params > arch.MaxParamsTotal {
				return nil, fmt.Errorf("nir: node %s: more than %d parameters", name, arch.MaxParamsTotal)
			}
		}
		st.Name, st.Inputs, st.In = name, []string{src}, cur
		if err := arch.CheckActivation(st.Out); err != nil {
			return nil, fmt.Errorf("nir: node %s (%s): %w", name, n.Type, err)
		}
		net.Stages = append(net.Stages, st)
		shapes[name] = st.Out
		stageOf[name] = name
	}
	if len(net.Stages) == 0 {
		return nil, fmt.Errorf("nir: the graph has no node between its Input and its Output")
	}
	for _, l := range lateInto {
		var sum *snn.Stage
		for i := range net.Stages {
			if net.Stages[i].Name == l[1] {
				sum = &net.Stages[i]
			}
		}
		if got := shapes[l[0]]; !slices.Equal(got, sum.Out) {
			return nil, fmt.Errorf("nir: node %s feeds %s back with shape %v, but it sums %v", l[0], strings.TrimSuffix(l[1], ".sum"), got, sum.Out)
		}
	}
	if _, _, err := net.DelayedSources(); err != nil {
		return nil, fmt.Errorf("nir: %w", err)
	}
	return net, nil
}

func lastName(net *snn.Network) string {
	if len(net.Stages) == 0 {
		return snn.Input
	}
	return net.Stages[len(net.Stages)-1].Name
}

// topoOrder sorts the nodes so that every edge runs forward (Kahn's
// algorithm, ties by name), and returns each node's sources in name order.
func (g *Graph) topoOrder() ([]string, map[string][]string, map[[2]string]bool, error) {
	preds := map[string][]string{}
	succs := map[string][]string{}
	indeg := map[string]int{}
	for _, name := range g.Names {
		if n := g.Nodes[name]; n.Type == "NIRGraph" {
			return nil, nil, nil, fmt.Errorf("nir: node %s is a nested NIRGraph, which is not read yet", name)
		}
		indeg[name] = 0
	}
	for _, e := range g.Edges {
		preds[e[1]] = append(preds[e[1]], e[0])
		succs[e[0]] = append(succs[e[0]], e[1])
		indeg[e[1]]++
	}
	for _, p := range preds {
		slices.Sort(p)
	}
	var ready, order []string
	for _, name := range g.Names {
		if indeg[name] == 0 {
			ready = append(ready, name)
		}
	}
	placed := map[string]bool{}
	delayed := map[[2]string]bool{}
	for len(order) < len(g.Names) {
		for len(ready) > 0 {
			slices.Sort(ready)
			name := ready[0]
			ready = ready[1:]
			order = append(order, name)
			placed[name] = true
			for _, s := range succs[name] {
				if delayed[[2]string{name, s}] {
					continue
				}
				if indeg[s]--; indeg[s] == 0 {
					ready = append(ready, s)
				}
			}
		}
		if len(order) == len(g.Names) {
			break
		}
		// What is left is the cycles and what they feed. A cycle through
		// a population is a recurrent connection with one step of delay:
		// its edges into the population read the step before. Delay them
		// at one population, the one the rest of the graph enters first.
		left := onCycles(g.Names, indeg, succs, delayed)
		pop := ""
		for _, name := range g.Names {
			if !left[name] || !spiking(g.Nodes[name].Type) {
				continue
			}
			entered := false
			for _, p := range preds[name] {
				entered = entered || placed[p]
			}
			if pop == "" || entered {
				pop = name
				if entered {
					break
				}
			}
		}
		if pop == "" {
			var cyc []string
			for _, name := range g.Names {
				if left[name] {
					cyc = append(cyc, name)
				}
			}
			return nil, nil, nil, fmt.Errorf("nir: the edges form a cycle through %s with no population to delay it", strings.Join(cyc, ", "))
		}
		for _, p := range preds[pop] {
			if left[p] && !delayed[[2]string{p, pop}] {
				delayed[[2]string{p, pop}] = true
				indeg[pop]--
			}
		}
		if indeg[pop] == 0 {
			ready = append(ready, pop)
		}
	}
	for _, name := range order {
		if n := g.Nodes[name]; n.Type != "Input" && len(preds[name]) == 0 {
			return nil, nil, nil, fmt.Errorf("nir: node %s (%s) has no input edge", name, n.Type)
		}
		if n := g.Nodes[name]; n.Type != "Output" && len(succs[name]) == 0 {
			return nil, nil, nil, fmt.Errorf("nir: node %s (%s) feeds nothing: no edge leaves it", name, n.Type)
		}
	}
	return order, preds, delayed, nil
}

// spiking reports whether a NIR node type is a population.
func spiking(t string) bool {
	switch t {
	case "IF", "LIF", "CubaLIF", "LI", "Integrator", "Threshold":
		return true
	}
	return false
}

// onCycles returns the nodes not yet ordered (indeg > 0) that lie on a
// cycle of edges not delayed: what Kahn's algorithm left, less what only
// the cycles feed.
func onCycles(names []string, indeg map[string]int, succs map[string][]string, delayed map[[2]string]bool) map[string]bool {
	left := map[string]bool{}
	for _, name := range names {
		if indeg[name] > 0 {
			left[name] = true
		}
	}
	for pruned := true; pruned; {
		pruned = false
		for _, name := range names {
			if !left[name] {
				continue
			}
			onward := false
			for _, s := range succs[name] {
				onward = onward || left[s] && !delayed[[2]string{name, s}]
			}
			if !onward {
				delete(left, name)
				pruned = true
			}
		}
	}
	return left
}

// stage builds the stage of node n on input shape in (Name, Inputs and In
// are the caller's).
func stage(n *Node, in []int) (snn.Stage, error) {
	switch n.Type {
	case "IF":
		th, err := n.uniform("v_threshold")
		if err != nil {
			return snn.Stage{}, err
		}
		if err := n.checkShape("v_threshold", in); err != nil {
			return snn.Stage{}, err
		}
		neuron := snn.DefaultIAF()
		neuron.Threshold, neuron.MinVMem = float32(th), -float32(th)
		return neuronStage(n, neuron, in)
	case "LIF":
		tau, err := n.uniform("tau")
		if err != nil {
			return snn.Stage{}, err
		}
		th, err := n.uniform("v_threshold")
		if err != nil {
			return snn.Stage{}, err
		}
		if err := n.checkShape("v_threshold", in); err != nil {
			return snn.Stage{}, err
		}
		if err := n.zero("v_leak"); err != nil {
			return snn.Stage{}, err
		}
		neuron := snn.Neuron{Kind: snn.LIF, Threshold: float32(th), TauMem: float32(tau), Spike: snn.MultiSpike, Reset: snn.ResetSubtract}
		return neuronStage(n, neuron, in)
	case "LI":
		tau, err := n.uniform("tau")
		if err != nil {
			return snn.Stage{}, err
		}
		if err := n.zero("v_leak"); err != nil {
			return snn.Stage{}, err
		}
		if r, err := n.uniform("r"); err != nil || r != 1 {
			return snn.Stage{}, fmt.Errorf("node %s (LI): r must be 1, as sinabs requires (%v, %v)", n.Name, r, err)
		}
		neuron := snn.Neuron{Kind: snn.ExpLeak, Threshold: 1, TauMem: float32(tau)}
		return neuronStage(n, neuron, in)
	case "Affine", "Linear":
		return n.linear(in)
	case "Conv2d":
		return n.conv(in)
	case "SumPool2d", "AvgPool2d":
		k, err := n.ints("kernel_size", 2)
		if err != nil {
			return snn.Stage{}, err
		}
		s, err := n.ints("stride", 2)
		if err != nil {
			return snn.Stage{}, err
		}
		spec := arch.Layer{Type: n.Type, KernelSize: arch.Pair{k[0], k[1]}, Stride: arch.Pair{s[0], s[1]}}
		if n.Type == "AvgPool2d" {
			if p, err := n.ints("padding", 2); err == nil {
				spec.Padding = arch.Pair{p[0], p[1]}
			}
		}
		return layerStage(n, spec, in, nil)
	case "Flatten":
		start, err := n.ints("start_dim", 1)
		if err != nil {
			return snn.Stage{}, err
		}
		end, err := n.ints("end_dim", 1)
		if err != nil {
			return snn.Stage{}, err
		}
		s, e := start[0], end[0]
		if s < 0 {
			s += len(in)
		}
		if e < 0 {
			e += len(in)
		}
		if s != 0 || e != len(in)-1 {
			return snn.Stage{}, fmt.Errorf("node %s (Flatten): dimensions %d to %d of %v; flattening the whole sample is read", n.Name, start[0], end[0], in)
		}
		return layerStage(n, arch.Layer{Type: "Flatten"}, in, nil)
	case "Scale":
		f, err := n.uniform("scale")
		if err != nil {
			return snn.Stage{}, err
		}
		return layerStage(n, arch.Layer{Type: "Scale", Factor: &f}, in, nil)
	}
	if n.Type == "CubaLIF" {
		return snn.Stage{}, fmt.Errorf("node %s: sinabs' from_nir does not read a CubaLIF; --nir-dynamics nir --dt DT simulates it", n.Name)
	}
	return snn.Stage{}, fmt.Errorf("node %s: type %s is not read (IF, LIF, LI, Affine, Linear, Conv2d, SumPool2d, AvgPool2d, Flatten, Scale, Input, Output are, and CubaLIF with --nir-dynamics nir)", n.Name, n.Type)
}

func neuronStage(n *Node, neuron snn.Neuron, in []int) (snn.Stage, error) {
	if err := neuron.Validate(); err != nil {
		return snn.Stage{}, fmt.Errorf("node %s (%s): %w", n.Name, n.Type, err)
	}
	return snn.Stage{Neuron: &neuron, Out: in}, nil
}

// checkShape requires a neuron parameter to have the shape of the
// population's input.
func (n *Node) checkShape(name string, in []int) error {
	p := n.Params[name]
	if len(p.Shape) == 0 || tensor.Numel(p.Shape) == 1 && tensor.Numel(in) != 1 {
		return nil // one value for all
	}
	if !slices.Equal(p.Shape, in) {
		return fmt.Errorf("node %s (%s): %s has shape %v, but its input gives %v", n.Name, n.Type, name, p.Shape, in)
	}
	return nil
}

// zero requires a parameter, if present, to be zero everywhere.
func (n *Node) zero(name string) error {
	p := n.Params[name]
	if p == nil {
		return nil
	}
	for _, v := range p.Values {
		if v != 0 {
			return fmt.Errorf("node %s (%s): %s must be 0, as sinabs requires (%v)", n.Name, n.Type, name, v)
		}
	}
	return nil
}

func (n *Node) linear(in []int) (snn.Stage, error) {
	w := n.Params["weight"]
	if w == nil || len(w.Shape) != 2 || w.Values == nil {
		return snn.Stage{}, fmt.Errorf("node %s (%s): weight must be a matrix [out, in]", n.Name, n.Type)
	}
	out, inF := w.Shape[0], w.Shape[1]
	if len(in) != 1 || in[0] != inF {
		return snn.Stage{}, fmt.Errorf("node %s (%s): weight [%d, %d] takes %d features, its input gives %v", n.Name, n.Type, out, inF, inF, in)
	}
	hasBias := n.Type == "Affine"
	spec := arch.Layer{Type: "Linear", InFeatures: inF, OutFeatures: out, Bias: &hasBias}
	tensors := map[string]*Param{"weight": w}
	if hasBias {
		b := n.Params["bias"]
		if b == nil || len(b.Values) != out {
			return snn.Stage{}, fmt.Errorf("node %s (Affine): bias must hold %d values", n.Name, out)
		}
		tensors["bias"] = b
	}
	return layerStage(n, spec, in, tensors)
}

func (n *Node) conv(in []int) (snn.Stage, error) {
	w := n.Params["weight"]
	if w == nil || len(w.Shape) != 4 || w.Values == nil {
		return snn.Stage{}, fmt.Errorf("node %s (Conv2d): weight must be [out, in/groups, kh, kw]", n.Name)
	}
	if len(in) != 3 {
		return snn.Stage{}, fmt.Errorf("node %s (Conv2d): its input gives %v, not [C, H, W]", n.Name, in)
	}
	groups := 1
	if n.Params["groups"] != nil {
		g, err := n.ints("groups", 1)
		if err != nil {
			return snn.Stage{}, err
		}
		groups = g[0]
	}
	if groups < 1 || in[0] != w.Shape[1]*groups {
		return snn.Stage{}, fmt.Errorf("node %s (Conv2d): weight %v in %d groups takes %d channels, its input gives %v", n.Name, w.Shape, groups, w.Shape[1]*max(groups, 1), in)
	}
	pair := func(name string, def int) (arch.Pair, error) {
		if n.Params[name] == nil {
			return arch.Pair{def, def}, nil
		}
		v, err := n.ints(name, -1)
		if err != nil {
			return arch.Pair{}, err
		}
		switch len(v) {
		case 1:
			return arch.Pair{v[0], v[0]}, nil
		case 2:
			return arch.Pair{v[0], v[1]}, nil
		}
		return arch.Pair{}, fmt.Errorf("node %s (Conv2d): %s has %d values", n.Name, name, len(v))
	}
	stride, err := pair("stride", 1)
	if err != nil {
		return snn.Stage{}, err
	}
	padding, err := pair("padding", 0)
	if err != nil {
		return snn.Stage{}, err
	}
	dilation, err := pair("dilation", 1)
	if err != nil {
		return snn.Stage{}, err
	}
	if p := n.Params["input_shape"]; p != nil && p.Values != nil {
		hw, err := n.ints("input_shape", -1)
		if err != nil {
			return snn.Stage{}, err
		}
		if len(hw) == 2 && (hw[0] != in[1] || hw[1] != in[2]) {
			return snn.Stage{}, fmt.Errorf("node %s (Conv2d): input_shape %v, but its input gives %v", n.Name, hw, in)
		}
	}
	t := true
	spec := arch.Layer{Type: "Conv2d", InChannels: in[0], OutChannels: w.Shape[0], KernelSize: arch.Pair{w.Shape[2], w.Shape[3]},
		Stride: stride, Padding: padding, Dilation: dilation, Groups: groups, Bias: &t}
	tensors := map[string]*Param{"weight": w}
	b := n.Params["bias"]
	if b == nil {
		b = &Param{Shape: []int{w.Shape[0]}, Values: make([]float64, w.Shape[0])}
	}
	if len(b.Values) != w.Shape[0] {
		return snn.Stage{}, fmt.Errorf("node %s (Conv2d): bias holds %d values for %d output channels", n.Name, len(b.Values), w.Shape[0])
	}
	tensors["bias"] = b
	return layerStage(n, spec, in, tensors)
}

// layerStage builds spec's layer on in and fills its tensors (by the
// layer's parameter names) from the node's parameters.
func layerStage(n *Node, spec arch.Layer, in []int, tensors map[string]*Param) (snn.Stage, error) {
	out, err := spec.OutShape(in)
	if err != nil {
		return snn.Stage{}, fmt.Errorf("node %s (%s): %w", n.Name, n.Type, err)
	}
	l, err := spec.Build(nil)
	if err != nil {
		return snn.Stage{}, fmt.Errorf("node %s (%s): %w", n.Name, n.Type, err)
	}
	for _, p := range l.Params() {
		src := tensors[p.Name]
		if src == nil {
			continue
		}
		if len(src.Values) != p.Value.Len() {
			return snn.Stage{}, fmt.Errorf("node %s (%s): %s holds %d values, the layer needs %d (shape %v)", n.Name, n.Type, p.Name, len(src.Values), p.Value.Len(), p.Value.Shape)
		}
		for i, v := range src.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > math.MaxFloat32 {
				return snn.Stage{}, fmt.Errorf("node %s (%s): %s[%d] is %v", n.Name, n.Type, p.Name, i, v)
			}
			p.Value.Data[i] = float32(v)
		}
	}
	return snn.Stage{Layer: l, Out: out}, nil
}

// folding is what a Reference population asks of the layer feeding it:
// weights times scale, bias times scale plus offset.
type folding struct {
	scale, offset float64
}

// into folds f into the weighted stage that feeds node name (its only
// source, read by nothing else).
func (f *folding) into(net *snn.Network, preds []string, succs map[string][]string, name string) error {
	var st *snn.Stage
	for i := range net.Stages {
		if len(preds) == 1 && net.Stages[i].Name == preds[0] {
			st = &net.Stages[i]
		}
	}
	if st == nil || len(succs[preds[0]]) != 1 {
		return fmt.Errorf("node %s: r and v_leak fold into the Conv2d, Affine or Linear feeding it alone, and it has none", name)
	}
	var w, b []float32
	switch l := st.Layer.(type) {
	case *nn.Conv2d:
		w = l.Weight.Value.Data
	case *nn.Linear:
		w = l.Weight.Value.Data
	default:
		return fmt.Errorf("node %s: r and v_leak fold into the layer feeding it, and %s is not a Conv2d, Affine or Linear", name, st.Name)
	}
	if f.offset != 0 {
		b = nn.EnsureBias(st.Layer) // a layer without bias gets one of zeros for v_leak
	} else if ps := st.Layer.Params(); len(ps) > 1 {
		b = ps[1].Value.Data
	}
	for i := range w {
		w[i] = float32(float64(w[i]) * f.scale)
	}
	for i := range b {
		b[i] = float32(float64(b[i])*f.scale + f.offset)
	}
	return nil
}

// referenceStage is stage with NIR's own dynamics stepped by dt.
func referenceStage(n *Node, in []int, dt float64) (snn.Stage, *folding, error) {
	uniformOr := func(name string, def float64) (float64, error) {
		if n.Params[name] == nil {
			return def, nil
		}
		return n.uniform(name)
	}
	switch n.Type {
	case "IF", "LIF", "LI":
	case "CubaLIF":
		return cubaLIF(n, in, dt)
	default:
		st, err := stage(n, in)
		return st, nil, err
	}
	r, err := uniformOr("r", 1)
	if err != nil {
		return snn.Stage{}, nil, err
	}
	leak, err := uniformOr("v_leak", 0)
	if err != nil {
		return snn.Stage{}, nil, err
	}
	reset, err := uniformOr("v_reset", 0)
	if err != nil {
		return snn.Stage{}, nil, err
	}
	var neuron snn.Neuron
	fold := &folding{scale: r, offset: leak}
	if n.Type != "LI" {
		th, err := n.uniform("v_threshold")
		if err != nil {
			return snn.Stage{}, nil, err
		}
		if err := n.checkShape("v_threshold", in); err != nil {
			return snn.Stage{}, nil, err
		}
		neuron = snn.Neuron{Kind: snn.IAF, Threshold: float32(th), Spike: snn.SingleSpike, Reset: snn.ResetToValue, ResetValue: float32(reset)}
	}
	if n.Type == "IF" {
		fold = &folding{scale: r * dt}
	} else {
		tau, err := n.uniform("tau")
		if err != nil {
			return snn.Stage{}, nil, err
		}
		steps := tau / dt
		if !(steps > 0) || steps > math.MaxFloat32 {
			return snn.Stage{}, nil, fmt.Errorf("node %s (%s): tau %v over dt %v is not a positive number of steps", n.Name, n.Type, tau, dt)
		}
		neuron.Kind, neuron.TauMem, neuron.NormInput = snn.LIF, float32(steps), true
		if n.Type == "LI" {
			neuron = snn.Neuron{Kind: snn.ExpLeak, Threshold: 1, TauMem: float32(steps), NormInput: true}
		}
	}
	st, err := neuronStage(n, neuron, in)
	return st, fold, err
}

// cubaLIF is a CubaLIF population under NIR's dynamics, stepped by dt:
// τ_syn·I' = -I + w_in·x and τ_mem·v' = v_leak - v + R·I, as
// I = a_s·I + (1-a_s)·w_in·x and v = a_m·v + (1-a_m)·R·I (the exact
// decays over a step, a = exp(-dt/τ)); one spike a step at v >=
// v_threshold, then v = v_reset. snnkit's synaptic current is
// I = a_s·(I + x'), so the input is scaled by R·w_in·(1-a_s)/a_s.
func cubaLIF(n *Node, in []int, dt float64) (snn.Stage, *folding, error) {
	get := func(name string, def float64, required bool) (float64, error) {
		if n.Params[name] == nil && !required {
			return def, nil
		}
		return n.uniform(name)
	}
	vals := map[string]float64{}
	for _, p := range []struct {
		name     string
		def      float64
		required bool
	}{{"tau_syn", 0, true}, {"tau_mem", 0, true}, {"v_threshold", 0, true}, {"r", 1, false}, {"w_in", 1, false}, {"v_leak", 0, false}, {"v_reset", 0, false}} {
		v, err := get(p.name, p.def, p.required)
		if err != nil {
			return snn.Stage{}, nil, err
		}
		vals[p.name] = v
	}
	if err := n.checkShape("v_threshold", in); err != nil {
		return snn.Stage{}, nil, err
	}
	if vals["v_leak"] != 0 {
		return snn.Stage{}, nil, fmt.Errorf("node %s (CubaLIF): v_leak %v: a leak towards a non-zero potential behind a synapse is not read", n.Name, vals["v_leak"])
	}
	syn, mem := vals["tau_syn"]/dt, vals["tau_mem"]/dt
	if !(syn > 0 && mem > 0) || syn > math.MaxFloat32 || mem > math.MaxFloat32 {
		return snn.Stage{}, nil, fmt.Errorf("node %s (CubaLIF): tau_syn %v and tau_mem %v over dt %v are not positive numbers of steps", n.Name, vals["tau_syn"], vals["tau_mem"], dt)
	}
	as := math.Exp(-1 / float64(float32(syn)))
	neuron := snn.Neuron{Kind: snn.LIF, Threshold: float32(vals["v_threshold"]), TauMem: float32(mem), TauSyn: float32(syn), NormInput: true,
		Spike: snn.SingleSpike, Reset: snn.ResetToValue, ResetValue: float32(vals["v_reset"])}
	st, err := neuronStage(n, neuron, in)
	return st, &folding{scale: vals["r"] * vals["w_in"] * (1 - as) / as}, err
}
