package arch

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/snnkit/snnkit/graph"
)

// Tutorial is the network of sinabs' "Converting an ANN to an SNN" tutorial:
// three bias-free convolutions with ReLU and 2×2 average pooling, then two
// bias-free linear layers, for 1×28×28 MNIST images.
const Tutorial = `{
  "format": "snnkit.arch/v1",
  "input": [1, 28, 28],
  "layers": [
    {"type": "Conv2d", "in_channels": 1, "out_channels": 20, "kernel_size": 5, "stride": 1, "bias": false},
    {"type": "ReLU"},
    {"type": "AvgPool2d", "kernel_size": 2},
    {"type": "Conv2d", "in_channels": 20, "out_channels": 32, "kernel_size": 5, "stride": 1, "bias": false},
    {"type": "ReLU"},
    {"type": "AvgPool2d", "kernel_size": 2},
    {"type": "Conv2d", "in_channels": 32, "out_channels": 128, "kernel_size": 3, "stride": 1, "bias": false},
    {"type": "ReLU"},
    {"type": "AvgPool2d", "kernel_size": 2},
    {"type": "Flatten"},
    {"type": "Linear", "in_features": 128, "out_features": 500, "bias": false},
    {"type": "ReLU"},
    {"type": "Linear", "in_features": 500, "out_features": 10, "bias": false}
  ]
}`

// TutorialBN is the tutorial network with biases and a BatchNorm2d after
// each convolution: the ANN of the low-latency recipe (trained with QCFS
// activations, --activation qcfs:L).
const TutorialBN = `{
  "format": "snnkit.arch/v1",
  "input": [1, 28, 28],
  "layers": [
    {"type": "Conv2d", "in_channels": 1, "out_channels": 20, "kernel_size": 5, "stride": 1, "bias": true},
    {"type": "BatchNorm2d", "num_features": 20},
    {"type": "ReLU"},
    {"type": "AvgPool2d", "kernel_size": 2},
    {"type": "Conv2d", "in_channels": 20, "out_channels": 32, "kernel_size": 5, "stride": 1, "bias": true},
    {"type": "BatchNorm2d", "num_features": 32},
    {"type": "ReLU"},
    {"type": "AvgPool2d", "kernel_size": 2},
    {"type": "Conv2d", "in_channels": 32, "out_channels": 128, "kernel_size": 3, "stride": 1, "bias": true},
    {"type": "BatchNorm2d", "num_features": 128},
    {"type": "ReLU"},
    {"type": "AvgPool2d", "kernel_size": 2},
    {"type": "Flatten"},
    {"type": "Linear", "in_features": 128, "out_features": 500, "bias": true},
    {"type": "ReLU"},
    {"type": "Linear", "in_features": 500, "out_features": 10, "bias": true}
  ]
}`

var presets = map[string]string{"tutorial": Tutorial, "tutorial-bn": TutorialBN}

