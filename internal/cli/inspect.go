package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/snnkit/snnkit/graph"
	"github.com/snnkit/snnkit/modelio"
	"github.com/snnkit/snnkit/nir"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/onnx"
	"github.com/snnkit/snnkit/safetensors"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

type inspectOptions struct {
	model, arch string
	json        bool
	dynamics    string
	dt          float64
}

// InspectNode is one node of `snnkit inspect --json`.
type InspectNode struct {
	Name   string      `json:"name"`
	Op     string      `json:"op"`
	Inputs []string    `json:"inputs"`
	Shape  []int       `json:"shape"`
	Params int         `json:"params"`
	MACs   int64       `json:"macs"`
	Neuron *snn.Neuron `json:"neuron,omitempty"`
}

// InspectReport is what `snnkit inspect --json` prints.
type InspectReport struct {
	Model  string        `json:"model"`
	Kind   string        `json:"kind"` // ann or snn
	Input  []int         `json:"input"`
	Nodes  []InspectNode `json:"nodes"`
	Params int           `json:"params"`
	MACs   int64         `json:"macs"`
	// A NIR file: its graph as written, the dynamics its simulation uses,
	// and, when it cannot be simulated, why.
	NIR      *InspectNIR `json:"nir,omitempty"`
	Dynamics string      `json:"nir_dynamics,omitempty"`
	Warning  string      `json:"warning,omitempty"`
}

// InspectNIR is a NIR file's graph in `snnkit inspect --json`.
type InspectNIR struct {
	Version string           `json:"version"`
	Nodes   []InspectNIRNode `json:"nodes"`
	Edges   [][2]string      `json:"edges"`
}

// InspectNIRNode is one NIR node: its type and its parameters' shapes.
type InspectNIRNode struct {
	Name   string           `json:"name"`
	Type   string           `json:"type"`
	Params map[string][]int `json:"params"`
}

// nirDynamicsText says what a simulation of a NIR model reads.
func nirDynamicsText(o nir.ReadOptions) string {
	if o.Dynamics == nir.Reference {
		return fmt.Sprintf("NIR's equations stepped by dt = %g: IF v += dt·R·I, LIF v = a·v + (1-a)·(R·I + v_leak) with a = exp(-dt/τ), CubaLIF the same behind I = a_s·I + (1-a_s)·w_in·x, one spike a step at v >= v_threshold, reset to v_reset; LI without spikes", o.DT)
	}
	return "sinabs' from_nir: IF → IAF(θ = v_threshold, MultiSpike, subtract reset, min_v_mem = -θ), LIF → LIF(τ_mem = tau steps, MultiSpike, subtract reset, no norm_input), LI → ExpLeak(τ = tau); r and v_reset not read"
}

