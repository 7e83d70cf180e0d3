// Package onnx reads ONNX models, as torch.onnx.export writes them (opsets
// 11-17), into a network graph (package graph). It decodes the protobuf
// wire format itself with google.golang.org/protobuf's protowire, reading
// only the messages and fields it needs, and trusts nothing in a file:
// every length and size is checked before anything is allocated, and every
// error names the node and its op.
//
// Supported ops (the domain ai.onnx):
//
//	Conv (groups, dilations, asymmetric pads), Gemm, MatMul with a
//	constant weight (with a following Add of a constant as its bias), Relu,
//	Clip(0, ∞) as a Relu, MaxPool and AveragePool (padding, ceil_mode,
//	count_include_pad; a zero Pad before an AveragePool is its padding),
//	GlobalAveragePool, Flatten (axis 1), Reshape to [batch, -1] (its
//	target folded from Shape, Gather, Unsqueeze and Concat), BatchNormalization,
//	Add and Concat (axis 1) of computed tensors, Dropout and Identity,
//	Constant, Pad of zeros (dropped) or folded into a following Conv, and
//	Sub then Div by per-channel constants on the input (a Normalize).
//
// Node names come from PyTorch's module paths: "/blocks/blocks.0/c1/Conv"
// becomes the node "blocks.0.c1", so the graph's state_dict uses PyTorch's
// parameter names where the exporter kept them.
package onnx

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/snnkit/snnkit/graph"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/tensor"
)

// MaxFileSize bounds the models ReadFile accepts (protobuf itself is limited
// to 2 GiB).
const MaxFileSize = 2 << 30

// Supported lists the op types Import understands.
var Supported = []string{"Add", "AveragePool", "BatchNormalization", "Clip", "Concat", "Constant", "Conv", "Div", "Dropout", "Flatten",
	"Gather", "Gemm", "GlobalAveragePool", "Identity", "MatMul", "MaxPool", "Pad", "Relu", "Reshape", "Shape", "Sub", "Unsqueeze"}

