package modelio

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/snnkit/snnkit/arch"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/safetensors"
	"github.com/snnkit/snnkit/snn"
)

// MetaSNN is the metadata key of a spiking network's description. A file
// with "snnkit.kind" = "snn" holds, besides the weights named
// "<stage>.<parameter>" ("0.weight", ...), this JSON:
//
//	{"format": "snnkit.snn/v1", "input": [1, 28, 28], "stages": [
//	  {"name": "0", "layer": {"type": "Conv2d", ...}},
//	  {"name": "1", "neuron": {"type": "IAF", "spike_threshold": 1, "spike_fn": "multi",
//	                           "reset": "subtract", "min_v_mem": -1}},
//	  ...
//	  {"name": "spike_output", "neuron": {...}}]}
//
// A network converted from a graph names its stages after the graph's nodes
// and says what each reads: {"name": "blocks.0.Add", "inputs":
// ["blocks.0.c2", "stem.2"], "join": {"type": "Add"}}; "input" is the
// network's input, and a stage without "inputs" reads the one before it.
const MetaSNN = "snnkit.snn"

// SNNFormat is the "format" value of MetaSNN.
const SNNFormat = "snnkit.snn/v1"

type snnDoc struct {
	Format string     `json:"format"`
	Input  []int      `json:"input"`
	Stages []stageDoc `json:"stages"`
}

type stageDoc struct {
	Name   string      `json:"name"`
	Inputs []string    `json:"inputs,omitempty"` // empty: the stage before
	Layer  *arch.Layer `json:"layer,omitempty"`
	Neuron *snn.Neuron `json:"neuron,omitempty"`
	Join   *joinDoc    `json:"join,omitempty"`
	// MaxPool is a spiking max-pool: {"kernel_size": [2, 2], "stride": [2, 2]}.
	MaxPool *maxPoolDoc `json:"spiking_max_pool,omitempty"`
}

type maxPoolDoc struct {
	KernelSize [2]int `json:"kernel_size"`
	Stride     [2]int `json:"stride"`
	Padding    [2]int `json:"padding,omitzero"`
	CeilMode   bool   `json:"ceil_mode,omitempty"`
}

// joinDoc describes a join: {"type": "Add"} or {"type": "Concat"}.
type joinDoc struct {
	Type string `json:"type"`
}

func describeJoin(j nn.Join) (*joinDoc, error) {
	switch j.(type) {
	case *nn.Add:
		return &joinDoc{"Add"}, nil
	case *nn.Concat:
		return &joinDoc{"Concat"}, nil
	}
	return nil, fmt.Errorf("%v has no description", j)
}

func (d *joinDoc) build() (nn.Join, error) {
	switch d.Type {
	case "Add":
		return nn.NewAdd(), nil
	case "Concat":
		return nn.NewConcat(), nil
	}
	return nil, fmt.Errorf("unknown join type %q (want Add or Concat)", d.Type)
}

