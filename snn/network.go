package snn

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/snnkit/snnkit/graph"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/tensor"
)

// Stage is one step of a spiking network: a layer applied to every time
// step's frame on its own (Layer set), or a spiking population whose state
// carries over time (Neuron set).
type Stage struct {
	// Name is the stage's name in sinabs' terms: the index of the module in
	// the converted Sequential ("0", "1", ...), or "spike_output"; for a
	// network converted from a graph, the graph node's name.
	Name   string
	Layer  nn.Layer
	Neuron *Neuron
	// Join, in a network converted from a graph, sums (Add) or joins
	// (Concat) the currents and spikes of several stages.
	Join nn.Join
	// MaxPool is a spiking max-pool (sinabs' SpikingMaxPooling2dLayer),
	// the conversion of an ANN's MaxPool2d; it keeps state over time.
	MaxPool *SpikingMaxPool
	// Inputs names the stages (or Input, the network's input) this stage
	// reads. Empty means the stage before it, as in a chain.
	Inputs []string
	// Delayed names those of Inputs read one time step late: their output
	// at the step before (zeros at the first). They may be this stage or
	// later ones: a recurrent connection, which only the reference engine
	// runs.
	Delayed []string
	// In and Out are the sample shapes before and after the stage (In is
	// the first input's for a join).
	In, Out []int
}

// Input is the name by which stages read the network's input.
const Input = "input"

// Spiking reports whether the stage is a spiking population.
func (s *Stage) Spiking() bool { return s.Neuron != nil }

// IsChain reports whether every stage reads the one before it, with no
// join: the networks FromModel makes, which convert back into a Sequential
// (ANN). Every engine runs chains and graphs alike.
func (n *Network) IsChain() bool {
	for i, st := range n.Stages {
		if st.Join != nil {
			return false
		}
		switch {
		case len(st.Inputs) == 0:
		case len(st.Inputs) == 1 && i == 0 && st.Inputs[0] == Input:
		case len(st.Inputs) == 1 && i > 0 && st.Inputs[0] == n.Stages[i-1].Name:
		default:
			return false
		}
	}
	return true
}

// Sources returns, per stage, the indices of the stages it reads (-1 for
// the network's input), or an error naming a stage that reads one that is
// not before it, or one a step late (a recurrent network: see
// DelayedSources).
func (n *Network) Sources() ([][]int, error) {
	if n.Recurrent() {
		for _, st := range n.Stages {
			if len(st.Delayed) > 0 {
				return nil, fmt.Errorf("stage %s reads %s one step late: a recurrent network, which only the reference engine runs", st.Name, st.Delayed[0])
			}
		}
	}
	src, _, err := n.DelayedSources()
	return src, err
}

// Recurrent reports whether a stage reads another one step late.
func (n *Network) Recurrent() bool {
	for _, st := range n.Stages {
		if len(st.Delayed) > 0 {
			return true
		}
	}
	return false
}

// DelayedSources is Sources for any network: delayed[i][k] says that
// stage i reads its input k, src[i][k], one step late (any stage).
func (n *Network) DelayedSources() (src [][]int, delayed [][]bool, err error) {
	all := make(map[string]int, len(n.Stages))
	for i, st := range n.Stages {
		all[st.Name] = i
	}
	index := make(map[string]int, len(n.Stages))
	src = make([][]int, len(n.Stages))
	delayed = make([][]bool, len(n.Stages))
	for i, st := range n.Stages {
		for _, d := range st.Delayed {
			if !slices.Contains(st.Inputs, d) {
				return nil, nil, fmt.Errorf("stage %s delays %q, which is not one of its inputs", st.Name, d)
			}
		}
		if len(st.Inputs) == 0 {
			src[i] = []int{i - 1}
			delayed[i] = []bool{false}
		} else {
			for _, in := range st.Inputs {
				late := slices.Contains(st.Delayed, in)
				j, ok := index[in]
				if late {
					j, ok = all[in]
				}
				if in == Input {
					j, ok = -1, !late
				}
				if !ok {
					return nil, nil, fmt.Errorf("stage %s reads %q, which is not an earlier stage", st.Name, in)
				}
				src[i] = append(src[i], j)
				delayed[i] = append(delayed[i], late)
			}
		}
		if st.Join == nil && len(src[i]) != 1 {
			return nil, nil, fmt.Errorf("stage %s: %d inputs without a join", st.Name, len(src[i]))
		}
		if st.Join == nil && delayed[i][0] {
			return nil, nil, fmt.Errorf("stage %s: a delayed input needs a join to meet the others at", st.Name)
		}
		index[st.Name] = i
	}
	return src, delayed, nil
}