// ReadFile reads and imports an ONNX model file; errors name the file.
func ReadFile(path string) (*graph.Graph, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxFileSize)
	}
	m, err := ParseModel(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	g, err := Import(m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

// IsONNX reports whether path names an ONNX file by its extension.
func IsONNX(path string) bool {
	return strings.EqualFold(strings.TrimPrefix(pathExt(path), "."), "onnx")
}

func pathExt(p string) string {
	if i := strings.LastIndexByte(p, '.'); i >= 0 && !strings.ContainsAny(p[i:], "/\\") {
		return p[i:]
	}
	return ""
}

// batchDim marks the dynamic batch dimension in folded shape values.
const batchDim = -1 << 62

// value is what an ONNX tensor name stands for while importing: the output
// of a graph node, or a constant.
type value struct {
	node  string // graph node ("" for a constant)
	shape []int  // sample shape of a node, full shape of a constant
	vals  []float32
	ints  []int64 // integer constants and folded shapes (batchDim for the batch)
	isInt bool
	// A zero Pad waiting for the Conv that reads it: padOf is the
	// unpadded value, padHW the padding of H and W.
	padHW *[2]int
	padOf *value
}

type importer struct {
	m      *Model
	g      *graph.Graph
	vals   map[string]*value
	uses   map[string]int // how many node inputs and graph outputs read a name
	names  map[string]bool
	opset  int64
	normal string // the input normalisation node being built
	layers map[string]nn.Layer
	paths  map[string]int // module path to the graph nodes torch placed in it
	consts map[string]bool
}

// Import converts a parsed model into a graph, checked.
func Import(m *Model) (*graph.Graph, error) {
	im := &importer{m: m, vals: map[string]*value{}, uses: map[string]int{}, names: map[string]bool{}, layers: map[string]nn.Layer{}}
	if v, ok := m.Opsets[""]; ok {
		im.opset = v
	} else if v, ok := m.Opsets["ai.onnx"]; ok {
		im.opset = v
	}
	if im.opset != 0 && (im.opset < 7 || im.opset > 21) {
		return nil, fmt.Errorf("onnx: opset %d not supported (torch.onnx.export writes 11 to 17)", im.opset)
	}
	g := m.Graph
	for i := range g.Initializers {
		t := &g.Initializers[i]
		if err := im.constant(t.Name, t); err != nil {
			return nil, fmt.Errorf("onnx: initializer %w", err)
		}
	}
	// The data input: the graph input that is not an initializer.
	var data []ValueInfo
	for _, in := range g.Inputs {
		if _, ok := im.vals[in.Name]; !ok {
			data = append(data, in)
		}
	}
	if len(data) != 1 {
		return nil, fmt.Errorf("onnx: the graph has %d data inputs, snnkit takes one", len(data))
	}
	in := data[0]
	if in.ElemType != 0 && in.ElemType != Float {
		return nil, fmt.Errorf("onnx: input %q has element type %d, want float", in.Name, in.ElemType)
	}
	if !in.HasShape || len(in.Dims) < 2 {
		return nil, fmt.Errorf("onnx: input %q has no shape [batch, ...]: export with a sample input", in.Name)
	}
	sample := make([]int, len(in.Dims)-1)
	for i, d := range in.Dims[1:] {
		if d.Value < 1 || d.Value > 1<<16 {
			return nil, fmt.Errorf("onnx: input %q: dimension %d is %v (only the batch may be dynamic)", in.Name, i+1, dimString(d))
		}
		sample[i] = int(d.Value)
	}
	im.g = graph.New(sample)
	im.vals[in.Name] = &value{node: graph.Input, shape: sample}
	im.names[graph.Input] = true
	im.planNames()
	for _, n := range g.Nodes {
		for _, x := range n.Inputs {
			im.uses[x]++
		}
	}
	if len(g.Outputs) != 1 {
		return nil, fmt.Errorf("onnx: the graph has %d outputs, snnkit takes one", len(g.Outputs))
	}
	im.uses[g.Outputs[0].Name]++
	for i := range g.Nodes {
		n := &g.Nodes[i]
		if err := im.node(n); err != nil {
			name := n.Name
			if name == "" {
				name = fmt.Sprintf("%d", i)
			}
			return nil, fmt.Errorf("onnx: node %s (%s): %w", name, n.OpType, err)
		}
	}
	out, ok := im.vals[g.Outputs[0].Name]
	if !ok || out.node == "" {
		return nil, fmt.Errorf("onnx: output %q is not computed from the input", g.Outputs[0].Name)
	}
	if out.node == graph.Input {
		return nil, fmt.Errorf("onnx: the output is the input")
	}
	im.g.Output = out.node
	if err := im.g.Check(); err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return im.g, nil
}

func dimString(d Dim) string {
	if d.Param != "" {
		return fmt.Sprintf("%q (dynamic)", d.Param)
	}
	return fmt.Sprint(d.Value)
}

// constant records a constant tensor.
func (im *importer) constant(name string, t *Tensor) error {
	shape, err := t.Shape()
	if err != nil {
		return err
	}
	v := &value{shape: shape}
	if t.DataType == Int64 || t.DataType == Int32 {
		if v.ints, err = t.Int64Values(); err != nil {
			return err
		}
		v.isInt = true
	} else if v.vals, err = t.Float32s(); err != nil {
		return err
	}
	im.vals[name] = v
	return nil
}

// modulePath splits a torch node name into its module path and op:
// "/blocks/blocks.0/c1/Conv" is ("blocks.0.c1", "Conv").
func modulePath(name string) (path, op string) {
	segs := strings.Split(strings.Trim(name, "/"), "/")
	// Each segment is a child of the one before, except that torch names a
	// child of a Sequential or ModuleList "<parent>.<index>", repeating the
	// parent's own segment ("/short/short.0" is "short.0").
	var parts []string
	for _, s := range segs[:len(segs)-1] {
		if k := len(parts) - 1; k >= 0 && strings.HasPrefix(s, parts[k]+".") {
			parts[k] = s
		} else {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "."), segs[len(segs)-1]
}

// makesNode reports whether an ONNX node becomes a graph node (rather than
// a constant, a shape computation, an alias or a folded bias or padding).
func (im *importer) makesNode(n *Node) bool {
	allConst := func() bool {
		for _, in := range n.Inputs {
			if in != "" && !im.consts[in] {
				return false
			}
		}
		return true
	}
	anyConst := false
	for _, in := range n.Inputs {
		anyConst = anyConst || im.consts[in]
	}
	switch n.OpType {
	case "Constant", "Shape", "Gather", "Unsqueeze", "Identity", "Dropout", "Pad", "Div":
		return false
	case "Add":
		return !anyConst
	case "Concat":
		return !allConst()
	}
	return true
}

// planNames finds the constant values and counts the graph nodes per
// torch module path, before any node is converted.
func (im *importer) planNames() {
	im.consts = map[string]bool{}
	for _, t := range im.m.Graph.Initializers {
		im.consts[t.Name] = true
	}
	im.paths = map[string]int{}
	for i := range im.m.Graph.Nodes {
		n := &im.m.Graph.Nodes[i]
		switch n.OpType {
		case "Constant", "Shape":
			for _, o := range n.Outputs {
				im.consts[o] = true
			}
		case "Gather", "Unsqueeze", "Concat":
			all := true
			for _, in := range n.Inputs {
				all = all && im.consts[in]
			}
			if all {
				for _, o := range n.Outputs {
					im.consts[o] = true
				}
			}
		}
		if im.makesNode(n) {
			path, _ := modulePath(n.Name)
			im.paths[path]++
		}
	}
}

// nodeName names the graph node made from n: its module path when the
// module makes only this node (so its parameters get PyTorch's names),
// else the path and the op ("blocks.0.Relu_1"), made unique.
func (im *importer) nodeName(n *Node) string {
	path, op := modulePath(n.Name)
	if op == "" {
		op = n.OpType
	}
	name := path
	if name == "" || im.paths[path] > 1 {
		name = strings.TrimPrefix(path+"."+op, ".")
	}
	base := name
	for k := 1; im.names[name]; k++ {
		name = fmt.Sprintf("%s_%d", base, k)
	}
	im.names[name] = true
	return name
}

func (n *Node) attr(name string) *Attribute {
	for i := range n.Attrs {
		if n.Attrs[i].Name == name {
			return &n.Attrs[i]
		}
	}
	return nil
}

func (n *Node) intAttr(name string, def int64) int64 {
	if a := n.attr(name); a != nil {
		return a.I
	}
	return def
}

func (n *Node) floatAttr(name string, def float32) float32 {
	if a := n.attr(name); a != nil {
		return a.F
	}
	return def
}

func (n *Node) intsAttr(name string) []int64 {
	if a := n.attr(name); a != nil {
		return a.Ints
	}
	return nil
}

func (im *importer) input(n *Node, k int) (*value, error) {
	if k >= len(n.Inputs) || n.Inputs[k] == "" {
		return nil, fmt.Errorf("input %d missing", k)
	}
	v, ok := im.vals[n.Inputs[k]]
	if !ok {
		return nil, fmt.Errorf("input %q is neither computed before this node nor an initializer", n.Inputs[k])
	}
	return v, nil
}

// computed returns input k, which must come from the graph input.
func (im *importer) computed(n *Node, k int) (*value, error) {
	v, err := im.input(n, k)
	if err != nil {
		return nil, err
	}
	if v.node == "" {
		return nil, fmt.Errorf("input %q is a constant; snnkit folds constants only into weights", n.Inputs[k])
	}
	return v, nil
}

// constInput returns input k, which must be a constant.
func (im *importer) constInput(n *Node, k int) (*value, error) {
	v, err := im.input(n, k)
	if err != nil {
		return nil, err
	}
	if v.node != "" {
		return nil, fmt.Errorf("input %q must be a constant (an initializer or a Constant node)", n.Inputs[k])
	}
	return v, nil
}

func (im *importer) output(n *Node, v *value) error {
	if len(n.Outputs) < 1 || n.Outputs[0] == "" {
		return errors.New("no output")
	}
	im.vals[n.Outputs[0]] = v
	return nil
}

// addLayer adds layer reading x and records it as the node's output.
func (im *importer) addLayer(n *Node, layer nn.Layer, x *value) error {
	out, err := layer.OutShape(x.shape)
	if err != nil {
		return err
	}
	name := im.nodeName(n)
	im.g.AddLayer(name, layer, x.node)
	im.layers[name] = layer
	return im.output(n, &value{node: name, shape: out})
}

// unary adds layer applied to the node's first input, which must be
// computed from the graph input.
func (im *importer) unary(n *Node, layer nn.Layer) error {
	x, err := im.computed(n, 0)
	if err != nil {
		return err
	}
	return im.addLayer(n, layer, x)
}

func (im *importer) node(n *Node) error {
	if n.Domain != "" && n.Domain != "ai.onnx" {
		return fmt.Errorf("domain %q not supported", n.Domain)
	}
	switch n.OpType {
	case "Constant":
		a := n.attr("value")
		if a == nil || a.T == nil {
			return errors.New("only the tensor form (value) is supported")
		}
		if len(n.Outputs) < 1 {
			return errors.New("no output")
		}
		return im.constant(n.Outputs[0], a.T)
	case "Identity", "Dropout":
		v, err := im.input(n, 0)
		if err != nil {
			return err
		}
		return im.output(n, v)
	case "Relu":
		return im.unary(n, nn.NewReLU())
	case "Clip":
		return im.clip(n)
	case "Conv":
		return im.conv(n)
	case "Gemm":
		return im.gemm(n)
	case "MatMul":
		return im.matmul(n)
	case "MaxPool", "AveragePool":
		return im.pool(n)
	case "GlobalAveragePool":
		return im.unary(n, nn.NewGlobalAvgPool2d())
	case "Flatten":
		if axis := n.intAttr("axis", 1); axis != 1 {
			return fmt.Errorf("axis %d: only axis 1 (keep the batch) is supported", axis)
		}
		return im.unary(n, nn.NewFlatten())
	case "BatchNormalization":
		return im.batchNorm(n)
	case "Add":
		return im.add(n)
	case "Concat":
		return im.concat(n)
	case "Pad":
		return im.pad(n)
	case "Sub", "Div":
		return im.normalize(n)
	case "Shape", "Gather", "Unsqueeze":
		return im.shapeOp(n)
	case "Reshape":
		return im.reshape(n)
	}
	return fmt.Errorf("op not supported; snnkit reads %s", strings.Join(Supported, ", "))
}

func (im *importer) clip(n *Node) error {
	x, err := im.computed(n, 0)
	if err != nil {
		return err
	}
	lo, hi := n.floatAttr("min", -3.4028235e38), n.floatAttr("max", 3.4028235e38)
	if len(n.Inputs) > 1 && n.Inputs[1] != "" {
		c, err := im.constInput(n, 1)
		if err != nil || len(c.vals) != 1 {
			return errors.New("min must be a constant scalar")
		}
		lo = c.vals[0]
	}
	if len(n.Inputs) > 2 && n.Inputs[2] != "" {
		c, err := im.constInput(n, 2)
		if err != nil || len(c.vals) != 1 {
			return errors.New("max must be a constant scalar")
		}
		hi = c.vals[0]
	}
	if lo != 0 || hi < 3.4e38 {
		return fmt.Errorf("min %v, max %v: only Clip(0, ∞), a ReLU, is supported", lo, hi)
	}
	return im.addLayer(n, nn.NewReLU(), x)
}

// pads4 checks a 2-D pads attribute [top, left, bottom, right] and returns
// the begin and end padding.
func pads4(p []int64) (begin, end [2]int, err error) {
	switch len(p) {
	case 0:
		return begin, end, nil
	case 4:
		for _, v := range p {
			if v < 0 || v > 1<<16 {
				return begin, end, fmt.Errorf("pads %v", p)
			}
		}
		return [2]int{int(p[0]), int(p[1])}, [2]int{int(p[2]), int(p[3])}, nil
	}
	return begin, end, fmt.Errorf("pads %v: want 4 values (2-D)", p)
}

// pads2 checks a 2-D pads attribute [top, left, bottom, right] and returns
// the symmetric padding.
func pads2(p []int64) ([2]int, error) {
	switch len(p) {
	case 0:
		return [2]int{}, nil
	case 4:
		if p[0] != p[2] || p[1] != p[3] {
			return [2]int{}, fmt.Errorf("asymmetric pads %v not supported", p)
		}
		for _, v := range p {
			if v < 0 || v > 1<<16 {
				return [2]int{}, fmt.Errorf("pads %v", p)
			}
		}
		return [2]int{int(p[0]), int(p[1])}, nil
	}
	return [2]int{}, fmt.Errorf("pads %v: want 4 values (2-D)", p)
}

func pair(name string, v []int64, def int) ([2]int, error) {
	switch len(v) {
	case 0:
		return [2]int{def, def}, nil
	case 2:
		if v[0] < 1 || v[1] < 1 || v[0] > 1<<16 || v[1] > 1<<16 {
			return [2]int{}, fmt.Errorf("%s %v", name, v)
		}
		return [2]int{int(v[0]), int(v[1])}, nil
	}
	return [2]int{}, fmt.Errorf("%s %v: want 2 values (2-D)", name, v)
}

func checkAutoPad(n *Node) error {
	if a := n.attr("auto_pad"); a != nil && string(a.S) != "NOTSET" && string(a.S) != "" {
		return fmt.Errorf("auto_pad %s not supported (export with explicit pads)", a.S)
	}
	return nil
}

func (im *importer) conv(n *Node) error {
	x, err := im.computed(n, 0)
	if err != nil {
		return err
	}
	w, err := im.constInput(n, 1)
	if err != nil {
		return err
	}
	if err := checkAutoPad(n); err != nil {
		return err
	}
	if len(w.shape) != 4 || len(x.shape) != 3 {
		return fmt.Errorf("weight %v on input %v: only 2-D convolutions are supported", w.shape, x.shape)
	}
	groups := n.intAttr("group", 1)
	if groups < 1 || groups > int64(w.shape[0]) || int64(w.shape[0])%groups != 0 {
		return fmt.Errorf("group %d does not divide the %d output channels", groups, w.shape[0])
	}
	dil, err := pair("dilations", n.intsAttr("dilations"), 1)
	if err != nil {
		return err
	}
	k, err := pair("kernel_shape", n.intsAttr("kernel_shape"), 0)
	if err != nil {
		return err
	}
	if k == [2]int{} {
		k = [2]int{w.shape[2], w.shape[3]}
	}
	if k != [2]int{w.shape[2], w.shape[3]} {
		return fmt.Errorf("kernel_shape %v disagrees with the weight %v", k, w.shape)
	}
	st, err := pair("strides", n.intsAttr("strides"), 1)
	if err != nil {
		return err
	}
	begin, end, err := pads4(n.intsAttr("pads"))
	if err != nil {
		return err
	}
	// A zero Pad folded into this convolution.
	if x.padHW != nil {
		for k := range begin {
			begin[k] += x.padHW[k]
			end[k] += x.padHW[k]
		}
		x = x.padOf
	}
	hasBias := len(n.Inputs) > 2 && n.Inputs[2] != ""
	cfg := nn.Conv2dConfig{In: w.shape[1] * int(groups), Out: w.shape[0], KernelHW: k, StrideHW: st, PaddingHW: begin, Bias: hasBias,
		Groups: int(groups), DilationHW: dil, PadEndHW: end, HasPadEnd: end != begin}
	conv := nn.NewConv2d(cfg, nil)
	copy(conv.Weight.Value.Data, w.vals)
	if hasBias {
		b, err := im.constInput(n, 2)
		if err != nil {
			return err
		}
		if len(b.vals) != cfg.Out {
			return fmt.Errorf("bias of %d values for %d output channels", len(b.vals), cfg.Out)
		}
		copy(conv.Bias.Value.Data, b.vals)
	}
	return im.addLayer(n, conv, x)
}

func (im *importer) gemm(n *Node) error {
	x, err := im.computed(n, 0)
	if err != nil {
		return err
	}
	b, err := im.constInput(n, 1)
	if err != nil {
		return err
	}
	if n.intAttr("transA", 0) != 0 {
		return errors.New("transA 1 not supported")
	}
	if len(b.shape) != 2 || len(x.shape) != 1 {
		return fmt.Errorf("weight %v on input %v: want a 2-D weight on flat samples", b.shape, x.shape)
	}
	alpha, beta := n.floatAttr("alpha", 1), n.floatAttr("beta", 1)
	transB := n.intAttr("transB", 0) != 0
	in, out := b.shape[0], b.shape[1]
	if transB {
		in, out = out, in
	}
	hasBias := len(n.Inputs) > 2 && n.Inputs[2] != ""
	lin := nn.NewLinear(nn.LinearConfig{In: in, Out: out, Bias: hasBias}, nil)
	w := lin.Weight.Value.Data
	for o := 0; o < out; o++ {
		for i := 0; i < in; i++ {
			v := b.vals[i*out+o]
			if transB {
				v = b.vals[o*in+i]
			}
			w[o*in+i] = alpha * v
		}
	}
	if hasBias {
		c, err := im.constInput(n, 2)
		if err != nil {
			return err
		}
		switch len(c.vals) {
		case out:
			for o := range lin.Bias.Value.Data {
				lin.Bias.Value.Data[o] = beta * c.vals[o]
			}
		case 1:
			for o := range lin.Bias.Value.Data {
				lin.Bias.Value.Data[o] = beta * c.vals[0]
			}
		default:
			return fmt.Errorf("C of shape %v for %d outputs", c.shape, out)
		}
	}
	return im.addLayer(n, lin, x)
}

func (im *importer) matmul(n *Node) error {
	x, err := im.computed(n, 0)
	if err != nil {
		return err
	}
	b, err := im.constInput(n, 1)
	if err != nil {
		return err
	}
	if len(b.shape) != 2 || len(x.shape) != 1 || x.shape[0] != b.shape[0] {
		return fmt.Errorf("weight %v on input %v: want [batch, K] × [K, N] with a constant [K, N]", b.shape, x.shape)
	}
	in, out := b.shape[0], b.shape[1]
	lin := nn.NewLinear(nn.LinearConfig{In: in, Out: out}, nil)
	for o := 0; o < out; o++ {
		for i := 0; i < in; i++ {
			lin.Weight.Value.Data[o*in+i] = b.vals[i*out+o]
		}
	}
	return im.addLayer(n, lin, x)
}

func (im *importer) pool(n *Node) error {
	x, err := im.computed(n, 0)
	if err != nil {
		return err
	}
	if err := checkAutoPad(n); err != nil {
		return err
	}
	if d, _ := pair("dilations", n.intsAttr("dilations"), 1); d != [2]int{1, 1} {
		return fmt.Errorf("dilations %v not supported", n.intsAttr("dilations"))
	}
	if n.intAttr("storage_order", 0) != 0 {
		return errors.New("storage_order 1 not supported")
	}
	k, err := pair("kernel_shape", n.intsAttr("kernel_shape"), 0)
	if err != nil {
		return err
	}
	if k[0] == 0 {
		return errors.New("no kernel_shape")
	}
	st, err := pair("strides", n.intsAttr("strides"), 1)
	if err != nil {
		return err
	}
	pad, err := pads2(n.intsAttr("pads"))
	if err != nil {
		return err
	}
	excludePad := n.intAttr("count_include_pad", 0) == 0
	if x.padHW != nil {
		// torch writes AvgPool2d(padding=p) (count_include_pad=True) as a
		// zero Pad and an AveragePool: the Pad's zeros count in the mean.
		if n.OpType != "AveragePool" || pad != [2]int{} {
			return fmt.Errorf("a zero-padded input (Pad %v) before %s is not supported", *x.padHW, n.OpType)
		}
		pad, excludePad = *x.padHW, false
		x = x.padOf
	}
	cfg := nn.PoolConfig{KernelHW: k, StrideHW: st, PaddingHW: pad, CeilMode: n.intAttr("ceil_mode", 0) != 0, ExcludePad: excludePad}
	var layer nn.Layer = nn.NewAvgPool2d(cfg)
	if n.OpType == "MaxPool" {
		if len(n.Outputs) > 1 && n.Outputs[1] != "" && im.uses[n.Outputs[1]] > 0 {
			return errors.New("the Indices output is not supported")
		}
		cfg.ExcludePad = false
		layer = nn.NewMaxPool2d(cfg)
	}
	return im.addLayer(n, layer, x)
}

func (im *importer) batchNorm(n *Node) error {
	x, err := im.computed(n, 0)
	if err != nil {
		return err
	}
	if n.intAttr("training_mode", 0) != 0 {
		return errors.New("training_mode 1 not supported (export in eval mode)")
	}
	if len(x.shape) != 3 {
		return fmt.Errorf("input %v: only BatchNorm2d ([C, H, W]) is supported", x.shape)
	}
	c := x.shape[0]
	bn := nn.NewBatchNorm2d(c)
	bn.Eps = float64(n.floatAttr("epsilon", 1e-5))
	bn.Momentum = 1 - float64(n.floatAttr("momentum", 0.9))
	for k, dst := range []*nn.Param{bn.Weight, bn.Bias, bn.RunningMean, bn.RunningVar} {
		v, err := im.constInput(n, k+1)
		if err != nil {
			return err
		}
		if len(v.vals) != c {
			return fmt.Errorf("input %d holds %d values for %d channels", k+1, len(v.vals), c)
		}
		copy(dst.Value.Data, v.vals)
	}
	if err := bn.CheckStats(); err != nil {
		return err
	}
	return im.addLayer(n, bn, x)
}

func (im *importer) add(n *Node) error {
	a, err := im.input(n, 0)
	if err != nil {
		return err
	}
	b, err := im.input(n, 1)
	if err != nil {
		return err
	}
	if a.node != "" && b.node != "" {
		if a.padHW != nil || b.padHW != nil {
			return errors.New("a padded input is not supported here")
		}
		name := im.nodeName(n)
		out, err := nn.NewAdd().OutShape([][]int{a.shape, b.shape})
		if err != nil {
			return err
		}
		im.g.AddJoin(name, nn.NewAdd(), a.node, b.node)
		return im.output(n, &value{node: name, shape: out})
	}
	if a.node == "" {
		a, b = b, a
	}
	if a.node == "" {
		return errors.New("both inputs are constants")
	}
	// A constant added to the sole output of a Linear or Conv is its bias.
	layer := im.layers[a.node]
	if im.uses[n.Inputs[0]]+im.uses[n.Inputs[1]] > 2 || layer == nil {
		return errors.New("a constant added to a computed tensor is supported only as the bias of the Linear or Conv before it")
	}
	var bias **nn.Param
	var out int
	var enable func()
	switch l := layer.(type) {
	case *nn.Linear:
		bias, out, enable = &l.Bias, l.Config.Out, func() { l.Config.Bias = true }
	case *nn.Conv2d:
		bias, out, enable = &l.Bias, l.Config.Out, func() { l.Config.Bias = true }
	default:
		return fmt.Errorf("a constant added to the output of %v is not supported", layer)
	}
	if len(b.vals) != out && len(b.vals) != 1 {
		return fmt.Errorf("a constant of shape %v as the bias of %d outputs", b.shape, out)
	}
	if *bias == nil {
		*bias = &nn.Param{Name: "bias", Value: tensor.New(out), Grad: tensor.New(out)}
		enable()
	}
	for o := range (*bias).Value.Data {
		(*bias).Value.Data[o] += b.vals[min(o, len(b.vals)-1)]
	}
	return im.output(n, a)
}

func (im *importer) concat(n *Node) error {
	if first, err := im.input(n, 0); err == nil && first.isInt && first.node == "" {
		// Concatenated shape values (a Reshape target).
		var ints []int64
		for k := range n.Inputs {
			v, err := im.constInput(n, k)
			if err != nil || !v.isInt {
				return errors.New("a concatenation of shape values and tensors")
			}
			ints = append(ints, v.ints...)
		}
		return im.output(n, &value{ints: ints, isInt: true, shape: []int{len(ints)}})
	}
	if axis := n.intAttr("axis", 1); axis != 1 {
		return fmt.Errorf("axis %d: only the channel axis 1 is supported", axis)
	}
	var names []string
	var shapes [][]int
	for k := range n.Inputs {
		v, err := im.computed(n, k)
		if err != nil {
			return err
		}
		names = append(names, v.node)
		shapes = append(shapes, v.shape)
	}
	out, err := nn.NewConcat().OutShape(shapes)
	if err != nil {
		return err
	}
	name := im.nodeName(n)
	im.g.AddJoin(name, nn.NewConcat(), names...)
	return im.output(n, &value{node: name, shape: out})
}

// pad handles a constant Pad: of zeros it vanishes; otherwise it is kept as
// a pending padding for the Conv that must read it.
func (im *importer) pad(n *Node) error {
	x, err := im.computed(n, 0)
	if err != nil {
		return err
	}
	if a := n.attr("mode"); a != nil && string(a.S) != "constant" {
		return fmt.Errorf("mode %s: only constant padding is supported", a.S)
	}
	var p []int64
	if len(n.Inputs) > 1 && n.Inputs[1] != "" {
		c, err := im.constInput(n, 1)
		if err != nil {
			return err
		}
		p = c.ints
	} else {
		p = n.intsAttr("pads")
	}
	if len(n.Inputs) > 2 && n.Inputs[2] != "" {
		c, err := im.constInput(n, 2)
		if err != nil {
			return err
		}
		if len(c.vals) != 1 || c.vals[0] != 0 {
			return errors.New("only padding with zeros is supported")
		}
	}
	rank := len(x.shape) + 1
	if len(p) != 2*rank {
		return fmt.Errorf("pads %v for a %d-dimensional input", p, rank)
	}
	if slices.ContainsFunc(p, func(v int64) bool { return v != 0 }) {
		// [N, C, H, W] begins then ends: only H and W, symmetric.
		if rank != 4 || p[0] != 0 || p[1] != 0 || p[4] != 0 || p[5] != 0 || p[2] != p[6] || p[3] != p[7] || p[2] < 0 || p[3] < 0 || p[2] > 1<<16 || p[3] > 1<<16 {
			return fmt.Errorf("pads %v: only symmetric zero padding of H and W is supported", p)
		}
		if im.uses[n.Outputs[0]] != 1 {
			return errors.New("a padded tensor read by several nodes is not supported")
		}
		hw := [2]int{int(p[2]), int(p[3])}
		return im.output(n, &value{node: x.node, shape: x.shape, padHW: &hw, padOf: x})
	}
	return im.output(n, x)
}

// normalize turns Sub then Div by constants applied to the graph input into
// a Normalize node ((x - mean) / std, per channel or for all).
func (im *importer) normalize(n *Node) error {
	x, err := im.computed(n, 0)
	if err != nil {
		return err
	}
	c, err := im.constInput(n, 1)
	if err != nil {
		return err
	}
	if len(x.shape) < 1 {
		return errors.New("scalar input")
	}
	ch := x.shape[0]
	// The constant must be one value or one per channel ([C], [C,1,1],
	// [1,C,1,1]).
	if len(c.vals) != 1 && len(c.vals) != ch {
		return fmt.Errorf("a constant of shape %v is neither a scalar nor one value per channel", c.shape)
	}
	switch {
	case n.OpType == "Sub" && x.node == graph.Input && im.normal == "":
		std := make([]float32, len(c.vals))
		for i := range std {
			std[i] = 1
		}
		norm, err := nn.NewNormalize(c.vals, std)
		if err != nil {
			return err
		}
		im.normal = im.nodeName(n)
		im.g.AddLayer(im.normal, norm, graph.Input)
		im.layers[im.normal] = norm
		return im.output(n, &value{node: im.normal, shape: x.shape})
	case n.OpType == "Div" && x.node == im.normal && im.normal != "" && im.uses[n.Inputs[0]] == 1:
		std := im.layers[im.normal].(*nn.Normalize).Std.Value.Data
		if len(c.vals) != len(std) {
			return fmt.Errorf("%d divisors after %d means", len(c.vals), len(std))
		}
		for i, v := range c.vals {
			if !(v > 0) {
				return fmt.Errorf("divisor %v: a standard deviation must be positive", v)
			}
			std[i] = v
		}
		return im.output(n, x)
	}
	return errors.New("only (x - mean) / std on the model's input is supported")
}

// shapeOp folds Shape, Gather and Unsqueeze of shapes into constants (with
// batchDim for the batch), as torch writes x.view(x.size(0), -1).
func (im *importer) shapeOp(n *Node) error {
	x, err := im.input(n, 0)
	if err != nil {
		return err
	}
	switch n.OpType {
	case "Shape":
		if x.node == "" {
			return errors.New("Shape of a constant")
		}
		ints := []int64{batchDim}
		for _, d := range x.shape {
			ints = append(ints, int64(d))
		}
		return im.output(n, &value{ints: ints, isInt: true, shape: []int{len(ints)}})
	case "Gather":
		if !x.isInt {
			return errors.New("only Gather of a shape is supported")
		}
		idx, err := im.constInput(n, 1)
		if err != nil || !idx.isInt || len(idx.ints) != 1 || n.intAttr("axis", 0) != 0 {
			return errors.New("only Gather of one constant index along axis 0 is supported")
		}
		i := idx.ints[0]
		if i < 0 {
			i += int64(len(x.ints))
		}
		if i < 0 || i >= int64(len(x.ints)) {
			return fmt.Errorf("index %d outside a shape of %d values", idx.ints[0], len(x.ints))
		}
		shape := []int{}
		if len(idx.shape) == 1 {
			shape = []int{1}
		}
		return im.output(n, &value{ints: []int64{x.ints[i]}, isInt: true, shape: shape})
	case "Unsqueeze":
		if !x.isInt {
			return errors.New("only Unsqueeze of a shape value is supported")
		}
		return im.output(n, &value{ints: x.ints, isInt: true, shape: []int{len(x.ints)}})
	}
	return nil
}

// reshape accepts the reshapes that flatten each sample: a target of
// [batch, -1] or [batch, numel].
func (im *importer) reshape(n *Node) error {
	x, err := im.computed(n, 0)
	if err != nil {
		return err
	}
	t, err := im.input(n, 1)
	if err != nil {
		return err
	}
	if t.node != "" || !t.isInt {
		return errors.New("the target shape must be constant (or folded from Shape)")
	}
	numel := tensor.Numel(x.shape)
	if len(t.ints) == 2 && (t.ints[0] == batchDim || t.ints[0] == 0 || t.ints[0] == -1 && t.ints[1] == int64(numel)) && (t.ints[1] == -1 || t.ints[1] == int64(numel)) {
		return im.addLayer(n, nn.NewFlatten(), x)
	}
	shown := make([]string, len(t.ints))
	for i, v := range t.ints {
		shown[i] = fmt.Sprint(v)
		if v == batchDim {
			shown[i] = "batch"
		}
	}
	return fmt.Errorf("target [%s]: only reshapes to [batch, -1] are supported", strings.Join(shown, ", "))
}

func init() { sort.Strings(Supported) }
