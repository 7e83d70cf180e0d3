// Package graph holds a network as a graph: named nodes in topological
// order, each reading the outputs of earlier nodes (or the network's input)
// by name. It is the one representation of the models snnkit imports and
// converts: residual blocks (Add), concatenated branches (Concat) and every
// layer of package nn. A Sequential is the special case of a chain, whose
// node names are the layer indices, as in PyTorch's state_dict.
//
//	g := graph.New([]int{1, 28, 28})
//	g.AddLayer("conv", nn.NewConv2d(cfg, rng), graph.Input)
//	g.AddLayer("relu", nn.NewReLU(), "conv")
//	g.AddJoin("sum", nn.NewAdd(), "relu", graph.Input)
//	err := g.Check() // infers and checks every shape
//
// Shapes are inferred and checked once, by Check; Forward and Backward then
// run a batch through the nodes in order, with every node's parameters
// named "<node>.<param>" as PyTorch names a module's (node names may hold
// dots, "blocks.0.c1", parameter names never do).
package graph

import (
	"fmt"
	"strings"

	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/tensor"
)

// Input is the name by which nodes read the network's input.
const Input = "input"

// Node is one operation of a graph: a layer of one input, or a join of
// several.
type Node struct {
	Name   string
	Inputs []string // producers, earlier nodes or Input
	Layer  nn.Layer // one input (nil for a join)
	Join   nn.Join  // several inputs (nil for a layer)
	Shape  []int    // the output's sample shape, set by Check
}

// Op returns the node's operation as printed: the layer or the join.
func (n *Node) Op() fmt.Stringer {
	if n.Join != nil {
		return n.Join
	}
	return n.Layer
}

// Graph is a network of nodes in topological order; the output of the last
// node, or of the node named Output, is the network's.
type Graph struct {
	Input  []int // sample shape of the input (without the batch dimension)
	Nodes  []*Node
	Output string // "" means the last node

	index   map[string]int
	checked bool
	// forward pass state
	outs []*tensor.Tensor
	// backward pass state
	grads    []*tensor.Tensor
	gradBufs []tensor.Tensor
}

// New returns an empty graph taking samples of the given shape.
func New(input []int) *Graph { return &Graph{Input: append([]int(nil), input...)} }

// AddLayer appends a node applying layer to the output of input.
func (g *Graph) AddLayer(name string, layer nn.Layer, input string) *Node {
	n := &Node{Name: name, Inputs: []string{input}, Layer: layer}
	g.Nodes = append(g.Nodes, n)
	g.checked, g.index = false, nil
	return n
}

// AddJoin appends a node joining the outputs of inputs.
func (g *Graph) AddJoin(name string, join nn.Join, inputs ...string) *Node {
	n := &Node{Name: name, Inputs: append([]string(nil), inputs...), Join: join}
	g.Nodes = append(g.Nodes, n)
	g.checked, g.index = false, nil
	return n
}

// FromSequential returns the chain of seq's layers, named "0", "1", ... as
// in a PyTorch Sequential's state_dict. The layers are shared, not copied.
func FromSequential(seq *nn.Sequential, input []int) (*Graph, error) {
	g := New(input)
	prev := Input
	for i, l := range seq.Layers {
		name := fmt.Sprint(i)
		g.AddLayer(name, l, prev)
		prev = name
	}
	return g, g.Check()
}

// Chain returns the graph's layers as a Sequential when the graph is a
// chain (every node reads the one before it, no join), false otherwise.
func (g *Graph) Chain() (*nn.Sequential, bool) {
	seq := &nn.Sequential{}
	prev := Input
	for _, n := range g.Nodes {
		if n.Join != nil || len(n.Inputs) != 1 || n.Inputs[0] != prev {
			return nil, false
		}
		seq.Layers = append(seq.Layers, n.Layer)
		prev = n.Name
	}
	return seq, len(g.Nodes) > 0 && g.outputIndex() == len(g.Nodes)-1
}

