package cli

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/snnkit/snnkit/calibrate"
	"github.com/snnkit/snnkit/data/mnist"
	"github.com/snnkit/snnkit/graph"
	"github.com/snnkit/snnkit/modelio"
	"github.com/snnkit/snnkit/nir"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/onnx"
	"github.com/snnkit/snnkit/safetensors"
	"github.com/snnkit/snnkit/sim"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/tensor"
)

// convFlags are the conversion settings shared by convert, run and simulate.
type convFlags struct {
	threshold     float64
	minVMem       string
	spike         string
	reset         string
	spikingOutput bool
	biasRescaling float64
	normalize     string
	normSamples   int
	foldBN        bool
	vInit         float64
	inputNorm     string
	readout       string
	calibrate     int
	calibSeed     uint64
	calibPer      string // --calibrate-thresholds: channel or layer

	nirDynamics string  // --nir-dynamics: how a NIR model's neurons read
	dt          float64 // --dt: the nir dynamics' time step

	spikingOutputSet bool // --spiking-output was given (set by loadForSimulation before options)
	steps            int  // the T calibration aims at: run's --timesteps, convert's
}

var convFlagNames = []string{"threshold", "min-v-mem", "spike", "reset", "spiking-output", "bias-rescaling", "normalize", "normalize-samples", "fold-batchnorm", "v-init", "input-norm", "readout", "calibrate", "calibrate-seed", "calibrate-thresholds"}

// registerNIR adds the flags that say how a NIR model's neurons read.
func registerNIR(f *pflag.FlagSet, dynamics *string, dt *float64) {
	f.StringVar(dynamics, "nir-dynamics", "sinabs", "with a .nir model: sinabs (what sinabs' from_nir builds) or nir (NIR's equations stepped by --dt, exact decay, reset to v_reset)")
	f.Float64Var(dt, "dt", 0, "with --nir-dynamics nir: the time step, in the NIR file's time unit (seconds)")
}

// nirOptions reads --nir-dynamics and --dt for a model at path.
func nirOptions(cmd *cobra.Command, path, dynamics string, dt float64) (nir.ReadOptions, error) {
	changed := cmd.Flags().Changed
	if !nir.IsNIR(path) {
		for _, n := range []string{"nir-dynamics", "dt"} {
			if changed(n) {
				return nir.ReadOptions{}, fmt.Errorf("--%s: applies to NIR models (-m FILE.nir)", n)
			}
		}
		return nir.ReadOptions{}, nil
	}
	d, err := nir.ParseDynamics(dynamics)
	if err != nil {
		return nir.ReadOptions{}, fmt.Errorf("--nir-dynamics: %w", err)
	}
	switch {
	case d == nir.Reference && !(dt > 0 && dt < 1e6):
		return nir.ReadOptions{}, fmt.Errorf("--nir-dynamics nir needs --dt, a time step > 0 (have %v)", dt)
	case d == nir.Sinabs && changed("dt"):
		return nir.ReadOptions{}, fmt.Errorf("--dt: applies to --nir-dynamics nir (sinabs reads time constants in steps)")
	}
	return nir.ReadOptions{Dynamics: d, DT: dt}, nil
}

