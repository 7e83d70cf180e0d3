// Package nir reads NIR files (the Neuromorphic Intermediate
// Representation, neuromorphs/NIR; Pedersen et al., Nature Communications
// 2024), the format spiking networks move in between sinabs, snnTorch,
// Norse, Rockpool, Lava and neuromorphic hardware, into snnkit's spiking
// networks.
//
// A NIR file is HDF5 (package hdf5): /version, and /node, a group of type
// "NIRGraph" holding edges ([source, target] names) and nodes/<name>/, each
// with its type and one dataset per parameter. Graph holds that as read;
// Graph.Network builds the snn.Network a simulation runs, with the
// dynamics sinabs' from_nir gives each node (Dynamics).
package nir

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/snnkit/snnkit/hdf5"
)

// Limits on what a file may ask for.
const (
	MaxNodes = 1 << 14
	MaxEdges = 1 << 16
)

// Graph is a NIR graph as a file holds it.
type Graph struct {
	Version string
	Nodes   map[string]*Node
	Edges   [][2]string // [source, target]
	// Names lists the nodes in the file's (sorted) order.
	Names []string
}

// Node is one NIR node: its type and parameters, or a nested graph.
type Node struct {
	Name   string
	Type   string
	Params map[string]*Param
	Graph  *Graph // Type "NIRGraph": the nested graph
}

// Param is one parameter of a node: numbers (with whether the file stores
// them as 32-bit floats) or strings, with their shape.
type Param struct {
	Shape   []int
	Values  []float64
	Float32 bool
	Strings []string
}

// IsNIR reports whether path names a NIR file: its extension is .nir
// (any case).
func IsNIR(path string) bool {
	i := strings.LastIndexByte(path, '.')
	return i >= 0 && !strings.ContainsAny(path[i:], "/\\") && strings.EqualFold(path[i+1:], "nir")
}

// Read reads the NIR file at path.
func Read(path string) (*Graph, error) {
	f, err := hdf5.Open(path)
	if err != nil {
		return nil, fmt.Errorf("nir: %w", err)
	}
	return fromFile(f, path)
}

// Parse reads a NIR file from b; name names it in errors.
func Parse(b []byte, name string) (*Graph, error) {
	f, err := hdf5.Parse(b, name)
	if err != nil {
		return nil, fmt.Errorf("nir: %w", err)
	}
	return fromFile(f, name)
}

func fromFile(f *hdf5.File, name string) (*Graph, error) {
	root, err := f.Root()
	if err != nil {
		return nil, fmt.Errorf("nir: %w", err)
	}
	version := ""
	if root.Has("version") {
		d, err := root.Dataset("version")
		if err != nil {
			return nil, fmt.Errorf("nir: %w", err)
		}
		s, err := d.Strings()
		if err != nil || len(s) != 1 {
			return nil, fmt.Errorf("nir: %s: /version is not one string: %v", name, err)
		}
		version = s[0]
	}
	if !root.Has("node") {
		return nil, fmt.Errorf("nir: %s: no /node group (not a NIR file)", name)
	}
	node, err := root.Group("node")
	if err != nil {
		return nil, fmt.Errorf("nir: %w", err)
	}
	n, err := readNode(node, "node", 0)
	if err != nil {
		return nil, fmt.Errorf("nir: %s: %w", name, err)
	}
	if n.Type != "NIRGraph" {
		return nil, fmt.Errorf("nir: %s: /node is a %s, not a NIRGraph", name, n.Type)
	}
	n.Graph.Version = version
	return n.Graph, nil
}

