// Package modelio saves and loads snnkit models as safetensors files.
//
// Weights keep PyTorch's state_dict names and shapes ("0.weight" [20, 1, 5,
// 5], "3.weight", ...), so a file is interchangeable with PyTorch's
// safetensors.torch.save_file(model.state_dict(), path). snnkit adds to the
// header's __metadata__:
//
//	"snnkit.format"  "1"
//	"snnkit.kind"    "ann"
//	"snnkit.arch"    the architecture as JSON (see package arch)
//	"snnkit.graph"   or, for a network that is not a chain, its graph
//	                 architecture (snnkit.graph/v1)
//
// and any further entries the caller passes (training settings, accuracy).
// A file written by snnkit is therefore complete; a plain PyTorch state_dict
// loads when the architecture is given separately.
package modelio

import (
	"fmt"
	"sort"
	"strings"

	"github.com/snnkit/snnkit/arch"
	"github.com/snnkit/snnkit/graph"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/safetensors"
	"github.com/snnkit/snnkit/tensor"
)

// Metadata keys written by snnkit.
const (
	MetaFormat = "snnkit.format"
	MetaKind   = "snnkit.kind"
	MetaArch   = "snnkit.arch"
	MetaGraph  = "snnkit.graph"
)

// Model is a network with its architecture and the metadata of its file:
// a chain (Spec and Net) or a graph (GraphSpec and Graph).
type Model struct {
	Spec      *arch.Spec
	Net       *nn.Sequential
	GraphSpec *arch.GraphSpec
	Graph     *graph.Graph
	Metadata  map[string]string
}

// Network returns the model's network, the chain or the graph.
func (m *Model) Network() nn.Model {
	if m.Graph != nil {
		return m.Graph
	}
	return m.Net
}

// Input returns the sample shape the model takes.
func (m *Model) Input() []int {
	if m.GraphSpec != nil {
		return m.GraphSpec.Input
	}
	return m.Spec.Input
}

// stateDicter is a network with PyTorch-named tensors.
type stateDicter interface{ StateDict() []nn.NamedTensor }

// StateTensors returns the network's state_dict as safetensors tensors: F32,
// except BatchNorm's num_batches_tracked, which PyTorch keeps as an I64 scalar.
func StateTensors(net stateDicter) []safetensors.Tensor {
	var out []safetensors.Tensor
	for _, e := range net.StateDict() {
		v := e.Param.Value
		if strings.HasSuffix(e.Name, ".num_batches_tracked") {
			out = append(out, safetensors.I64Tensor(e.Name, []int{}, []int64{int64(v.Data[0])}))
			continue
		}
		out = append(out, safetensors.F32Tensor(e.Name, v.Shape, v.Data))
	}
	return out
}

// Save writes net, its architecture and extra metadata to path atomically.
func Save(path string, spec *arch.Spec, net *nn.Sequential, extra map[string]string) error {
	meta := map[string]string{}
	for k, v := range extra {
		meta[k] = v
	}
	meta[MetaFormat] = "1"
	meta[MetaKind] = "ann"
	meta[MetaArch] = string(spec.JSON())
	return safetensors.WriteFile(path, StateTensors(net), meta)
}

// SaveGraph writes a graph model, its graph architecture and extra
// metadata to path atomically.
func SaveGraph(path string, spec *arch.GraphSpec, g *graph.Graph, extra map[string]string) error {
	meta := map[string]string{}
	for k, v := range extra {
		meta[k] = v
	}
	meta[MetaFormat] = "1"
	meta[MetaKind] = "ann"
	meta[MetaGraph] = string(spec.JSON())
	return safetensors.WriteFile(path, StateTensors(g), meta)
}