// Network is a converted spiking network.
type Network struct {
	Input  []int // sample shape of one time step's input, e.g. [1, 28, 28]
	Stages []Stage
	// Options records how the network was converted.
	Options ConvertOptions
}

// ConvertOptions are the settings of FromModel, with sinabs' from_model
// meanings. Start from DefaultConvertOptions.
type ConvertOptions struct {
	// Neuron is the population that replaces every ReLU (and the added
	// spiking output).
	Neuron Neuron
	// BiasRescaling divides the biases of Conv2d and Linear layers.
	BiasRescaling float32
	// AddSpikingOutput appends a spiking population named "spike_output"
	// when the network does not end in one.
	AddSpikingOutput bool
	// FoldBatchNorm folds an evaluation-mode BatchNorm2d into the Conv2d
	// right before it; otherwise it stays a stage of its own.
	FoldBatchNorm bool
	// QCFSNeuron is the population that replaces every QCFS activation,
	// its threshold set to the layer's λ; the spikes then carry λ (a
	// Scale after the population, folded into the weights of the layer it
	// feeds where it can be). The zero value means DefaultQCFSNeuron.
	QCFSNeuron Neuron
}

// DefaultConvertOptions are from_model's defaults as the tutorial uses it:
// IAF with threshold 1, MultiSpike, subtract reset, min_v_mem -1, bias
// rescaling 1, and an added spiking output.
func DefaultConvertOptions() ConvertOptions {
	return ConvertOptions{Neuron: DefaultIAF(), BiasRescaling: 1, AddSpikingOutput: true, QCFSNeuron: DefaultQCFSNeuron()}
}

// Validate checks the options.
func (o *ConvertOptions) Validate() error {
	if err := o.Neuron.Validate(); err != nil {
		return err
	}
	if q := o.QCFSNeuron; q != (Neuron{}) {
		if err := q.Validate(); err != nil {
			return fmt.Errorf("QCFS neuron: %w", err)
		}
	}
	if o.Neuron.Kind == ExpLeak {
		return fmt.Errorf("ReLUs convert to spiking neurons; ExpLeak does not spike")
	}
	if !(o.BiasRescaling > 0) || math.IsInf(float64(o.BiasRescaling), 0) {
		return fmt.Errorf("bias rescaling %v must be a positive number", o.BiasRescaling)
	}
	return nil
}