// readNode reads the node group g (named name), a graph's nodes within it.
func readNode(g *hdf5.Group, name string, depth int) (*Node, error) {
	if depth > hdf5.MaxDepth {
		return nil, fmt.Errorf("%s: graphs nest more than %d deep", g.Path(), hdf5.MaxDepth)
	}
	typ, err := stringParam(g, "type")
	if err != nil {
		return nil, err
	}
	n := &Node{Name: name, Type: typ, Params: map[string]*Param{}}
	for _, p := range g.Names() {
		if p == "type" {
			continue
		}
		isGroup, err := g.IsGroup(p)
		if err != nil {
			return nil, err
		}
		if isGroup {
			continue // nodes/ of a graph (below), metadata/: not parameters
		}
		d, err := g.Dataset(p)
		if err != nil {
			return nil, err
		}
		param := &Param{Shape: d.Shape}
		if d.Type.Class == hdf5.String {
			if param.Strings, err = d.Strings(); err != nil {
				return nil, err
			}
		} else {
			if param.Values, err = d.Float64s(); err != nil {
				return nil, err
			}
			param.Float32 = d.Type.Class == hdf5.Float && d.Type.Size == 4
		}
		n.Params[p] = param
	}
	if typ != "NIRGraph" {
		return n, nil
	}
	gr := &Graph{Nodes: map[string]*Node{}}
	n.Graph = gr
	if !g.Has("nodes") {
		return nil, fmt.Errorf("%s: a NIRGraph without nodes/", g.Path())
	}
	nodes, err := g.Group("nodes")
	if err != nil {
		return nil, err
	}
	names := nodes.Names()
	if len(names) > MaxNodes {
		return nil, fmt.Errorf("%s: %d nodes (at most %d)", nodes.Path(), len(names), MaxNodes)
	}
	for _, m := range names {
		sub, err := nodes.Group(m)
		if err != nil {
			return nil, err
		}
		child, err := readNode(sub, m, depth+1)
		if err != nil {
			return nil, err
		}
		gr.Nodes[m] = child
		gr.Names = append(gr.Names, m)
	}
	edges := n.Params["edges"]
	delete(n.Params, "edges")
	if edges == nil {
		return nil, fmt.Errorf("%s: a NIRGraph without edges", g.Path())
	}
	if len(edges.Strings) == 0 && len(edges.Shape) == 2 && edges.Shape[0] == 0 {
		return n, nil
	}
	if edges.Strings == nil || len(edges.Shape) != 2 || edges.Shape[1] != 2 {
		return nil, fmt.Errorf("%s/edges: want an E×2 array of node names, have shape %v", g.Path(), edges.Shape)
	}
	if edges.Shape[0] > MaxEdges {
		return nil, fmt.Errorf("%s/edges: %d edges (at most %d)", g.Path(), edges.Shape[0], MaxEdges)
	}
	for i := 0; i < edges.Shape[0]; i++ {
		e := [2]string{edges.Strings[2*i], edges.Strings[2*i+1]}
		for _, end := range e {
			if gr.Nodes[end] == nil {
				return nil, fmt.Errorf("%s/edges: edge %d (%s → %s) names %q, which is not a node", g.Path(), i, e[0], e[1], end)
			}
		}
		if slices.Contains(gr.Edges, e) {
			continue // the same edge twice carries nothing more
		}
		gr.Edges = append(gr.Edges, e)
	}
	return n, nil
}

func stringParam(g *hdf5.Group, name string) (string, error) {
	if !g.Has(name) {
		return "", fmt.Errorf("%s: no %s", g.Path(), name)
	}
	d, err := g.Dataset(name)
	if err != nil {
		return "", err
	}
	s, err := d.Strings()
	if err != nil {
		return "", err
	}
	if len(s) != 1 {
		return "", fmt.Errorf("%s/%s: %d strings, want one", g.Path(), name, len(s))
	}
	return s[0], nil
}

// ints returns the parameter as integers, or an error naming node and
// parameter.
func (n *Node) ints(name string, want int) ([]int, error) {
	p := n.Params[name]
	if p == nil || p.Values == nil {
		return nil, fmt.Errorf("node %s (%s): no numeric parameter %s", n.Name, n.Type, name)
	}
	if want >= 0 && len(p.Values) != want {
		return nil, fmt.Errorf("node %s (%s): %s has %d values, want %d", n.Name, n.Type, name, len(p.Values), want)
	}
	out := make([]int, len(p.Values))
	for i, v := range p.Values {
		if v != math.Trunc(v) || math.Abs(v) > 1<<24 {
			return nil, fmt.Errorf("node %s (%s): %s[%d] = %v is not an integer", n.Name, n.Type, name, i, v)
		}
		out[i] = int(v)
	}
	return out, nil
}

// uniform returns the one value every element of a parameter holds (NIR
// stores neuron parameters as arrays of the layer's shape; a snnkit
// population has one of each), or an error naming the node.
func (n *Node) uniform(name string) (float64, error) {
	p := n.Params[name]
	if p == nil || len(p.Values) == 0 {
		return 0, fmt.Errorf("node %s (%s): no parameter %s", n.Name, n.Type, name)
	}
	v := p.Values[0]
	for i, x := range p.Values {
		if x != v {
			return 0, fmt.Errorf("node %s (%s): %s differs between neurons (%v at 0, %v at %d); a population takes one value", n.Name, n.Type, name, v, x, i)
		}
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("node %s (%s): %s is %v", n.Name, n.Type, name, v)
	}
	return v, nil
}

// String lists the graph's nodes and edges, for messages and inspect.
func (g *Graph) String() string {
	var b strings.Builder
	for _, name := range g.Names {
		n := g.Nodes[name]
		fmt.Fprintf(&b, "%s: %s", name, n.Type)
		var ps []string
		for p := range n.Params {
			ps = append(ps, p)
		}
		slices.Sort(ps)
		for _, p := range ps {
			fmt.Fprintf(&b, " %s%v", p, n.Params[p].Shape)
		}
		b.WriteByte('\n')
	}
	for _, e := range g.Edges {
		fmt.Fprintf(&b, "%s -> %s\n", e[0], e[1])
	}
	return b.String()
}
