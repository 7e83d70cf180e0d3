package arch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/snnkit/snnkit/graph"
	"github.com/snnkit/snnkit/nn"
)

// GraphFormat is the "format" of snnkit's graph architecture JSON, for
// networks that are not a chain: nodes with names and inputs, each a layer
// (the fields of a Spec layer) or a join ("Add", "Concat"):
//
//	{"format": "snnkit.graph/v1", "input": [1, 28, 28], "output": "head", "nodes": [
//	  {"name": "stem", "inputs": ["input"], "type": "Conv2d", "in_channels": 1, ...},
//	  {"name": "relu", "inputs": ["stem"], "type": "ReLU"},
//	  {"name": "sum", "inputs": ["relu", "stem"], "type": "Add"},
//	  ...]}
//
// "input" names the network's input; nodes come in topological order; the
// output is the last node unless "output" names another. Parameters are
// named "<node>.<param>" in model files, as PyTorch names a module's.
const GraphFormat = "snnkit.graph/v1"

// GraphNode is one node of a GraphSpec.
type GraphNode struct {
	Name   string
	Inputs []string
	Layer  Layer  // when Join is ""
	Join   string // "Add" or "Concat"
}

// GraphSpec is a graph architecture.
type GraphSpec struct {
	Input  []int
	Nodes  []GraphNode
	Output string
}

var joins = []string{"Add", "Concat"}

// MaxNodes bounds the nodes of a graph architecture.
const MaxNodes = 1 << 14