func (c *convFlags) register(f *pflag.FlagSet) {
	registerNIR(f, &c.nirDynamics, &c.dt)
	f.Float64Var(&c.threshold, "threshold", 1, "spike threshold of the IAF neurons")
	f.StringVar(&c.minVMem, "min-v-mem", "-1", "lower bound of the membrane potential, or none")
	f.StringVar(&c.spike, "spike", "multi", "spike function: multi, single or max:N")
	f.StringVar(&c.reset, "reset", "subtract", "reset after a spike: subtract or zero")
	f.BoolVar(&c.spikingOutput, "spiking-output", true, "add a spiking layer after the last layer (sinabs' add_spiking_output)")
	f.Float64Var(&c.biasRescaling, "bias-rescaling", 1, "divide the biases by this factor")
	f.StringVar(&c.normalize, "normalize", "none", "weight normalisation before conversion: none or percentile:P (e.g. percentile:99)")
	f.IntVar(&c.normSamples, "normalize-samples", 500, "training images used to measure activations for --normalize")
	f.BoolVar(&c.foldBN, "fold-batchnorm", false, "fold BatchNorm2d into the preceding Conv2d")
	f.Float64Var(&c.vInit, "v-init", 0, "initial membrane potential as a fraction of the threshold (0: sinabs' zero state; 0.5 centres the rounding)")
	f.StringVar(&c.inputNorm, "input-norm", "", "input normalisation (x-mean)/std of an ONNX model, applied to the input current: MEAN,STD or m1,m2,m3/s1,s2,s3")
	f.IntVar(&c.calibrate, "calibrate", 0, "calibrate a ReLU network for --timesteps on N training images (threshold search and bias correction, Li et al. 2021; e.g. 1024): its populations fire once a step at most, start at half the threshold, no floor, membrane readout")
	f.Uint64Var(&c.calibSeed, "calibrate-seed", 0, "seed of the choice of --calibrate's training images")
	f.StringVar(&c.calibPer, "calibrate-thresholds", "channel", "--calibrate's threshold search: channel (one threshold per channel, folded into the weights) or layer (one per population)")
	f.StringVar(&c.readout, "readout", "", "output layer: spikes (a spiking output, sinabs' add_spiking_output) or membrane (integrated without spiking, the prediction the argmax of its potential); default spikes, membrane for a model with QCFS activations")
}

// forCalibration adjusts the options for --calibrate: calibrate.Neuron
// (threshold 1 on the rescaled network, SingleSpike, subtract reset, no
// floor, v_init 0.5) and the membrane readout, the flags given overriding
// them.
func (c *convFlags) forCalibration(cmd *cobra.Command, o *snn.ConvertOptions) error {
	changed := cmd.Flags().Changed
	switch {
	case c.calibrate > 1<<20:
		return fmt.Errorf("--calibrate %d: at most %d images", c.calibrate, 1<<20)
	case changed("normalize"):
		return fmt.Errorf("--calibrate: replaces --normalize (it chooses the thresholds itself)")
	case changed("threshold"):
		return fmt.Errorf("--calibrate: chooses the thresholds itself; --threshold does not apply")
	case c.calibPer != "channel" && c.calibPer != "layer":
		return fmt.Errorf("--calibrate-thresholds %q: channel or layer", c.calibPer)
	}
	o.Neuron = c.neuronDefaults(cmd, calibrate.Neuron(), o)
	return o.Validate()
}

// neuronDefaults returns def with the neuron settings given on the command
// line (parsed into o.Neuron) in place of its own, and sets the membrane
// readout unless one was asked for: what --calibrate and a QCFS model
// change in the defaults.
func (c *convFlags) neuronDefaults(cmd *cobra.Command, def snn.Neuron, o *snn.ConvertOptions) snn.Neuron {
	changed := cmd.Flags().Changed
	if changed("v-init") {
		def.VInit = o.Neuron.VInit
	}
	if changed("spike") {
		def.Spike, def.MaxSpikes = o.Neuron.Spike, o.Neuron.MaxSpikes
	}
	if changed("reset") {
		def.Reset = o.Neuron.Reset
	}
	if changed("min-v-mem") {
		def.HasFloor, def.MinVMem = o.Neuron.HasFloor, o.Neuron.MinVMem
	}
	if c.readout == "" && !changed("spiking-output") {
		o.AddSpikingOutput = false
	}
	return def
}

// calibrateGraph converts g by calibration for c.steps steps on
// c.calibrate training images chosen with c.calibSeed.
func (e *env) calibrateGraph(cmd *cobra.Command, path string, g *graph.Graph, opts snn.ConvertOptions, c *convFlags) (*loaded, error) {
	if err := c.forCalibration(cmd, &opts); err != nil {
		return nil, err
	}
	if c.steps < 1 {
		return nil, fmt.Errorf("--calibrate: needs --timesteps, the T to calibrate for")
	}
	trainSet, _, err := e.loadData()
	if err != nil {
		return nil, fmt.Errorf("--calibrate needs training images: %w", err)
	}
	idx := rand.New(rand.NewPCG(c.calibSeed, 0xca1b)).Perm(trainSet.N)[:min(c.calibrate, trainSet.N)]
	net, report, res, err := calibrate.Graph(cmd.Context(), g, opts, calibrate.Config{Steps: c.steps, Samples: indexSamples{trainSet, idx}, Engine: sim.EngineAuto,
		SearchVInit: !cmd.Flags().Changed("v-init"), LayerThresholds: c.calibPer == "layer"})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &loaded{net: net, ann: g, normalized: c.inputNorm != "", report: report, calibration: res}, nil
}