// Presets lists the names accepted by Lookup besides file names.
func Presets() []string {
	var names []string
	for k := range presets {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Lookup returns a preset by name, or reads and parses a JSON file when name
// is not a preset (anything ending in .json, or containing a path separator).
func Lookup(name string) (*Spec, error) {
	if src, ok := presets[name]; ok {
		return Parse([]byte(src))
	}
	if !strings.HasSuffix(name, ".json") && !strings.ContainsRune(name, os.PathSeparator) {
		return nil, fmt.Errorf("unknown architecture %q: use a preset (%s) or a JSON file", name, strings.Join(Presets(), ", "))
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("architecture file: %w", err)
	}
	s, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// ResNetSmall is a small residual network for 1×28×28 images: a stem
// convolution, three residual blocks of widths 16, 32 and 64 (two 3×3
// convolutions with BatchNorm each; the second and third downsample by
// stride 2 with a 1×1 convolution and BatchNorm on the shortcut), global
// average pooling and a Linear head with bias. Its node names are those of
// the PyTorch module the ONNX fixture resnet_fmnist came from (stem.0,
// blocks.1.c1, blocks.1.short.0, head, ...).
func ResNetSmall() *GraphSpec {
	f, t := false, true
	conv := func(in, out, k, s, p int) Layer {
		return Layer{Type: "Conv2d", InChannels: in, OutChannels: out, KernelSize: Pair{k, k}, Stride: Pair{s, s}, Padding: Pair{p, p}, Bias: &f}
	}
	bn := func(c int) Layer { return Layer{Type: "BatchNorm2d", NumFeatures: c} }
	relu := Layer{Type: "ReLU"}
	s := &GraphSpec{Input: []int{1, 28, 28}}
	add := func(name string, l Layer, inputs ...string) {
		s.Nodes = append(s.Nodes, GraphNode{Name: name, Inputs: inputs, Layer: l.withDefaults()})
	}
	add("stem.0", conv(1, 16, 3, 1, 1), graph.Input)
	add("stem.1", bn(16), "stem.0")
	add("stem.2", relu, "stem.1")
	prev, width := "stem.2", 16
	for b, out := range []int{16, 32, 64} {
		p := fmt.Sprintf("blocks.%d.", b)
		stride := 1
		if out != width {
			stride = 2
		}
		add(p+"c1", conv(width, out, 3, stride, 1), prev)
		add(p+"b1", bn(out), p+"c1")
		add(p+"relu1", relu, p+"b1")
		add(p+"c2", conv(out, out, 3, 1, 1), p+"relu1")
		add(p+"b2", bn(out), p+"c2")
		short := prev
		if stride != 1 {
			add(p+"short.0", conv(width, out, 1, stride, 0), prev)
			add(p+"short.1", bn(out), p+"short.0")
			short = p + "short.1"
		}
		s.Nodes = append(s.Nodes, GraphNode{Name: p + "add", Inputs: []string{p + "b2", short}, Join: "Add"})
		add(p+"relu2", relu, p+"add")
		prev, width = p+"relu2", out
	}
	add("gap", Layer{Type: "GlobalAvgPool2d"}, prev)
	add("flatten", Layer{Type: "Flatten"}, "gap")
	add("head", Layer{Type: "Linear", InFeatures: 64, OutFeatures: 10, Bias: &t}, "flatten")
	return s
}

var graphPresets = map[string]func() *GraphSpec{"resnet-small": ResNetSmall}

// Recipe is a preset's default training schedule, used where the user sets
// none.
type Recipe struct {
	LR       float64 // Adam's learning rate
	Schedule string  // an optim.ParseSchedule name
}

// recipes holds the presets that train better than with the tutorial's
// constant 1e-3. resnet-small, 3 epochs on Fashion-MNIST: 91.40 % with
// one-cycle at 3e-3, 88.83 % at a constant 1e-3 (measured with snnkit).
var recipes = map[string]Recipe{"resnet-small": {LR: 3e-3, Schedule: "onecycle"}}

// PresetRecipe returns the default training recipe of a preset, if it has
// one of its own.
func PresetRecipe(name string) (Recipe, bool) {
	r, ok := recipes[name]
	return r, ok
}

// AllPresets lists every preset name, of chains and of graphs.
func AllPresets() []string {
	names := Presets()
	for k := range graphPresets {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// LookupAny returns the architecture called name: a preset (a chain or a
// graph), or a JSON file of either format. Exactly one result is non-nil.
func LookupAny(name string) (*Spec, *GraphSpec, error) {
	if f, ok := graphPresets[name]; ok {
		return nil, f(), nil
	}
	if _, ok := presets[name]; ok {
		s, err := Lookup(name)
		return s, nil, err
	}
	if !strings.HasSuffix(name, ".json") && !strings.ContainsRune(name, os.PathSeparator) {
		return nil, nil, fmt.Errorf("unknown architecture %q: use a preset (%s) or a JSON file", name, strings.Join(AllPresets(), ", "))
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, nil, fmt.Errorf("architecture file: %w", err)
	}
	var head struct {
		Format string `json:"format"`
	}
	_ = json.Unmarshal(b, &head)
	if head.Format == GraphFormat {
		g, err := ParseGraph(b)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		return nil, g, nil
	}
	s, err := Parse(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil, nil
}
