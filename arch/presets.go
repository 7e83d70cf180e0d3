package arch

import (
	"fmt"
	"os"
	"sort"
	"strings"
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

var presets = map[string]string{"tutorial": Tutorial}

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
