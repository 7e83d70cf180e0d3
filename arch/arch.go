// Package arch describes network architectures as data: a Spec is the list
// of layers of a Sequential network with their settings, readable from and
// writable to human-readable JSON, checked for consistent shapes, and built
// into an nn.Sequential.
//
// The JSON form travels in the __metadata__ of snnkit's safetensors files
// (key "snnkit.arch"), so a model file carries its own architecture:
//
//	{
//	  "format": "snnkit.arch/v1",
//	  "input": [1, 28, 28],
//	  "layers": [
//	    {"type": "Conv2d", "in_channels": 1, "out_channels": 20, "kernel_size": 5, "bias": false},
//	    {"type": "ReLU"},
//	    {"type": "AvgPool2d", "kernel_size": 2},
//	    {"type": "Flatten"},
//	    {"type": "Linear", "in_features": 128, "out_features": 10, "bias": false}
//	  ]
//	}
//
// Layer types and their fields, with PyTorch's names and defaults:
//
//	Conv2d       in_channels, out_channels, kernel_size, stride (1), padding (0), bias (true)
//	Linear       in_features, out_features, bias (true)
//	ReLU, Flatten
//	AvgPool2d, SumPool2d, MaxPool2d   kernel_size, stride (= kernel_size)
//	BatchNorm2d  num_features, eps (1e-5), momentum (0.1)
//	Dropout      p (0.5)
//	GlobalAvgPool2d, Identity
//	Normalize    num_features (its mean and std are tensors of the model file)
//	Scale        factor
//	QCFS         levels, lambda (2), num_features (0: one λ for the layer, C: one per channel)
//
// kernel_size, stride and padding are a number or a pair [h, w].
package arch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/snnkit/snnkit/nn"
)

// Format is the value of the "format" field of snnkit's architecture JSON.
const Format = "snnkit.arch/v1"

// Limits on sizes a specification may declare, so that a hostile file cannot
// make snnkit allocate without bound.
const (
	MaxDim         = 1 << 16 // any channel count, feature count or image side
	MaxParamsTotal = 1 << 28 // parameters of the whole network
	MaxActivation  = 1 << 26 // values of one sample's input or output of any layer
)

// Pair is a size given as one number or as [h, w].
type Pair [2]int

// UnmarshalJSON accepts 5 or [5, 3].
func (p *Pair) UnmarshalJSON(b []byte) error {
	var one int
	if err := json.Unmarshal(b, &one); err == nil {
		*p = Pair{one, one}
		return nil
	}
	var two []int
	if err := json.Unmarshal(b, &two); err != nil || len(two) != 2 {
		return fmt.Errorf("want a number or a pair [h, w], have %s", b)
	}
	*p = Pair{two[0], two[1]}
	return nil
}

// MarshalJSON writes a square pair as one number.
func (p Pair) MarshalJSON() ([]byte, error) {
	if p[0] == p[1] {
		return json.Marshal(p[0])
	}
	return json.Marshal([2]int(p))
}

// Layer is one layer of a Spec. Type selects which fields apply.
type Layer struct {
	Type string `json:"type"`

	InChannels  int   `json:"in_channels,omitempty"`
	OutChannels int   `json:"out_channels,omitempty"`
	KernelSize  Pair  `json:"kernel_size,omitzero"`
	Stride      Pair  `json:"stride,omitzero"`
	Padding     Pair  `json:"padding,omitzero"`
	Bias        *bool `json:"bias,omitempty"`

	InFeatures  int `json:"in_features,omitempty"`
	OutFeatures int `json:"out_features,omitempty"`

	NumFeatures int      `json:"num_features,omitempty"`
	Eps         *float64 `json:"eps,omitempty"`
	Momentum    *float64 `json:"momentum,omitempty"`

	P *float64 `json:"p,omitempty"`

	Factor *float64 `json:"factor,omitempty"`

	CeilMode        *bool `json:"ceil_mode,omitempty"`
	CountIncludePad *bool `json:"count_include_pad,omitempty"`

	Groups     int   `json:"groups,omitempty"`
	Dilation   Pair  `json:"dilation,omitzero"`
	PaddingEnd *Pair `json:"padding_end,omitempty"` // bottom and right, when they differ from padding (top and left)

	Levels int      `json:"levels,omitempty"` // QCFS: quantisation levels L
	Lambda *float64 `json:"lambda,omitempty"` // QCFS: λ's initial value (the trained one is the model's tensor)
}