func newInspectCmd(e *env) *cobra.Command {
	o := &inspectOptions{}
	cmd := &cobra.Command{
		Use:   "inspect",
		Short: "Print a model's graph: nodes, inputs, shapes, parameters and MACs",
		Long: `Print every node of a model (an ONNX file, an snnkit ANN or SNN file, or a
plain state_dict with --arch): its operation, what it reads, its output
shape, its parameter count and its multiply-accumulates per sample; for a
spiking network, the neuron settings of every population.`,
		Example: `  snnkit inspect -m model.onnx
  snnkit inspect -m snn.safetensors --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			nirOpts, err := nirOptions(cmd, o.model, o.dynamics, o.dt)
			if err != nil {
				return err
			}
			_, err = runInspect(e, o, nirOpts)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.model, "model", "m", "", "model file (.onnx or .safetensors)")
	f.StringVar(&o.arch, "arch", "", "architecture for a plain state_dict")
	f.BoolVar(&o.json, "json", false, "print one JSON object on stdout")
	registerNIR(f, &o.dynamics, &o.dt)
	markInput(f, "model", "arch")
	_ = cmd.MarkFlagRequired("model")
	return cmd
}

// layerCost returns a layer's parameter count and multiply-accumulates for
// one sample with output shape out.
func layerCost(l nn.Layer, out []int) (int, int64) {
	params := 0
	for _, p := range l.Params() {
		params += len(p.Value.Data)
	}
	switch v := l.(type) {
	case *nn.Conv2d:
		k := v.Config.KernelHW
		return params, int64(tensor.Numel(out)) * int64(v.Config.In/max(v.Config.Groups, 1)*k[0]*k[1])
	case *nn.Linear:
		return params, int64(v.Config.In) * int64(v.Config.Out)
	}
	return params, 0
}

func runInspect(e *env, o *inspectOptions, nirOpts nir.ReadOptions) (*InspectReport, error) {
	rep := &InspectReport{Model: o.model, Kind: "ann"}
	add := func(n InspectNode) {
		rep.Nodes = append(rep.Nodes, n)
		rep.Params += n.Params
		rep.MACs += n.MACs
	}
	fromGraph := func(g *graph.Graph) {
		rep.Input = g.Input
		for _, n := range g.Nodes {
			in := InspectNode{Name: n.Name, Op: fmt.Sprint(n.Op()), Inputs: n.Inputs, Shape: n.Shape}
			if n.Layer != nil {
				in.Params, in.MACs = layerCost(n.Layer, n.Shape)
			}
			add(in)
		}
	}
	fromNetwork := func(net *snn.Network) {
		rep.Kind, rep.Input = "snn", net.Input
		prev := snn.Input
		for _, st := range net.Stages {
			ins := slices.Clone(st.Inputs)
			if len(ins) == 0 {
				ins = []string{prev}
			}
			for k, name := range ins {
				if slices.Contains(st.Delayed, name) {
					ins[k] = name + " (a step late)"
				}
			}
			prev = st.Name
			in := InspectNode{Name: st.Name, Inputs: ins, Shape: st.Out, Neuron: st.Neuron}
			switch {
			case st.Neuron != nil:
				in.Op = st.Neuron.String()
			case st.Join != nil:
				in.Op = st.Join.String()
			case st.MaxPool != nil:
				in.Op = st.MaxPool.String()
			default:
				in.Op = st.Layer.String()
				in.Params, in.MACs = layerCost(st.Layer, st.Out)
			}
			add(in)
		}
	}
	out := e.info(o.json)
	switch {
	case nir.IsNIR(o.model):
		g, err := nir.Read(o.model)
		if err != nil {
			return nil, err
		}
		rep.NIR = &InspectNIR{Version: g.Version, Edges: g.Edges}
		for _, name := range g.Names {
			n := g.Nodes[name]
			in := InspectNIRNode{Name: name, Type: n.Type, Params: map[string][]int{}}
			for p, v := range n.Params {
				in.Params[p] = v.Shape
			}
			rep.NIR.Nodes = append(rep.NIR.Nodes, in)
		}
		fmt.Fprintf(out, "%s: NIR graph (version %q) of %d nodes and %d edges:\n%s", o.model, g.Version, len(g.Nodes), len(g.Edges), g)
		net, err := g.NetworkWith(nirOpts)
		if err != nil {
			// The graph read; it does not simulate. Say why, by name.
			rep.Kind, rep.Warning = "nir", err.Error()
			fmt.Fprintf(out, "warning: %s cannot be simulated: %v\n", o.model, err)
			if o.json {
				return rep, e.writeJSON(rep)
			}
			return rep, nil
		}
		rep.Dynamics = nirDynamicsText(nirOpts)
		fmt.Fprintf(out, "simulated with --nir-dynamics %s: %s\n\n", nirOpts.Dynamics, rep.Dynamics)
		fromNetwork(net)
		rep.Kind = "nir"
	case onnx.IsONNX(o.model):
		g, err := onnx.ReadFile(o.model)
		if err != nil {
			return nil, err
		}
		fromGraph(g)
	default:
		f, err := safetensors.ReadFile(o.model)
		if err != nil {
			return nil, err
		}
		if modelio.IsSNN(f) {
			net, err := modelio.SNNFromFile(f)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", o.model, err)
			}
			fromNetwork(net)
			break
		}
		spec, err := archOverride(o.arch)
		if err != nil {
			return nil, err
		}
		m, err := modelio.FromFile(f, spec)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.model, err)
		}
		g := m.Graph
		if g == nil {
			if g, err = graph.FromSequential(m.Net, m.Spec.Input); err != nil {
				return nil, err
			}
		}
		fromGraph(g)
	}
	fmt.Fprintf(out, "%s (%s), input %s\n", o.model, rep.Kind, tensor.ShapeString(rep.Input))
	fmt.Fprintf(out, "%-28s %-48s %-16s %10s %12s  %s\n", "node", "op", "shape", "params", "MACs", "inputs")
	for _, n := range rep.Nodes {
		op := n.Op
		if len(op) > 48 {
			op = op[:45] + "..."
		}
		fmt.Fprintf(out, "%-28s %-48s %-16s %10d %12d  %s\n", n.Name, op, tensor.ShapeString(n.Shape), n.Params, n.MACs, strings.Join(n.Inputs, ", "))
	}
	fmt.Fprintf(out, "%d nodes, %d parameters, %d multiply-accumulates per sample\n", len(rep.Nodes), rep.Params, rep.MACs)
	if o.json {
		return rep, e.writeJSON(rep)
	}
	return rep, nil
}