// Clone returns a deep copy of the graph: every layer and join copied with
// its parameters (nn.CloneLayer), checked.
func (g *Graph) Clone() (*Graph, error) {
	c := New(g.Input)
	c.Output = g.Output
	for _, n := range g.Nodes {
		m := &Node{Name: n.Name, Inputs: append([]string(nil), n.Inputs...)}
		var err error
		if n.Layer != nil {
			m.Layer, err = nn.CloneLayer(n.Layer)
		} else {
			m.Join, err = nn.CloneJoin(n.Join)
		}
		if err != nil {
			return nil, fmt.Errorf("graph: node %s: %w", n.Name, err)
		}
		c.Nodes = append(c.Nodes, m)
	}
	return c, c.Check()
}

// Remove deletes the layer node name, whose readers then read its input.
func (g *Graph) Remove(name string) error {
	n, ok := g.Node(name)
	if !ok || n.Layer == nil {
		return fmt.Errorf("graph: no layer node %q", name)
	}
	if g.Output == name || (g.Output == "" && g.Nodes[len(g.Nodes)-1] == n) {
		g.Output = n.Inputs[0]
		if g.Output == Input {
			return fmt.Errorf("graph: removing %s would leave no node", name)
		}
	}
	var nodes []*Node
	for _, m := range g.Nodes {
		if m == n {
			continue
		}
		for k, in := range m.Inputs {
			if in == name {
				m.Inputs[k] = n.Inputs[0]
			}
		}
		nodes = append(nodes, m)
	}
	g.Nodes = nodes
	g.index, g.checked = nil, false
	return g.Check()
}

// InsertBefore puts a layer node called name on input k of node before
// (which then reads it), keeping the topological order.
func (g *Graph) InsertBefore(before string, k int, name string, layer nn.Layer) error {
	n, ok := g.Node(before)
	if !ok || k < 0 || k >= len(n.Inputs) {
		return fmt.Errorf("graph: node %q has no input %d", before, k)
	}
	if _, taken := g.Node(name); taken || name == Input {
		return fmt.Errorf("graph: a node is already called %q", name)
	}
	var nodes []*Node
	for _, m := range g.Nodes {
		if m == n {
			nodes = append(nodes, &Node{Name: name, Inputs: []string{n.Inputs[k]}, Layer: layer})
		}
		nodes = append(nodes, m)
	}
	n.Inputs[k] = name
	g.Nodes = nodes
	g.index, g.checked = nil, false
	return g.Check()
}

// Prepend puts layer (which must keep the sample shape, such as a
// Normalize) in front of the graph as the node name: every node that read
// the input reads its output instead.
func (g *Graph) Prepend(name string, layer nn.Layer) error {
	if out, err := layer.OutShape(g.Input); err != nil {
		return fmt.Errorf("graph: %s: %w", name, err)
	} else if !tensor.SameShape(out, g.Input) {
		return fmt.Errorf("graph: %s changes the input shape %s to %s", name, tensor.ShapeString(g.Input), tensor.ShapeString(out))
	}
	if _, taken := g.Node(name); taken {
		return fmt.Errorf("graph: a node is already called %q", name)
	}
	for _, n := range g.Nodes {
		for k, in := range n.Inputs {
			if in == Input {
				n.Inputs[k] = name
			}
		}
	}
	g.Nodes = append([]*Node{{Name: name, Inputs: []string{Input}, Layer: layer}}, g.Nodes...)
	g.checked = false
	g.index = nil
	return g.Check()
}

// Node returns the node called name.
func (g *Graph) Node(name string) (*Node, bool) {
	if g.index == nil {
		g.reindex()
	}
	i, ok := g.index[name]
	if !ok {
		return nil, false
	}
	return g.Nodes[i], true
}

func (g *Graph) reindex() {
	g.index = make(map[string]int, len(g.Nodes))
	for i, n := range g.Nodes {
		if _, dup := g.index[n.Name]; !dup {
			g.index[n.Name] = i
		}
	}
}

func (g *Graph) outputIndex() int {
	if g.Output == "" {
		return len(g.Nodes) - 1
	}
	if g.index == nil {
		g.reindex()
	}
	if i, ok := g.index[g.Output]; ok {
		return i
	}
	return -1
}