// convConfig is the Conv2d layer's nn configuration.
func (l *Layer) convConfig() nn.Conv2dConfig {
	cfg := nn.Conv2dConfig{In: l.InChannels, Out: l.OutChannels, KernelHW: l.KernelSize, StrideHW: l.stride(Pair{1, 1}), PaddingHW: l.Padding,
		Bias: l.bias(), Groups: max(l.Groups, 1), DilationHW: l.Dilation}
	if l.PaddingEnd != nil {
		cfg.PadEndHW, cfg.HasPadEnd = *l.PaddingEnd, true
	}
	return cfg.Norm()
}

// Spec is the architecture of a Sequential network and the shape of one
// input sample ([C, H, W] for images).
type Spec struct {
	Format string  `json:"format"`
	Input  []int   `json:"input"`
	Layers []Layer `json:"layers"`
}

var fields = map[string][]string{
	"Conv2d":      {"in_channels", "out_channels", "kernel_size", "stride", "padding", "bias", "groups", "dilation", "padding_end"},
	"Linear":      {"in_features", "out_features", "bias"},
	"ReLU":        {},
	"Flatten":     {},
	"AvgPool2d":   {"kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"},
	"SumPool2d":   {"kernel_size", "stride", "padding", "ceil_mode"},
	"MaxPool2d":   {"kernel_size", "stride", "padding", "ceil_mode"},
	"BatchNorm2d": {"num_features", "eps", "momentum"},
	"Dropout":     {"p"},

	"GlobalAvgPool2d": {},
	"Identity":        {},
	"Normalize":       {"num_features"},
	"Scale":           {"factor"},
	"QCFS":            {"levels", "lambda", "num_features"},
}

// Types lists the layer types a Spec may use.
func Types() []string {
	var t []string
	for k := range fields {
		t = append(t, k)
	}
	sort.Strings(t)
	return t
}