// indexSamples serves the images idx of a data set.
type indexSamples struct {
	d   *mnist.Dataset
	idx []int
}

func (s indexSamples) Len() int { return len(s.idx) }

func (s indexSamples) Batch(lo, hi int, x *tensor.Tensor) { s.d.Batch(s.idx[lo:hi], x, nil) }

// Label implements calibrate.Labeled.
func (s indexSamples) Label(i int) int { return int(s.d.Labels[s.idx[i]]) }

// forQCFS adjusts the options for a model with QCFS activations, whose
// defaults differ: their populations are snn.DefaultQCFSNeuron with
// threshold λ (v_init 0.5, SingleSpike, subtract reset, no floor), the
// readout is the membrane, and BatchNorm2d folds. The flags given on the command line override
// those defaults; --threshold does not apply (λ is the threshold).
func (c *convFlags) forQCFS(cmd *cobra.Command, o *snn.ConvertOptions) error {
	changed := cmd.Flags().Changed
	if changed("threshold") {
		return fmt.Errorf("--threshold: a QCFS layer's threshold is its trained λ")
	}
	o.QCFSNeuron = c.neuronDefaults(cmd, snn.DefaultQCFSNeuron(), o)
	if !changed("fold-batchnorm") {
		// A trained network's BatchNorm folds into its convolutions: no
		// pass per frame (a graph's are folded anyway).
		o.FoldBatchNorm = true
	}
	return nil
}

// anySet reports whether a conversion flag was given on the command line.
func (c *convFlags) anySet(cmd *cobra.Command) string {
	for _, n := range convFlagNames {
		if cmd.Flags().Changed(n) {
			return n
		}
	}
	return ""
}

// options turns the flags into conversion options.
func (c *convFlags) options() (snn.ConvertOptions, error) {
	o := snn.DefaultConvertOptions()
	if !(c.threshold > 0) || math.IsInf(c.threshold, 0) {
		return o, fmt.Errorf("--threshold %v: must be a positive number", c.threshold)
	}
	if c.threshold < snn.MinThreshold {
		return o, fmt.Errorf("--threshold %v: below %v, spike counts (v/θ per step) overflow float32", c.threshold, snn.MinThreshold)
	}
	o.Neuron.Threshold = float32(c.threshold)
	switch c.minVMem {
	case "none":
		o.Neuron.HasFloor = false
	default:
		v, err := strconv.ParseFloat(c.minVMem, 32)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return o, fmt.Errorf("--min-v-mem %q: want a number or none", c.minVMem)
		}
		if v >= c.threshold {
			return o, fmt.Errorf("--min-v-mem %s: must be below --threshold %v (a floor at or above it makes every neuron spike at every step)", c.minVMem, c.threshold)
		}
		o.Neuron.HasFloor, o.Neuron.MinVMem = true, float32(v)
	}
	var err error
	if o.Neuron.Spike, o.Neuron.MaxSpikes, err = snn.ParseSpikeFn(c.spike); err != nil {
		return o, fmt.Errorf("--spike: %w", err)
	}
	switch c.reset {
	case "subtract":
		o.Neuron.Reset = snn.ResetSubtract
	case "zero":
		o.Neuron.Reset = snn.ResetToValue
	default:
		return o, fmt.Errorf("--reset %q: want subtract or zero", c.reset)
	}
	if !(c.biasRescaling > 0) || math.IsInf(c.biasRescaling, 0) {
		return o, fmt.Errorf("--bias-rescaling %v: must be a positive number", c.biasRescaling)
	}
	o.BiasRescaling = float32(c.biasRescaling)
	o.AddSpikingOutput = c.spikingOutput
	switch c.readout {
	case "":
	case "spikes", "membrane":
		if c.spikingOutputSet && c.spikingOutput != (c.readout == "spikes") {
			return o, fmt.Errorf("--readout %s contradicts --spiking-output=%v", c.readout, c.spikingOutput)
		}
		o.AddSpikingOutput = c.readout == "spikes"
	default:
		return o, fmt.Errorf("--readout %q: want spikes or membrane", c.readout)
	}
	o.FoldBatchNorm = c.foldBN
	if !(c.vInit >= 0 && c.vInit <= 1) {
		return o, fmt.Errorf("--v-init %v: must be a fraction of the threshold in [0, 1]", c.vInit)
	}
	o.Neuron.VInit = float32(c.vInit)
	if _, err := c.percentile(); err != nil {
		return o, err
	}
	if c.normSamples < 1 {
		return o, fmt.Errorf("--normalize-samples %d: must be at least 1", c.normSamples)
	}
	return o, o.Validate()
}