// Check validates the graph and infers every node's output shape: names
// are unique, not empty and not Input; every node reads only Input or
// earlier nodes (the order is topological, so there is no cycle); layers
// have one input and joins at least one; every shape fits its operation.
// Errors name the node.
func (g *Graph) Check() error {
	g.checked = false
	g.reindex()
	if len(g.Input) == 0 {
		return fmt.Errorf("graph: no input shape")
	}
	for _, d := range g.Input {
		if d < 1 {
			return fmt.Errorf("graph: input shape %s", tensor.ShapeString(g.Input))
		}
	}
	if len(g.Nodes) == 0 {
		return fmt.Errorf("graph: no nodes")
	}
	shapes := map[string][]int{Input: g.Input}
	for i, n := range g.Nodes {
		if n.Name == "" || n.Name == Input || strings.ContainsAny(n.Name, " \t\n") {
			return fmt.Errorf("graph: node %d: name %q must be non-empty, without spaces, and not %q", i, n.Name, Input)
		}
		if g.index[n.Name] != i {
			return fmt.Errorf("graph: node %q: the name is used twice", n.Name)
		}
		if (n.Layer == nil) == (n.Join == nil) {
			return fmt.Errorf("graph: node %q: needs exactly one of a layer and a join", n.Name)
		}
		if n.Layer != nil && len(n.Inputs) != 1 {
			return fmt.Errorf("graph: node %q (%v): a layer takes one input, has %d", n.Name, n.Layer, len(n.Inputs))
		}
		ins := make([][]int, len(n.Inputs))
		for k, in := range n.Inputs {
			s, ok := shapes[in]
			if !ok {
				if _, later := g.index[in]; later {
					return fmt.Errorf("graph: node %q reads %q, which comes later (nodes must be in topological order)", n.Name, in)
				}
				return fmt.Errorf("graph: node %q reads %q, which does not exist", n.Name, in)
			}
			ins[k] = s
		}
		var out []int
		var err error
		if n.Layer != nil {
			out, err = n.Layer.OutShape(ins[0])
		} else {
			out, err = n.Join.OutShape(ins)
		}
		if err != nil {
			return fmt.Errorf("graph: node %q: %w", n.Name, err)
		}
		n.Shape = out
		shapes[n.Name] = out
	}
	if g.outputIndex() < 0 {
		return fmt.Errorf("graph: output %q is not a node", g.Output)
	}
	g.checked = true
	return nil
}

// ActivationsPerSample returns the values every node's output holds for one
// sample (after Check): what a forward pass keeps per sample.
func (g *Graph) ActivationsPerSample() int {
	n := 0
	for _, nd := range g.Nodes {
		n += tensor.Numel(nd.Shape)
	}
	return n
}

// OutputName returns the name of the node whose output is the network's.
func (g *Graph) OutputName() string {
	if g.Output != "" {
		return g.Output
	}
	return g.Nodes[len(g.Nodes)-1].Name
}

// OutputShape returns the sample shape of the network's output (after
// Check).
func (g *Graph) OutputShape() []int { return g.Nodes[g.outputIndex()].Shape }

// Consumers returns, for every node index, the indices of the nodes that
// read it (the output node has none unless others read it too).
func (g *Graph) Consumers() [][]int {
	c := make([][]int, len(g.Nodes))
	for j, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in != Input {
				i := g.index[in]
				c[i] = append(c[i], j)
			}
		}
	}
	return c
}

// Forward runs a batch x [B, ...input] through every node up to the output
// and returns the output (owned by its node). train selects training
// behaviour and keeps what Backward needs.
func (g *Graph) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	if !g.checked {
		if err := g.Check(); err != nil {
			return nil, err
		}
	}
	if len(x.Shape) != len(g.Input)+1 || !tensor.SameShape(x.Shape[1:], g.Input) {
		return nil, fmt.Errorf("graph: input has shape %s, want [batch, %s]", tensor.ShapeString(x.Shape), strings.Trim(tensor.ShapeString(g.Input), "[]"))
	}
	last := g.outputIndex()
	if len(g.outs) != len(g.Nodes) {
		g.outs = make([]*tensor.Tensor, len(g.Nodes))
	}
	get := func(name string) *tensor.Tensor {
		if name == Input {
			return x
		}
		return g.outs[g.index[name]]
	}
	for i, n := range g.Nodes[:last+1] {
		var out *tensor.Tensor
		var err error
		if n.Layer != nil {
			out, err = n.Layer.Forward(get(n.Inputs[0]), train)
		} else {
			xs := make([]*tensor.Tensor, len(n.Inputs))
			for k, in := range n.Inputs {
				xs[k] = get(in)
			}
			out, err = n.Join.Forward(xs, train)
		}
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", n.Name, err)
		}
		g.outs[i] = out
	}
	return g.outs[last], nil
}