// SaveSNN writes a converted network and extra metadata to path atomically.
func SaveSNN(path string, net *snn.Network, extra map[string]string) error {
	if net.Recurrent() {
		return fmt.Errorf("%s: a recurrent network (a stage reads another one step late), which %s does not hold; write it as NIR", path, SNNFormat)
	}
	doc := snnDoc{Format: SNNFormat, Input: net.Input}
	var tensors []safetensors.Tensor
	for _, st := range net.Stages {
		sd := stageDoc{Name: st.Name, Neuron: st.Neuron, Inputs: st.Inputs}
		if st.MaxPool != nil {
			sd.MaxPool = &maxPoolDoc{KernelSize: st.MaxPool.Kernel, Stride: st.MaxPool.Stride, Padding: st.MaxPool.Padding, CeilMode: st.MaxPool.CeilMode}
		}
		if st.Join != nil {
			j, err := describeJoin(st.Join)
			if err != nil {
				return fmt.Errorf("stage %s: %w", st.Name, err)
			}
			sd.Join = j
		}
		if st.Layer != nil {
			l, err := arch.Describe(st.Layer)
			if err != nil {
				return fmt.Errorf("stage %s: %w", st.Name, err)
			}
			sd.Layer = &l
			seq := nn.NewSequential(st.Layer)
			for _, t := range StateTensors(seq) {
				t.Name = st.Name + strings.TrimPrefix(t.Name, "0")
				tensors = append(tensors, t)
			}
		}
		doc.Stages = append(doc.Stages, sd)
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	meta := map[string]string{}
	for k, v := range extra {
		meta[k] = v
	}
	meta[MetaFormat] = "1"
	meta[MetaKind] = "snn"
	meta[MetaSNN] = string(b)
	return safetensors.WriteFile(path, tensors, meta)
}

// IsSNN reports whether a parsed file holds a spiking network.
func IsSNN(f *safetensors.File) bool { return f.Metadata[MetaKind] == "snn" }

// SNNFromFile rebuilds a spiking network from a parsed file, checking the
// description, the shapes flowing through it and every tensor.
func SNNFromFile(f *safetensors.File) (*snn.Network, error) {
	src, ok := f.Metadata[MetaSNN]
	if !ok {
		return nil, fmt.Errorf("no %q in the file's metadata: not a spiking network written by snnkit", MetaSNN)
	}
	var doc snnDoc
	dec := json.NewDecoder(bytes.NewReader([]byte(src)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("metadata %q: %w", MetaSNN, err)
	}
	if doc.Format != SNNFormat {
		return nil, fmt.Errorf("metadata %q: format %q, want %q", MetaSNN, doc.Format, SNNFormat)
	}
	if len(doc.Input) == 0 || len(doc.Stages) == 0 {
		return nil, fmt.Errorf("metadata %q: needs an input shape and stages", MetaSNN)
	}
	for _, d := range doc.Input {
		if d < 1 || d > arch.MaxDim {
			return nil, fmt.Errorf("metadata %q: input shape %v out of range", MetaSNN, doc.Input)
		}
	}
	if err := arch.CheckActivation(doc.Input); err != nil {
		return nil, fmt.Errorf("metadata %q: input: %w", MetaSNN, err)
	}
	net := &snn.Network{Input: doc.Input}
	seq := &nn.Sequential{}
	shapes := map[string][]int{snn.Input: doc.Input}
	prev := snn.Input
	params := 0
	for i, sd := range doc.Stages {
		if sd.Name == "" || sd.Name == snn.Input || shapes[sd.Name] != nil || strings.ContainsAny(sd.Name, " \t\n") {
			return nil, fmt.Errorf("stage %d: name %q must be unique, not empty, not %q and without spaces", i, sd.Name, snn.Input)
		}
		inputs := sd.Inputs
		if len(inputs) == 0 {
			inputs = []string{prev}
		}
		if len(inputs) > 1<<10 {
			return nil, fmt.Errorf("stage %s: %d inputs", sd.Name, len(inputs))
		}
		ins := make([][]int, len(inputs))
		for k, in := range inputs {
			if ins[k] = shapes[in]; ins[k] == nil {
				return nil, fmt.Errorf("stage %s reads %q, which is not an earlier stage", sd.Name, in)
			}
		}
		shape := ins[0]
		st := snn.Stage{Name: sd.Name, In: shape, Inputs: sd.Inputs}
		kinds := 0
		for _, set := range []bool{sd.Layer != nil, sd.Neuron != nil, sd.Join != nil, sd.MaxPool != nil} {
			if set {
				kinds++
			}
		}
		switch {
		case kinds != 1:
			return nil, fmt.Errorf("stage %s: needs exactly one of layer, neuron, join and spiking_max_pool", sd.Name)
		case sd.Join == nil && len(inputs) != 1:
			return nil, fmt.Errorf("stage %s: %d inputs without a join", sd.Name, len(inputs))
		case sd.Neuron != nil:
			n := *sd.Neuron
			st.Neuron = &n
			st.Out = shape
		case sd.MaxPool != nil:
			mp := &snn.SpikingMaxPool{Kernel: sd.MaxPool.KernelSize, Stride: sd.MaxPool.Stride, Padding: sd.MaxPool.Padding, CeilMode: sd.MaxPool.CeilMode}
			for _, v := range append(mp.Kernel[:], mp.Stride[:]...) {
				if v < 1 || v > arch.MaxDim {
					return nil, fmt.Errorf("stage %s: spiking_max_pool kernel_size %v, stride %v", sd.Name, mp.Kernel, mp.Stride)
				}
			}
			var err error
			if st.Out, err = mp.OutShape(shape); err != nil {
				return nil, fmt.Errorf("stage %s: %w", sd.Name, err)
			}
			st.MaxPool = mp
		case sd.Join != nil:
			j, err := sd.Join.build()
			if err != nil {
				return nil, fmt.Errorf("stage %s: %w", sd.Name, err)
			}
			if st.Out, err = j.OutShape(ins); err != nil {
				return nil, fmt.Errorf("stage %s: %w", sd.Name, err)
			}
			st.Join = j
		default:
			if sd.Layer.Type == "ReLU" || sd.Layer.Type == "Dropout" {
				return nil, fmt.Errorf("stage %s: a %s has no place in a spiking network", sd.Name, sd.Layer.Type)
			}
			// Count and check before building: a hostile file must not make
			// us allocate.
			if params += sd.Layer.ParamCount(); params > arch.MaxParamsTotal {
				return nil, fmt.Errorf("stage %s: more than %d parameters", sd.Name, arch.MaxParamsTotal)
			}
			var err error
			if st.Out, err = sd.Layer.OutShape(shape); err != nil {
				return nil, fmt.Errorf("stage %s: %w", sd.Name, err)
			}
		}
		if err := arch.CheckActivation(st.Out); err != nil {
			return nil, fmt.Errorf("stage %s: %w", sd.Name, err)
		}
		shapes[sd.Name] = st.Out
		prev = sd.Name
		net.Stages = append(net.Stages, st)
	}
	// Tensors are named by their stage; all must be present, with the
	// right shapes, before any layer is built.
	var want []arch.TensorShape
	for i, sd := range doc.Stages {
		if sd.Layer == nil {
			continue
		}
		for _, ts := range sd.Layer.TensorShapes() {
			want = append(want, arch.TensorShape{Name: net.Stages[i].Name + "." + ts.Name, Shape: ts.Shape})
		}
	}
	if err := checkNames(want, f, nil, "network"); err != nil {
		return nil, err
	}
	var entries []named
	for i, sd := range doc.Stages {
		if sd.Layer == nil {
			continue
		}
		l, err := sd.Layer.Build(nil)
		if err != nil {
			return nil, fmt.Errorf("stage %s: %w", sd.Name, err)
		}
		net.Stages[i].Layer = l
		seq.Layers = append(seq.Layers, l)
		for _, e := range nn.NewSequential(l).StateDict() {
			entries = append(entries, named{sd.Name + strings.TrimPrefix(e.Name, "0"), e.Param})
		}
	}
	if err := loadTensors(entries, f, nil, "network"); err != nil {
		return nil, err
	}
	if err := CheckBatchNorm(seq); err != nil {
		return nil, err
	}
	if len(net.SpikingStages()) == 0 {
		return nil, fmt.Errorf("the network has no spiking stage")
	}
	return net, nil
}