// percentile returns the --normalize percentile, 0 for none.
func (c *convFlags) percentile() (float64, error) {
	if c.normalize == "none" {
		return 0, nil
	}
	p, ok := strings.CutPrefix(c.normalize, "percentile:")
	if ok {
		v, err := strconv.ParseFloat(p, 64)
		if err == nil && v > 0 && v <= 100 {
			return v, nil
		}
	}
	return 0, fmt.Errorf("--normalize %q: want none or percentile:P with P in (0, 100]", c.normalize)
}

// datasetSamples serves MNIST images to snn.NormalizeWeightsFrom in batches.
type datasetSamples struct{ d *mnist.Dataset }

func (s datasetSamples) Len() int { return s.d.N }

func (s datasetSamples) Batch(lo, hi int, x *tensor.Tensor) {
	idx := make([]int, hi-lo)
	for i := range idx {
		idx[i] = lo + i
	}
	s.d.Batch(idx, x, nil)
}

// loaded is a model file opened for simulation.
type loaded struct {
	net        *snn.Network
	ann        nn.Model // the analog network (before normalisation)
	isSNN      bool
	nir        bool // read from a NIR file
	normalized bool // the input is normalised by the network (an ONNX model with --input-norm)
	norms      []snn.Normalization
	graphNorms []snn.GraphNormalization
	report     []snn.NodeReport
	// calibration: what --calibrate did.
	calibration *calibrate.Result
}