// ParseGraph reads a graph architecture, rejecting unknown types and
// fields, and checks it with Validate (without allocating its weights).
func ParseGraph(b []byte) (*GraphSpec, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("graph architecture: %w", err)
	}
	for k := range top {
		if k != "format" && k != "input" && k != "nodes" && k != "output" {
			return nil, fmt.Errorf("graph architecture: unknown field %q (want format, input, nodes and output)", k)
		}
	}
	var raw struct {
		Format string            `json:"format"`
		Input  []int             `json:"input"`
		Nodes  []json.RawMessage `json:"nodes"`
		Output string            `json:"output"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("graph architecture: %w", err)
	}
	if raw.Format != GraphFormat {
		return nil, fmt.Errorf("graph architecture: format %q, want %q", raw.Format, GraphFormat)
	}
	if len(raw.Nodes) > MaxNodes {
		return nil, fmt.Errorf("graph architecture: %d nodes, more than %d", len(raw.Nodes), MaxNodes)
	}
	s := &GraphSpec{Input: raw.Input, Output: raw.Output}
	for i, nr := range raw.Nodes {
		var head struct {
			Name   string   `json:"name"`
			Inputs []string `json:"inputs"`
			Type   string   `json:"type"`
		}
		dec := json.NewDecoder(bytes.NewReader(nr))
		if err := dec.Decode(&head); err != nil {
			return nil, fmt.Errorf("graph architecture: node %d: %w", i, err)
		}
		where := fmt.Sprintf("node %d (%q)", i, head.Name)
		n := GraphNode{Name: head.Name, Inputs: head.Inputs}
		if contains(joins, head.Type) {
			var keys map[string]json.RawMessage
			_ = json.Unmarshal(nr, &keys)
			for k := range keys {
				if k != "name" && k != "inputs" && k != "type" {
					return nil, fmt.Errorf("graph architecture: %s (%s): unknown field %q", where, head.Type, k)
				}
			}
			n.Join = head.Type
		} else {
			l, err := parseLayer(nr, where, "name", "inputs")
			if err != nil {
				return nil, fmt.Errorf("graph architecture: %w", err)
			}
			n.Layer = l
		}
		s.Nodes = append(s.Nodes, n)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// build makes the graph; with shapeOnly the layers hold no parameters (for
// checking a spec before anything it declares is allocated).
func (s *GraphSpec) build(rng *rand.Rand, shapeOnly bool) (*graph.Graph, error) {
	g := graph.New(s.Input)
	g.Output = s.Output
	total := 0
	for i, n := range s.Nodes {
		if n.Join != "" {
			var j nn.Join = nn.NewAdd()
			if n.Join == "Concat" {
				j = nn.NewConcat()
			}
			g.AddJoin(n.Name, j, n.Inputs...)
			continue
		}
		if err := n.Layer.check(); err != nil {
			return nil, fmt.Errorf("graph architecture: node %q (%s): %w", n.Name, n.Layer.Type, err)
		}
		if total += n.Layer.paramCount(); total > MaxParamsTotal {
			return nil, fmt.Errorf("graph architecture: more than %d parameters by node %d", MaxParamsTotal, i)
		}
		var l nn.Layer
		var err error
		if shapeOnly {
			l, err = n.Layer.shapeOnly()
		} else {
			l, err = n.Layer.build(rng)
		}
		if err != nil {
			return nil, fmt.Errorf("graph architecture: node %q (%s): %w", n.Name, n.Layer.Type, err)
		}
		if len(n.Inputs) != 1 {
			return nil, fmt.Errorf("graph architecture: node %q (%s): a layer takes one input, has %d", n.Name, n.Layer.Type, len(n.Inputs))
		}
		g.AddLayer(n.Name, l, n.Inputs[0])
	}
	if err := g.Check(); err != nil {
		return nil, fmt.Errorf("graph architecture: %w", err)
	}
	for _, n := range g.Nodes {
		if err := CheckActivation(n.Shape); err != nil {
			return nil, fmt.Errorf("graph architecture: node %q: %w", n.Name, err)
		}
	}
	return g, nil
}

// Validate checks names, wiring and every shape.
func (s *GraphSpec) Validate() error {
	if len(s.Input) == 0 || len(s.Input) > 3 {
		return fmt.Errorf("graph architecture: input shape %v, want [C, H, W] or [features]", s.Input)
	}
	for _, d := range s.Input {
		if d < 1 || d > MaxDim {
			return fmt.Errorf("graph architecture: input shape %v has a size outside [1, %d]", s.Input, MaxDim)
		}
	}
	if err := CheckActivation(s.Input); err != nil {
		return fmt.Errorf("graph architecture: input: %w", err)
	}
	_, err := s.build(nil, true)
	return err
}

// Build returns the graph with PyTorch's default initialisation drawn from
// rng (zero weights when rng is nil).
func (s *GraphSpec) Build(rng *rand.Rand) (*graph.Graph, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s.build(rng, false)
}

// StateShapes lists the tensors of the graph's state_dict, "<node>.<name>",
// in graph.Graph.StateDict's order, without building it.
func (s *GraphSpec) StateShapes() ([]TensorShape, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	var out []TensorShape
	for _, n := range s.Nodes {
		if n.Join != "" {
			continue
		}
		for _, ts := range n.Layer.TensorShapes() {
			out = append(out, TensorShape{n.Name + "." + ts.Name, ts.Shape})
		}
	}
	return out, nil
}

// JSON encodes the spec in the form ParseGraph reads.
func (s *GraphSpec) JSON() []byte {
	var b strings.Builder
	in, _ := json.Marshal(s.Input)
	fmt.Fprintf(&b, "{\"format\": %q, \"input\": %s", GraphFormat, in)
	if s.Output != "" {
		fmt.Fprintf(&b, ", \"output\": %q", s.Output)
	}
	b.WriteString(", \"nodes\": [")
	for i, n := range s.Nodes {
		if i > 0 {
			b.WriteString(",")
		}
		head, _ := json.Marshal(map[string]any{"name": n.Name, "inputs": n.Inputs})
		var body []byte
		if n.Join != "" {
			body, _ = json.Marshal(map[string]string{"type": n.Join})
		} else {
			body, _ = json.Marshal(n.Layer)
		}
		// Merge {"name", "inputs"} with the layer's fields.
		b.WriteString("\n  ")
		b.Write(head[:len(head)-1])
		b.WriteString(",")
		b.Write(body[1:])
	}
	b.WriteString("]}")
	return []byte(b.String())
}

// DescribeGraph describes an existing graph.
func DescribeGraph(g *graph.Graph) (*GraphSpec, error) {
	s := &GraphSpec{Input: append([]int(nil), g.Input...), Output: g.Output}
	for _, n := range g.Nodes {
		gn := GraphNode{Name: n.Name, Inputs: append([]string(nil), n.Inputs...)}
		switch j := n.Join.(type) {
		case nil:
			l, err := Describe(n.Layer)
			if err != nil {
				return nil, fmt.Errorf("node %s: %w", n.Name, err)
			}
			gn.Layer = l
		case *nn.Add:
			gn.Join = "Add"
		case *nn.Concat:
			gn.Join = "Concat"
		default:
			return nil, fmt.Errorf("node %s: %v has no description", n.Name, j)
		}
		s.Nodes = append(s.Nodes, gn)
	}
	return s, s.Validate()
}