// FromModel converts a trained ANN into a spiking network the way sinabs'
// from_model does: every ReLU becomes a spiking population, Conv2d, Linear,
// pooling and Flatten stay as they are (their biases added at every step),
// BatchNorm2d runs in evaluation mode (or is folded), Dropout is dropped (the
// identity), and a spiking output is added. A QCFS layer becomes a
// population of threshold λ whose spikes carry λ; one with λ per channel
// has them folded into the weights around it first (its population's
// threshold 1; see FromGraph). The ANN is not modified; the network holds
// copies of its weights. input is the sample shape.
func FromModel(ann *nn.Sequential, input []int, opts ConvertOptions) (*Network, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("convert: %w", err)
	}
	if hasChannelLambdas(ann.Layers) {
		// λ per channel folds into the weights on the graph (BatchNorm
		// folded first, as a QCFS model's conversion does by default).
		g, err := graph.FromSequential(ann, input)
		if err != nil {
			return nil, fmt.Errorf("convert: %w", err)
		}
		net, _, err := FromGraph(g, opts)
		return net, err
	}
	seq, err := Clone(ann, input)
	if err != nil {
		return nil, fmt.Errorf("convert: %w", err)
	}
	net := &Network{Input: append([]int(nil), input...), Options: opts}
	shape := input
	relus := 0
	amps := map[string]bool{}
	for i, l := range seq.Layers {
		name := fmt.Sprint(i)
		out, err := l.OutShape(shape)
		if err != nil {
			return nil, fmt.Errorf("convert: layer %d: %w", i, err)
		}
		switch v := l.(type) {
		case *nn.ReLU:
			n := opts.Neuron
			net.Stages = append(net.Stages, Stage{Name: name, Neuron: &n, In: shape, Out: out})
			relus++
		case *nn.QCFS:
			n, err := qcfsNeuron(v, opts)
			if err != nil {
				return nil, fmt.Errorf("convert: layer %d: %w", i, err)
			}
			net.Stages = append(net.Stages, Stage{Name: name, Neuron: &n, In: shape, Out: out},
				Stage{Name: amplitudeName(name), Layer: nn.NewScale(n.Threshold), In: out, Out: out})
			amps[amplitudeName(name)] = true
			relus++
		case *nn.Dropout:
			// identity in evaluation
		case *nn.BatchNorm2d:
			if err := v.CheckStats(); err != nil {
				return nil, fmt.Errorf("convert: layer %d (BatchNorm2d): %w", i, err)
			}
			if opts.FoldBatchNorm && len(net.Stages) > 0 {
				if conv, ok := net.Stages[len(net.Stages)-1].Layer.(*nn.Conv2d); ok {
					foldBatchNorm(conv, v)
					break
				}
			}
			net.Stages = append(net.Stages, Stage{Name: name, Layer: v, In: shape, Out: out})
		case *nn.Conv2d, *nn.Linear:
			for _, p := range l.Params() {
				if p.Name == "bias" && opts.BiasRescaling != 1 {
					for j := range p.Value.Data {
						p.Value.Data[j] /= opts.BiasRescaling
					}
				}
			}
			net.Stages = append(net.Stages, Stage{Name: name, Layer: l, In: shape, Out: out})
		case *nn.Pool2d, *nn.Flatten:
			if p, ok := l.(*nn.Pool2d); ok && p.Kind == nn.PoolMax {
				net.Stages = append(net.Stages, Stage{Name: name, MaxPool: &SpikingMaxPool{Kernel: p.Config.KernelHW, Stride: p.Config.StrideHW, Padding: p.Config.PaddingHW, CeilMode: p.Config.CeilMode}, In: shape, Out: out})
				break
			}
			net.Stages = append(net.Stages, Stage{Name: name, Layer: l, In: shape, Out: out})
		default:
			return nil, fmt.Errorf("convert: layer %d: %v cannot be converted", i, l)
		}
		shape = out
	}
	if relus == 0 {
		return nil, fmt.Errorf("convert: the model has no ReLU or QCFS to convert into spiking neurons")
	}
	if _, err := foldAmplitudes(net, amps); err != nil {
		return nil, fmt.Errorf("convert: %w", err)
	}
	if opts.AddSpikingOutput && !net.Stages[len(net.Stages)-1].Spiking() {
		n := opts.Neuron
		net.Stages = append(net.Stages, Stage{Name: "spike_output", Neuron: &n, In: shape, Out: shape})
	}
	return net, nil
}

// foldBatchNorm rewrites conv so that conv followed by bn (evaluation) is
// one convolution: W' = a·W, b' = a·b + c per output channel.
func foldBatchNorm(conv *nn.Conv2d, bn *nn.BatchNorm2d) {
	scale, shift := bn.EvalScaleShift()
	w := conv.Weight.Value.Data
	per := len(w) / conv.Config.Out
	for o := 0; o < conv.Config.Out; o++ {
		for j := range w[o*per : (o+1)*per] {
			w[o*per+j] *= scale[o]
		}
	}
	if conv.Bias == nil {
		conv.Config.Bias = true
		conv.Bias = &nn.Param{Name: "bias", Value: tensor.New(conv.Config.Out), Grad: tensor.New(conv.Config.Out)}
	}
	b := conv.Bias.Value.Data
	for o := range b {
		b[o] = b[o]*scale[o] + shift[o]
	}
}