// NodeOutput returns the output node name computed in the last Forward
// (owned by its node), nil if it was not computed.
func (g *Graph) NodeOutput(name string) *tensor.Tensor {
	i, ok := g.index[name]
	if !ok || i >= len(g.outs) {
		return nil
	}
	return g.outs[i]
}

// Backward propagates dy, the gradient with respect to the last Forward's
// output, to every node, accumulating parameter gradients. The gradient of
// a node read by several others is the sum of what each sends back. It
// does not compute the gradient of the input.
func (g *Graph) Backward(dy *tensor.Tensor) error {
	last := g.outputIndex()
	if g.outs == nil || g.outs[last] == nil {
		return fmt.Errorf("graph: Backward before Forward")
	}
	if len(g.grads) != len(g.Nodes) {
		g.grads = make([]*tensor.Tensor, len(g.Nodes))
		g.gradBufs = make([]tensor.Tensor, len(g.Nodes))
	}
	clear(g.grads)
	g.grads[last] = dy
	// add accumulates gradient d into node i's gradient. A node's first
	// gradient is kept by reference; a second one is summed into the
	// node's own buffer.
	add := func(i int, d *tensor.Tensor) {
		switch cur := g.grads[i]; {
		case cur == nil:
			g.grads[i] = d
		case cur == &g.gradBufs[i]:
			_ = tensor.Add(cur.Data, d.Data)
		default:
			buf := &g.gradBufs[i]
			buf.Resize(cur.Shape...)
			copy(buf.Data, cur.Data)
			_ = tensor.Add(buf.Data, d.Data)
			g.grads[i] = buf
		}
	}
	for i := last; i >= 0; i-- {
		n := g.Nodes[i]
		d := g.grads[i]
		if d == nil {
			continue // does not reach the output
		}
		needDX := false
		for _, in := range n.Inputs {
			needDX = needDX || in != Input
		}
		if n.Layer != nil {
			dx, err := n.Layer.Backward(d, needDX)
			if err != nil {
				return fmt.Errorf("node %s: %w", n.Name, err)
			}
			if in := n.Inputs[0]; in != Input {
				add(g.index[in], dx)
			}
			continue
		}
		dxs, err := n.Join.Backward(d)
		if err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
		for k, in := range n.Inputs {
			if in != Input {
				add(g.index[in], dxs[k])
			}
		}
	}
	return nil
}

// Params returns every trainable parameter, in node order.
func (g *Graph) Params() []*nn.Param {
	var ps []*nn.Param
	for _, n := range g.Nodes {
		if n.Layer != nil {
			ps = append(ps, n.Layer.Params()...)
		}
	}
	return ps
}

// StateDict lists parameters and buffers named "<node>.<name>", by node,
// parameters before buffers (PyTorch's order for a module).
func (g *Graph) StateDict() []nn.NamedTensor {
	var out []nn.NamedTensor
	for _, n := range g.Nodes {
		if n.Layer == nil {
			continue
		}
		for _, p := range n.Layer.Params() {
			out = append(out, nn.NamedTensor{Name: n.Name + "." + p.Name, Param: p})
		}
		if b, ok := n.Layer.(nn.Buffered); ok {
			for _, p := range b.Buffers() {
				out = append(out, nn.NamedTensor{Name: n.Name + "." + p.Name, Param: p})
			}
		}
	}
	return out
}

// ZeroGrad sets every parameter gradient to zero.
func (g *Graph) ZeroGrad() {
	for _, p := range g.Params() {
		p.Grad.Zero()
	}
}

// String prints the graph, one node a line: name, operation, inputs and
// output shape.
func (g *Graph) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Graph(input=%s\n", tensor.ShapeString(g.Input))
	for _, n := range g.Nodes {
		fmt.Fprintf(&b, "  (%s): %v <- %s", n.Name, n.Op(), strings.Join(n.Inputs, ", "))
		if n.Shape != nil {
			fmt.Fprintf(&b, "  %s", tensor.ShapeString(n.Shape))
		}
		b.WriteByte('\n')
	}
	b.WriteString(")")
	return b.String()
}