// Parse reads a JSON architecture, rejecting unknown layer types and
// fields, and checks it with Validate.
func Parse(b []byte) (*Spec, error) {
	var raw struct {
		Format string            `json:"format"`
		Input  []int             `json:"input"`
		Layers []json.RawMessage `json:"layers"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("architecture: %w", err)
	}
	// Go matches struct fields case-insensitively: check the keys exactly.
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("architecture: %w", err)
	}
	for k := range top {
		if k != "format" && k != "input" && k != "layers" {
			return nil, fmt.Errorf("architecture: unknown field %q (want format, input and layers)", k)
		}
	}
	if raw.Format != Format {
		return nil, fmt.Errorf("architecture: format %q, want %q", raw.Format, Format)
	}
	s := &Spec{Format: raw.Format, Input: raw.Input}
	for i, lr := range raw.Layers {
		l, err := parseLayer(lr, fmt.Sprintf("layer %d", i))
		if err != nil {
			return nil, fmt.Errorf("architecture: %w", err)
		}
		s.Layers = append(s.Layers, l)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// parseLayer reads one layer object, where names the layer in errors; extra
// lists keys besides the layer's own that the caller reads (a graph node's
// name and inputs).
func parseLayer(lr json.RawMessage, where string, extra ...string) (Layer, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(lr, &keys); err != nil {
		return Layer{}, fmt.Errorf("%s: %w", where, err)
	}
	var typ string
	if t, ok := keys["type"]; !ok || json.Unmarshal(t, &typ) != nil {
		return Layer{}, fmt.Errorf("%s has no \"type\" string", where)
	}
	allowed, ok := fields[typ]
	if !ok {
		return Layer{}, fmt.Errorf("%s: unknown layer type %q (known: %s)", where, typ, strings.Join(Types(), ", "))
	}
	for k := range keys {
		if k != "type" && !contains(allowed, k) && !contains(extra, k) {
			return Layer{}, fmt.Errorf("%s (%s): unknown field %q (allowed: %s)", where, typ, k, strings.Join(allowed, ", "))
		}
	}
	for _, k := range extra {
		delete(keys, k)
	}
	trimmed, _ := json.Marshal(keys)
	var l Layer
	if err := json.Unmarshal(trimmed, &l); err != nil {
		return Layer{}, fmt.Errorf("%s (%s): %w", where, typ, err)
	}
	// A zero stride would otherwise read as "not given" (the default).
	if _, ok := keys["stride"]; ok && (l.Stride[0] < 1 || l.Stride[1] < 1) {
		return Layer{}, fmt.Errorf("%s (%s): stride %v must be at least 1", where, typ, [2]int(l.Stride))
	}
	return l.withDefaults(), nil
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// JSON returns the indented JSON form of s.
func (s *Spec) JSON() []byte {
	b, _ := json.MarshalIndent(s, "", "  ")
	return b
}

// Validate checks every layer's settings and that the shapes flow from
// Input through all layers; the error names the first offending layer.
func (s *Spec) Validate() error {
	_, err := s.Shapes()
	return err
}

// Shapes returns the sample shape after each layer (Shapes()[i] is the
// output of layer i).
func (s *Spec) Shapes() ([][]int, error) {
	if len(s.Input) == 0 || len(s.Input) > 3 {
		return nil, fmt.Errorf("architecture: input shape %v, want [C, H, W] or [features]", s.Input)
	}
	for _, d := range s.Input {
		if d < 1 || d > MaxDim {
			return nil, fmt.Errorf("architecture: input shape %v has a size outside [1, %d]", s.Input, MaxDim)
		}
	}
	if err := CheckActivation(s.Input); err != nil {
		return nil, fmt.Errorf("architecture: input: %w", err)
	}
	if len(s.Layers) == 0 {
		return nil, fmt.Errorf("architecture: no layers")
	}
	total := 0
	shape := s.Input
	var out [][]int
	for i, l := range s.Layers {
		if err := l.check(); err != nil {
			return nil, fmt.Errorf("architecture: layer %d (%s): %w", i, l.Type, err)
		}
		total += l.paramCount()
		if total > MaxParamsTotal {
			return nil, fmt.Errorf("architecture: more than %d parameters by layer %d", MaxParamsTotal, i)
		}
		layer, err := l.shapeOnly()
		if err != nil {
			return nil, fmt.Errorf("architecture: layer %d (%s): %w", i, l.Type, err)
		}
		next, err := layer.OutShape(shape)
		if err != nil {
			return nil, fmt.Errorf("architecture: layer %d (%s): %w", i, l.Type, err)
		}
		if err := CheckActivation(next); err != nil {
			return nil, fmt.Errorf("architecture: layer %d (%s): %w", i, l.Type, err)
		}
		shape = next
		out = append(out, shape)
	}
	return out, nil
}

func (l *Layer) check() error {
	pos := func(name string, v int) error {
		if v < 1 || v > MaxDim {
			return fmt.Errorf("%s %d outside [1, %d]", name, v, MaxDim)
		}
		return nil
	}
	pair := func(name string, p Pair, min int) error {
		for _, v := range p {
			if v < min || v > MaxDim {
				return fmt.Errorf("%s %v outside [%d, %d]", name, [2]int(p), min, MaxDim)
			}
		}
		return nil
	}
	switch l.Type {
	case "Conv2d":
		for _, e := range []error{pos("in_channels", l.InChannels), pos("out_channels", l.OutChannels), pair("kernel_size", l.KernelSize, 1), pair("stride", l.stride(Pair{1, 1}), 1), pair("padding", l.Padding, 0)} {
			if e != nil {
				return e
			}
		}
		if l.Groups < 0 || l.Groups > 1 && (l.InChannels%l.Groups != 0 || l.OutChannels%l.Groups != 0) {
			return fmt.Errorf("groups %d must divide in_channels %d and out_channels %d", l.Groups, l.InChannels, l.OutChannels)
		}
		if l.Dilation != (Pair{}) {
			if err := pair("dilation", l.Dilation, 1); err != nil {
				return err
			}
		}
		if l.PaddingEnd != nil {
			if err := pair("padding_end", *l.PaddingEnd, 0); err != nil {
				return err
			}
		}
	case "Linear":
		if err := pos("in_features", l.InFeatures); err != nil {
			return err
		}
		return pos("out_features", l.OutFeatures)
	case "AvgPool2d", "SumPool2d", "MaxPool2d":
		if err := pair("kernel_size", l.KernelSize, 1); err != nil {
			return err
		}
		if err := pair("padding", l.Padding, 0); err != nil {
			return err
		}
		return pair("stride", l.stride(l.KernelSize), 1)
	case "BatchNorm2d":
		if err := pos("num_features", l.NumFeatures); err != nil {
			return err
		}
		if l.Eps != nil && !(*l.Eps > 0) {
			return fmt.Errorf("eps %v must be positive", *l.Eps)
		}
		if l.Momentum != nil && !(*l.Momentum >= 0 && *l.Momentum <= 1) {
			return fmt.Errorf("momentum %v outside [0, 1]", *l.Momentum)
		}
	case "Dropout":
		if l.P != nil && !(*l.P >= 0 && *l.P < 1) {
			return fmt.Errorf("p %v outside [0, 1)", *l.P)
		}
	case "Normalize":
		return pos("num_features", l.NumFeatures)
	case "Scale":
		if l.Factor == nil || math.IsNaN(*l.Factor) || math.IsInf(*l.Factor, 0) || math.Abs(*l.Factor) > 3.4e38 {
			return fmt.Errorf("factor must be a finite number")
		}
	case "QCFS":
		if err := pos("levels", l.Levels); err != nil {
			return err
		}
		if l.NumFeatures < 0 || l.NumFeatures > MaxDim {
			return fmt.Errorf("num_features %d outside [0, %d]", l.NumFeatures, MaxDim)
		}
		if l.Lambda != nil && !(*l.Lambda > 0 && *l.Lambda <= 3.4e38) {
			return fmt.Errorf("lambda %v must be a positive finite number", *l.Lambda)
		}
	case "ReLU", "Flatten", "GlobalAvgPool2d", "Identity":
	default:
		return fmt.Errorf("unknown layer type %q", l.Type)
	}
	return nil
}

// withDefaults makes every default explicit, so that equal architectures
// have equal JSON.
func (l Layer) withDefaults() Layer {
	t, eps, mom, p := true, 1e-5, 0.1, 0.5
	switch l.Type {
	case "Conv2d":
		l.Stride = l.stride(Pair{1, 1})
		if l.Bias == nil {
			l.Bias = &t
		}
	case "Linear":
		if l.Bias == nil {
			l.Bias = &t
		}
	case "AvgPool2d", "SumPool2d", "MaxPool2d":
		l.Stride = l.stride(l.KernelSize)
	case "BatchNorm2d":
		if l.Eps == nil {
			l.Eps = &eps
		}
		if l.Momentum == nil {
			l.Momentum = &mom
		}
	case "Dropout":
		if l.P == nil {
			l.P = &p
		}
	case "QCFS":
		if l.Lambda == nil {
			lam := DefaultQCFSLambda
			l.Lambda = &lam
		}
	}
	return l
}

// DefaultQCFSLambda is a QCFS layer's initial λ when the architecture sets
// none. Measured with the low-latency recipe (tutorial-bn, L=4, 15 epochs,
// seed 0; analog input, 10k test images): from 2 the ANN reached 99.50 %
// and the SNN 99.51 % at T=4, 99.53 % at T=8; from 3, 99.42 / 98.43 /
// 99.16 %; from 4, 99.45 / 98.53 / 99.02 % (the SNN then stops improving
// with T: its clipped relaxation, the limit of many steps, is at 98.99 %);
// from 8, 99.24 / 99.11 / 98.53 %. Smaller λ fire more: 8.75 M synops a
// image at T=8 from 2, 5.43 M from 4.
const DefaultQCFSLambda = 2.0

func (l *Layer) stride(def Pair) Pair {
	if l.Stride == (Pair{}) {
		return def
	}
	return l.Stride
}

func (l *Layer) bias() bool { return l.Bias == nil || *l.Bias }

// CheckActivation rejects a sample shape with more than MaxActivation values.
func CheckActivation(shape []int) error {
	n := 1
	for _, d := range shape {
		if d < 0 || (d > 0 && n > MaxActivation/d) {
			return fmt.Errorf("shape %v holds more than %d values per sample", shape, MaxActivation)
		}
		n *= d
	}
	return nil
}

// ParamCount returns the number of parameters the layer holds (0 for an
// invalid layer).
func (l Layer) ParamCount() int {
	if l.check() != nil {
		return 0
	}
	return l.paramCount()
}

func (l *Layer) paramCount() int {
	switch l.Type {
	case "Conv2d":
		return l.OutChannels * (l.InChannels/max(l.Groups, 1)*l.KernelSize[0]*l.KernelSize[1] + 1)
	case "Linear":
		return l.OutFeatures * (l.InFeatures + 1)
	case "BatchNorm2d":
		return 4 * l.NumFeatures
	case "Normalize":
		return 2 * l.NumFeatures
	case "QCFS":
		return max(l.NumFeatures, 1)
	}
	return 0
}

// shapeOnly returns the layer without its parameters, enough for OutShape:
// checking an architecture must not allocate what it declares (a file's
// metadata can declare gigabytes of weights it does not hold).
func (l *Layer) shapeOnly() (nn.Layer, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	switch l.Type {
	case "Conv2d":
		return &nn.Conv2d{Config: l.convConfig()}, nil
	case "Linear":
		return &nn.Linear{Config: nn.LinearConfig{In: l.InFeatures, Out: l.OutFeatures, Bias: l.bias()}}, nil
	case "BatchNorm2d":
		return &nn.BatchNorm2d{Features: l.NumFeatures}, nil
	}
	return l.build(nil)
}

// TensorShape names one tensor of a state_dict and its shape.
type TensorShape struct {
	Name  string
	Shape []int
}

// StateShapes lists the tensors of the network's state_dict (PyTorch's
// names, in nn.Sequential.StateDict's order) with their shapes, without
// building the network, so a model file can be checked against its
// architecture before anything is allocated.
func (s *Spec) StateShapes() ([]TensorShape, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	var out []TensorShape
	for i, l := range s.Layers {
		for _, ts := range l.TensorShapes() {
			out = append(out, TensorShape{fmt.Sprintf("%d.%s", i, ts.Name), ts.Shape})
		}
	}
	return out, nil
}

// TensorShapes lists the layer's parameters and buffers as PyTorch names
// them ("weight", "running_var", ...) with their shapes, without allocating
// them.
func (l Layer) TensorShapes() []TensorShape {
	l = l.withDefaults()
	var out []TensorShape
	add := func(name string, shape ...int) { out = append(out, TensorShape{name, shape}) }
	switch l.Type {
	case "Conv2d":
		add("weight", l.OutChannels, l.InChannels/max(l.Groups, 1), l.KernelSize[0], l.KernelSize[1])
		if l.bias() {
			add("bias", l.OutChannels)
		}
	case "Linear":
		add("weight", l.OutFeatures, l.InFeatures)
		if l.bias() {
			add("bias", l.OutFeatures)
		}
	case "Normalize":
		add("mean", l.NumFeatures)
		add("std", l.NumFeatures)
	case "BatchNorm2d":
		add("weight", l.NumFeatures)
		add("bias", l.NumFeatures)
		add("running_mean", l.NumFeatures)
		add("running_var", l.NumFeatures)
		add("num_batches_tracked")
	case "QCFS":
		add("lambda", max(l.NumFeatures, 1))
	}
	return out
}

// OutShape returns the layer's output shape for a sample of shape in,
// checking the layer, without allocating its parameters.
func (l Layer) OutShape(in []int) ([]int, error) {
	l = l.withDefaults()
	sl, err := l.shapeOnly()
	if err != nil {
		return nil, err
	}
	return sl.OutShape(in)
}

func (l *Layer) build(rng *rand.Rand) (nn.Layer, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	switch l.Type {
	case "Conv2d":
		return nn.NewConv2d(l.convConfig(), rng), nil
	case "Linear":
		return nn.NewLinear(nn.LinearConfig{In: l.InFeatures, Out: l.OutFeatures, Bias: l.bias()}, rng), nil
	case "ReLU":
		return nn.NewReLU(), nil
	case "Flatten":
		return nn.NewFlatten(), nil
	case "AvgPool2d", "SumPool2d", "MaxPool2d":
		st := l.stride(l.KernelSize)
		cfg := nn.PoolConfig{KernelHW: l.KernelSize, StrideHW: st, PaddingHW: l.Padding, CeilMode: l.CeilMode != nil && *l.CeilMode,
			ExcludePad: l.CountIncludePad != nil && !*l.CountIncludePad}
		switch l.Type {
		case "AvgPool2d":
			return nn.NewAvgPool2d(cfg), nil
		case "SumPool2d":
			return nn.NewSumPool2d(cfg), nil
		}
		return nn.NewMaxPool2d(cfg), nil
	case "BatchNorm2d":
		b := nn.NewBatchNorm2d(l.NumFeatures)
		if l.Eps != nil {
			b.Eps = *l.Eps
		}
		if l.Momentum != nil {
			b.Momentum = *l.Momentum
		}
		return b, nil
	case "GlobalAvgPool2d":
		return nn.NewGlobalAvgPool2d(), nil
	case "Identity":
		return nn.NewIdentity(), nil
	case "Normalize":
		mean, std := make([]float32, l.NumFeatures), make([]float32, l.NumFeatures)
		for i := range std {
			std[i] = 1
		}
		return nn.NewNormalize(mean, std)
	case "Scale":
		return nn.NewScale(float32(*l.Factor)), nil
	case "QCFS":
		lam := DefaultQCFSLambda
		if l.Lambda != nil {
			lam = *l.Lambda
		}
		return nn.NewQCFS(l.Levels, float32(lam), l.NumFeatures), nil
	case "Dropout":
		p := 0.5
		if l.P != nil {
			p = *l.P
		}
		var r *rand.Rand
		if rng != nil {
			r = rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
		}
		return nn.NewDropout(p, r), nil
	}
	return nil, fmt.Errorf("unknown layer type %q", l.Type)
}

// Build returns a new layer described by l, initialised as PyTorch does from
// rng (zero weights when rng is nil).
func (l Layer) Build(rng *rand.Rand) (nn.Layer, error) {
	l = l.withDefaults()
	return l.build(rng)
}

// Describe returns the description of one layer.
func Describe(layer nn.Layer) (Layer, error) {
	f, t := false, true
	var l Layer
	switch v := layer.(type) {
	case *nn.Conv2d:
		c := v.Config.Norm()
		l = Layer{Type: "Conv2d", InChannels: c.In, OutChannels: c.Out, KernelSize: c.KernelHW, Stride: c.StrideHW, Padding: c.PaddingHW, Bias: &f}
		if c.Bias {
			l.Bias = &t
		}
		if c.Groups > 1 {
			l.Groups = c.Groups
		}
		if c.DilationHW != [2]int{1, 1} {
			l.Dilation = c.DilationHW
		}
		if c.HasPadEnd {
			pe := Pair(c.PadEndHW)
			l.PaddingEnd = &pe
		}
	case *nn.Linear:
		l = Layer{Type: "Linear", InFeatures: v.Config.In, OutFeatures: v.Config.Out, Bias: &f}
		if v.Config.Bias {
			l.Bias = &t
		}
	case *nn.ReLU:
		l = Layer{Type: "ReLU"}
	case *nn.Flatten:
		l = Layer{Type: "Flatten"}
	case *nn.Pool2d:
		c := v.Config
		l = Layer{KernelSize: c.KernelHW, Stride: c.StrideHW, Padding: c.PaddingHW}
		if c.CeilMode {
			l.CeilMode = &t
		}
		if c.ExcludePad {
			l.CountIncludePad = &f
		}
		l.Type = map[nn.PoolKind]string{nn.PoolAvg: "AvgPool2d", nn.PoolSum: "SumPool2d", nn.PoolMax: "MaxPool2d"}[v.Kind]
	case *nn.BatchNorm2d:
		eps, mom := v.Eps, v.Momentum
		l = Layer{Type: "BatchNorm2d", NumFeatures: v.Features, Eps: &eps, Momentum: &mom}
	case *nn.Dropout:
		p := v.P
		l = Layer{Type: "Dropout", P: &p}
	case *nn.GlobalAvgPool2d:
		l = Layer{Type: "GlobalAvgPool2d"}
	case *nn.Identity:
		l = Layer{Type: "Identity"}
	case *nn.Normalize:
		l = Layer{Type: "Normalize", NumFeatures: len(v.Mean.Value.Data)}
	case *nn.Scale:
		f := float64(v.Factor)
		l = Layer{Type: "Scale", Factor: &f}
	case *nn.QCFS:
		lam := float64(v.Lambda.Value.Data[0])
		l = Layer{Type: "QCFS", Levels: v.Levels, Lambda: &lam}
		if v.PerChannel() {
			l.NumFeatures = v.Lambda.Value.Shape[0]
		}
	default:
		return Layer{}, fmt.Errorf("%T has no architecture description", layer)
	}
	return l, nil
}

// Build validates s and returns a new network with PyTorch's default
// initialisation drawn from rng (zero weights when rng is nil).
func (s *Spec) Build(rng *rand.Rand) (*nn.Sequential, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	seq := &nn.Sequential{}
	for i, l := range s.Layers {
		layer, err := l.build(rng)
		if err != nil {
			return nil, fmt.Errorf("architecture: layer %d (%s): %w", i, l.Type, err)
		}
		seq.Layers = append(seq.Layers, layer)
	}
	return seq, nil
}

// FromSequential describes an existing network; input is the sample shape.
func FromSequential(seq *nn.Sequential, input []int) (*Spec, error) {
	s := &Spec{Format: Format, Input: append([]int(nil), input...)}
	for i, layer := range seq.Layers {
		l, err := Describe(layer)
		if err != nil {
			return nil, fmt.Errorf("architecture: layer %d: %w", i, err)
		}
		s.Layers = append(s.Layers, l)
	}
	return s, s.Validate()
}