// Load reads a model file. The architecture comes from override when it is
// not nil (for plain PyTorch state_dicts), else from the file's metadata.
func Load(path string, override *arch.Spec) (*Model, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := FromFile(f, override)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// FromFile builds a model from a parsed safetensors file; see Load.
func FromFile(f *safetensors.File, override *arch.Spec) (*Model, error) {
	spec := override
	if src, ok := f.Metadata[MetaGraph]; ok && spec == nil {
		gs, err := arch.ParseGraph([]byte(src))
		if err != nil {
			return nil, fmt.Errorf("metadata %q: %w", MetaGraph, err)
		}
		shapes, err := gs.StateShapes()
		if err != nil {
			return nil, err
		}
		if err := checkNames(shapes, f, nil, "architecture"); err != nil {
			return nil, err
		}
		g, err := gs.Build(nil)
		if err != nil {
			return nil, err
		}
		var entries []named
		for _, e := range g.StateDict() {
			entries = append(entries, named{e.Name, e.Param})
		}
		if err := loadTensors(entries, f, nil, "architecture"); err != nil {
			return nil, err
		}
		for _, n := range g.Nodes {
			if n.Layer != nil {
				if err := CheckBatchNorm(nn.NewSequential(n.Layer)); err != nil {
					return nil, fmt.Errorf("node %s: %w", n.Name, err)
				}
			}
		}
		return &Model{GraphSpec: gs, Graph: g, Metadata: f.Metadata}, nil
	}
	if spec == nil {
		src, ok := f.Metadata[MetaArch]
		if !ok {
			return nil, fmt.Errorf("no architecture in the file's metadata (a plain PyTorch state_dict?): give one with --arch tutorial or --arch FILE.json")
		}
		var err error
		if spec, err = arch.Parse([]byte(src)); err != nil {
			return nil, fmt.Errorf("metadata %q: %w", MetaArch, err)
		}
	}
	// Names and shapes are checked before the network is built: a file
	// whose metadata declares gigabytes of weights it does not hold is
	// refused without allocating them.
	shapes, err := spec.StateShapes()
	if err != nil {
		return nil, err
	}
	if err := checkNames(shapes, f, nil, "architecture"); err != nil {
		return nil, err
	}
	net, err := spec.Build(nil)
	if err != nil {
		return nil, err
	}
	if err := LoadStateDict(net, f, nil); err != nil {
		return nil, err
	}
	if err := CheckBatchNorm(net); err != nil {
		return nil, err
	}
	return &Model{Spec: spec, Net: net, Metadata: f.Metadata}, nil
}

// LoadStateDict copies the file's tensors into net's parameters and
// buffers. Tensors for which ignore returns true are skipped. The error
// lists every missing, unexpected and mis-shaped tensor, and any NaN or
// infinite value.
func LoadStateDict(net *nn.Sequential, f *safetensors.File, ignore func(name string) bool) error {
	var entries []named
	for _, e := range net.StateDict() {
		entries = append(entries, named{e.Name, e.Param})
	}
	if err := loadTensors(entries, f, ignore, "architecture"); err != nil {
		return err
	}
	return nil
}

type named struct {
	name  string
	param *nn.Param
}

// maxListed is how many names an error lists before "… and N more".
const maxListed = 10

// problems collects what is wrong with a file's tensors, keeping at most
// maxListed of each kind so that a file with a million bad tensors gives a
// short message.
type problems struct {
	other, missing, unexpected []string
	nOther, nMissing, nUnexp   int
}

func addCapped(list *[]string, n *int, s string) {
	*n++
	if len(*list) < maxListed {
		*list = append(*list, s)
	}
}

func capped(list []string, n int) string {
	s := strings.Join(list, ", ")
	if n > len(list) {
		s += fmt.Sprintf(" … and %d more", n-len(list))
	}
	return s
}

func (p *problems) err(what string) error {
	var parts []string
	if p.nOther > 0 {
		parts = append(parts, capped(p.other, p.nOther))
	}
	if p.nMissing > 0 {
		sort.Strings(p.missing)
		parts = append(parts, "missing tensors: "+capped(p.missing, p.nMissing))
	}
	if p.nUnexp > 0 {
		sort.Strings(p.unexpected)
		parts = append(parts, "unexpected tensors: "+capped(p.unexpected, p.nUnexp))
	}
	if len(parts) == 0 {
		return nil
	}
	return fmt.Errorf("weights do not fit the %s: %s", what, strings.Join(parts, "; "))
}

// checkNames compares the file's tensors with the expected names and shapes
// without touching their values; what names the receiving structure in
// errors. num_batches_tracked may be absent, as PyTorch allows.
func checkNames(want []arch.TensorShape, f *safetensors.File, ignore func(string) bool, what string) error {
	var p problems
	shapes := make(map[string][]int, len(want))
	for _, w := range want {
		shapes[w.Name] = w.Shape
		if _, ok := f.Get(w.Name); !ok && !strings.HasSuffix(w.Name, ".num_batches_tracked") {
			addCapped(&p.missing, &p.nMissing, w.Name)
		}
	}
	for _, t := range f.Tensors {
		if ignore != nil && ignore(t.Name) {
			continue
		}
		shape, ok := shapes[t.Name]
		if !ok {
			addCapped(&p.unexpected, &p.nUnexp, t.Name)
			continue
		}
		if !tensor.SameShape(t.Shape, shape) && !(len(shape) == 0 && t.Numel() == 1) {
			addCapped(&p.other, &p.nOther, fmt.Sprintf("%s has shape %s, the %s needs %s", t.Name, safetensors.ShapeString(t.Shape), what, safetensors.ShapeString(shape)))
		}
	}
	return p.err(what)
}

// loadTensors copies the file's tensors into the given parameters, checking
// names, shapes and values; what names the receiving structure in errors.
func loadTensors(entries []named, f *safetensors.File, ignore func(string) bool, what string) error {
	want := make([]arch.TensorShape, len(entries))
	byName := make(map[string]*nn.Param, len(entries))
	for i, e := range entries {
		want[i] = arch.TensorShape{Name: e.name, Shape: e.param.Value.Shape}
		byName[e.name] = e.param
	}
	if err := checkNames(want, f, ignore, what); err != nil {
		return err
	}
	var p problems
	for _, t := range f.Tensors {
		if ignore != nil && ignore(t.Name) {
			continue
		}
		v, err := t.Float32(false)
		if err != nil {
			addCapped(&p.other, &p.nOther, err.Error())
			continue
		}
		copy(byName[t.Name].Value.Data, v)
	}
	return p.err(what)
}

// CheckBatchNorm refuses BatchNorm2d layers whose running statistics cannot
// be a real batch's (nn.BatchNorm2d.CheckStats), naming the tensor, and
// Normalize layers whose std is not positive.
func CheckBatchNorm(net *nn.Sequential) error {
	for i, l := range net.Layers {
		switch b := l.(type) {
		case *nn.BatchNorm2d:
			if err := b.CheckStats(); err != nil {
				return fmt.Errorf("layer %d (BatchNorm2d): %d.%w", i, i, err)
			}
		case *nn.Normalize:
			if err := b.Check(); err != nil {
				return fmt.Errorf("layer %d (Normalize): %w", i, err)
			}
		}
	}
	return nil
}