// loadForSimulation opens an ANN (converted with the flags) or an SNN file.
func (e *env) loadForSimulation(cmd *cobra.Command, path, archName string, c *convFlags) (*loaded, error) {
	c.spikingOutputSet = cmd.Flags().Changed("spiking-output")
	opts, err := c.options()
	if err != nil {
		return nil, err
	}
	nirOpts, err := nirOptions(cmd, path, c.nirDynamics, c.dt)
	if err != nil {
		return nil, err
	}
	if nir.IsNIR(path) {
		if name := c.anySet(cmd); name != "" {
			return nil, fmt.Errorf("--%s: %s is a NIR spiking network; conversion flags apply to ANN files", name, path)
		}
		if archName != "" {
			return nil, fmt.Errorf("--arch: %s is a NIR graph, which carries its own structure", path)
		}
		g, err := nir.Read(path)
		if err != nil {
			return nil, err
		}
		net, err := g.NetworkWith(nirOpts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		// Its analog twin (populations as ReLUs), for the ANN accuracy;
		// a network without one (LIF, ExpLeak) simulates all the same.
		var ann nn.Model
		if a, err := net.ANNGraph(); err == nil {
			ann = a
		}
		return &loaded{net: net, ann: ann, isSNN: true, nir: true}, nil
	}
	if onnx.IsONNX(path) {
		if archName != "" {
			return nil, fmt.Errorf("--arch: %s is an ONNX model, which carries its graph", path)
		}
		model, _, err := loadEvalModel(path, "", c.inputNorm, cmd.Name())
		if err != nil {
			return nil, err
		}
		return e.convertGraph(cmd, path, model.(*graph.Graph), opts, c)
	}
	if c.inputNorm != "" {
		return nil, fmt.Errorf("--input-norm: applies to ONNX models (snnkit models store their normalisation)")
	}
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if modelio.IsSNN(f) {
		if name := c.anySet(cmd); name != "" {
			return nil, fmt.Errorf("--%s: %s is already a spiking network; conversion flags apply to ANN files", name, path)
		}
		if archName != "" {
			return nil, fmt.Errorf("--arch: %s is a spiking network that carries its own structure", path)
		}
		net, err := modelio.SNNFromFile(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		var ann nn.Model
		if net.IsChain() {
			ann, err = net.ANN()
		} else {
			ann, err = net.ANNGraph()
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		_, normalized := net.Stages[0].Layer.(*nn.Normalize)
		return &loaded{net: net, ann: ann, isSNN: true, normalized: normalized}, nil
	}
	spec, err := archOverride(archName)
	if err != nil {
		return nil, err
	}
	m, err := modelio.FromFile(f, spec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if m.Graph != nil {
		return e.convertGraph(cmd, path, m.Graph, opts, c)
	}
	return e.convertANN(cmd, path, m.Net, m.Spec.Input, opts, c)
}

// writeReport prints the conversion report of a graph model and the
// percentiles --normalize measured.
func writeReport(w io.Writer, l *loaded) {
	if len(l.report) == 0 {
		return
	}
	fmt.Fprintf(w, "conversion of %d nodes:\n", len(l.report))
	for _, r := range l.report {
		fmt.Fprintf(w, "  %-28s %-10s %s", r.Node, r.Action, r.Op)
		if r.Detail != "" {
			fmt.Fprintf(w, "  (%s)", r.Detail)
		}
		fmt.Fprintln(w)
	}
	for _, n := range l.graphNorms {
		fmt.Fprintf(w, "normalised %s by its percentile %.4g\n", n.ReLU, n.Percentile)
	}
	if c := l.calibration; c != nil {
		for _, p := range c.Populations {
			if len(p.Thresholds) > 0 {
				fmt.Fprintf(w, "calibrated %s: %d channel thresholds in [%.4g, %.4g] (clip-floor error %.3g)", p.ReLU, len(p.Thresholds), slices.Min(p.Thresholds), slices.Max(p.Thresholds), p.MSE)
			} else {
				fmt.Fprintf(w, "calibrated %s: threshold %.4g (clip-floor error %.3g)", p.ReLU, p.Threshold, p.MSE)
			}
			if p.Corrected != "" {
				fmt.Fprintf(w, ", bias of %s corrected by %.3g on average", p.Corrected, p.MeanShift)
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "calibrated initial potential: %g of the threshold\n", c.VInit)
	}
}

// convertGraph normalises (with --normalize, per spiking population) and
// converts an ANN graph.
func (e *env) convertGraph(cmd *cobra.Command, path string, g *graph.Graph, opts snn.ConvertOptions, c *convFlags) (*loaded, error) {
	var layers []nn.Layer
	for _, n := range g.Nodes {
		if n.Layer != nil {
			layers = append(layers, n.Layer)
		}
	}
	if snn.HasQCFS(layers) {
		if c.calibrate > 0 {
			return nil, fmt.Errorf("--calibrate: %s holds QCFS activations, which convert exactly as trained; calibration is for ReLU networks", path)
		}
		if err := c.forQCFS(cmd, &opts); err != nil {
			return nil, err
		}
	}
	if c.calibrate > 0 {
		return e.calibrateGraph(cmd, path, g, opts, c)
	}
	src := g
	l := &loaded{ann: g, normalized: c.inputNorm != ""}
	if p, _ := c.percentile(); p > 0 {
		trainSet, _, err := e.loadData()
		if err != nil {
			return nil, fmt.Errorf("--normalize needs training images: %w", err)
		}
		if src, l.graphNorms, err = snn.NormalizeGraph(cmd.Context(), g, datasetSamples{trainSet.Subset(c.normSamples)}, p); err != nil {
			return nil, fmt.Errorf("--normalize: %w", err)
		}
	}
	var err error
	if l.net, l.report, err = snn.FromGraph(src, opts); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// convertANN normalises (with --normalize) and converts an ANN chain.
func (e *env) convertANN(cmd *cobra.Command, path string, ann *nn.Sequential, input []int, opts snn.ConvertOptions, c *convFlags) (*loaded, error) {
	if snn.HasQCFS(ann.Layers) {
		if c.calibrate > 0 {
			return nil, fmt.Errorf("--calibrate: %s holds QCFS activations, which convert exactly as trained; calibration is for ReLU networks", path)
		}
		if err := c.forQCFS(cmd, &opts); err != nil {
			return nil, err
		}
	}
	if c.calibrate > 0 {
		g, err := graph.FromSequential(ann, input)
		if err != nil {
			return nil, err
		}
		l, err := e.calibrateGraph(cmd, path, g, opts, c)
		if err != nil {
			return nil, err
		}
		l.ann = ann
		return l, nil
	}
	src := ann
	var norms []snn.Normalization
	if p, _ := c.percentile(); p > 0 {
		trainSet, _, err := e.loadData()
		if err != nil {
			return nil, fmt.Errorf("--normalize needs training images: %w", err)
		}
		if src, err = snn.Clone(ann, input); err != nil {
			return nil, err
		}
		if norms, err = snn.NormalizeWeightsFrom(cmd.Context(), src, datasetSamples{trainSet.Subset(c.normSamples)}, p); err != nil {
			return nil, fmt.Errorf("--normalize: %w", err)
		}
	}
	net, err := snn.FromModel(src, input, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &loaded{net: net, ann: ann, norms: norms}, nil
}

type convertOptions struct {
	model, arch, output string
	conv                convFlags
	nirExact            bool
}

func newConvertCmd(e *env) *cobra.Command {
	o := &convertOptions{}
	cmd := &cobra.Command{
		Use:   "convert",
		Short: "Convert a trained ANN into a spiking network and save it",
		Long: `Replace every ReLU of an ANN by integrate-and-fire neurons (sinabs'
from_model, with its defaults), optionally after weight normalisation, print
the spiking network and write it as a safetensors file that carries its
structure and neuron settings.

An output ending in .nir is written as NIR (the neuromorphic exchange
format), from an ANN (converted first) or a spiking network, a .nir file
included: in the forms sinabs' from_nir reads back to the same spikes (an
average pool as a sum pool with the next weights divided by its window, a
Linear without bias as an Affine with a zero bias), or with --nir-exact in
NIR's own (AvgPool2d, Linear).`,
		Example: `  snnkit convert -m ann.safetensors -o snn.safetensors
  snnkit convert -m ann.safetensors -o snn_norm.safetensors --normalize percentile:99
  snnkit convert -m ann.safetensors -o snn.nir
  snnkit convert -m model.nir -o model.safetensors`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := e.loadForSimulation(cmd, o.model, o.arch, &o.conv)
			if err != nil {
				return err
			}
			toNIR := nir.IsNIR(o.output)
			if o.nirExact && !toNIR {
				return fmt.Errorf("--nir-exact: applies to a NIR output (-o FILE.nir)")
			}
			if l.isSNN && !toNIR && !l.nir {
				return fmt.Errorf("%s is already a spiking network", o.model)
			}
			for _, n := range l.norms {
				fmt.Fprintf(e.stdout, "normalised layer %d by the %s of ReLU %d's output: %.4g\n", n.Layer, o.conv.normalize, n.ReLU, n.Percentile)
			}
			writeReport(e.stdout, l)
			fmt.Fprintln(e.stdout, l.net)
			if toNIR {
				g, err := nir.FromNetwork(l.net, nir.WriteOptions{Exact: o.nirExact})
				if err != nil {
					return fmt.Errorf("-o %s: %w", o.output, err)
				}
				if err := g.Write(o.output); err != nil {
					return fmt.Errorf("-o/--output: %w", err)
				}
				fmt.Fprintf(e.stdout, "saved %s (NIR, %d nodes, %d edges)\n", o.output, len(g.Nodes), len(g.Edges))
				return nil
			}
			if err := modelio.SaveSNN(o.output, l.net, map[string]string{"snnkit.converted_from": o.model}); err != nil {
				return fmt.Errorf("-o/--output: %w", err)
			}
			fmt.Fprintf(e.stdout, "saved %s\n", o.output)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.model, "model", "m", "", "ANN model file (.safetensors)")
	f.StringVar(&o.arch, "arch", "", "architecture for a plain state_dict: a preset or a JSON file")
	f.StringVarP(&o.output, "output", "o", "", "where to write the spiking network (.safetensors, or .nir for NIR)")
	f.BoolVar(&o.nirExact, "nir-exact", false, "with -o FILE.nir: write AvgPool2d and Linear as NIR has them, not in the forms sinabs reads")
	f.IntVar(&o.conv.steps, "timesteps", 0, "with --calibrate: the time steps T the network will run")
	markInput(f, "model", "arch")
	markOutput(f, "output")
	o.conv.register(f)
	_ = cmd.MarkFlagRequired("model")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}