// Clone returns a deep copy of an ANN (nn.Sequential.Clone); input is the
// sample shape, checked.
func Clone(seq *nn.Sequential, input []int) (*nn.Sequential, error) {
	if _, err := seq.OutShape(input); err != nil {
		return nil, err
	}
	return seq.Clone()
}

// SpikingStages returns the indices of the spiking stages.
func (n *Network) SpikingStages() []int {
	var idx []int
	for i := range n.Stages {
		if n.Stages[i].Spiking() {
			idx = append(idx, i)
		}
	}
	return idx
}

// OutputShape is the sample shape of the network's output.
func (n *Network) OutputShape() []int { return n.Stages[len(n.Stages)-1].Out }

// String prints the network like sinabs prints a converted Sequential.
func (n *Network) String() string {
	var b strings.Builder
	b.WriteString("Sequential(\n")
	for _, s := range n.Stages {
		var d string
		switch {
		case s.Spiking():
			d = s.Neuron.String()
		case s.Join != nil:
			d = s.Join.String()
		case s.MaxPool != nil:
			d = s.MaxPool.String()
		default:
			d = s.Layer.String()
		}
		if len(s.Inputs) > 0 && !n.IsChain() {
			d += " <- " + strings.Join(s.Inputs, ", ")
		}
		fmt.Fprintf(&b, "  (%s): %s\n", s.Name, d)
	}
	b.WriteString(")")
	return b.String()
}

// ANN returns the analog network this spiking network computes at high
// rates: every spiking stage becomes a ReLU, except an added "spike_output",
// which is dropped. The layers are copies.
func (n *Network) ANN() (*nn.Sequential, error) {
	seq := &nn.Sequential{}
	for _, st := range n.Stages {
		switch {
		case st.Spiking() && st.Name == "spike_output":
		case st.Spiking():
			seq.Layers = append(seq.Layers, nn.NewReLU())
		case st.MaxPool != nil:
			seq.Layers = append(seq.Layers, nn.NewMaxPool2d(nn.PoolConfig{KernelHW: st.MaxPool.Kernel, StrideHW: st.MaxPool.Stride, PaddingHW: st.MaxPool.Padding, CeilMode: st.MaxPool.CeilMode}))
		default:
			seq.Layers = append(seq.Layers, st.Layer)
		}
	}
	return Clone(seq, n.Input)
}

// ANNGraph is ANN for any network: the analog graph, with each stage a
// node of the same name (spiking stages as ReLUs, the added spike_output
// dropped). The layers are copies.
func (n *Network) ANNGraph() (*graph.Graph, error) {
	g := graph.New(n.Input)
	prev := graph.Input
	last := ""
	for _, st := range n.Stages {
		ins := st.Inputs
		if len(ins) == 0 {
			ins = []string{prev}
		}
		prev = st.Name
		switch {
		case st.Spiking() && st.Name == "spike_output":
			continue
		case st.Spiking():
			g.AddLayer(st.Name, nn.NewReLU(), ins[0])
		case st.MaxPool != nil:
			g.AddLayer(st.Name, nn.NewMaxPool2d(nn.PoolConfig{KernelHW: st.MaxPool.Kernel, StrideHW: st.MaxPool.Stride, PaddingHW: st.MaxPool.Padding, CeilMode: st.MaxPool.CeilMode}), ins[0])
		case st.Join != nil:
			j, err := nn.CloneJoin(st.Join)
			if err != nil {
				return nil, err
			}
			g.AddJoin(st.Name, j, ins...)
		default:
			l, err := nn.CloneLayer(st.Layer)
			if err != nil {
				return nil, err
			}
			g.AddLayer(st.Name, l, ins[0])
		}
		last = st.Name
	}
	g.Output = last
	return g, g.Check()
}
