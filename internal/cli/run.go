package cli

import (
	"context"
	"fmt"
	"github.com/snnkit/snnkit/sim"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/snnkit/snnkit/calibrate"
	"github.com/snnkit/snnkit/encode"
	"github.com/snnkit/snnkit/internal/atomicfile"
	"github.com/snnkit/snnkit/internal/progress"
	"github.com/snnkit/snnkit/monitor"
	"github.com/snnkit/snnkit/perf"
	"github.com/snnkit/snnkit/safetensors"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/snneval"
	"github.com/snnkit/snnkit/tensor"
	"github.com/snnkit/snnkit/train"
)

type runOptions struct {
	model, arch string
	timesteps   int
	samples     int
	encoding    string
	seed        uint64
	batch       int
	at          string
	engine      string
	earlyExit   string
	energyAC    float64
	energyMAC   float64
	json        bool
	conv        convFlags
}

// RunReport is what `snnkit run --json` prints.
type RunReport struct {
	Model            string             `json:"model"`
	Network          string             `json:"network"`
	Encoding         string             `json:"encoding"`
	Engine           string             `json:"engine"`
	Seed             uint64             `json:"seed"`
	Samples          int                `json:"samples"`
	Timesteps        int                `json:"timesteps"`
	ANNAccuracy      float64            `json:"ann_accuracy"`
	Accuracy         float64            `json:"accuracy"`
	AccuracyByT      []float64          `json:"accuracy_by_t"`
	Seconds          float64            `json:"seconds"`
	SamplesPerSecond float64            `json:"samples_per_second"`
	SynOpsPerSample  map[string]float64 `json:"synops_per_sample"`
	ANNMACsPerSample map[string]int64   `json:"ann_macs_per_sample"`
	FiringRates      map[string]float64 `json:"firing_rates"`
	PeakRSSBytes     int64              `json:"peak_rss_bytes"`
	// Conversion lists what became of every node of a graph model
	// (converted, kept, folded, dropped, added); Normalization the
	// percentile measured at each spiking population with --normalize.
	Conversion    []snn.NodeReport         `json:"conversion,omitempty"`
	Normalization []snn.GraphNormalization `json:"normalization,omitempty"`
	// With --early-exit: the setting, and the steps the images ran (mean,
	// median, maximum); accuracy and synops_per_sample are then at exit.
	EarlyExit       string  `json:"early_exit,omitempty"`
	MeanTimesteps   float64 `json:"mean_timesteps,omitempty"`
	MedianTimesteps float64 `json:"median_timesteps,omitempty"`
	MaxTimesteps    int     `json:"max_timesteps,omitempty"`
	// EnergyPerSample estimates joules per image (--energy-ac,
	// --energy-mac): the SNN's accumulates of spikes plus the
	// multiply-accumulates of layers on the analog input, against the
	// ANN's multiply-accumulates.
	EnergyPerSample snneval.Energy `json:"energy_per_sample"`
	// Calibration: with --calibrate, the threshold and bias correction of
	// every population.
	Calibration *calibrate.Result `json:"calibration,omitempty"`
}

func newRunCmd(e *env) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Simulate a spiking network on the MNIST test set",
		Long: `Encode MNIST test images as spike trains, simulate the spiking network and
report its accuracy at every time step next to the ANN's accuracy on the same
images, synaptic operations and firing rates per layer, and the speed.
MODEL is an ANN (converted on the fly with the conversion flags) or a
spiking network written by snnkit convert.`,
		Example: `  snnkit run -m ann.safetensors --timesteps 100
  snnkit run -m snn.safetensors --samples 1000 --encoding poisson:0.5 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := runRun(cmd, e, o)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.model, "model", "m", "", "ANN or SNN model file (.safetensors)")
	f.StringVar(&o.arch, "arch", "", "architecture for a plain ANN state_dict")
	markInput(f, "model", "arch")
	f.IntVar(&o.timesteps, "timesteps", 100, "time steps per image (T)")
	f.IntVar(&o.samples, "samples", 0, "simulate the first N test images (0: all 10000)")
	f.StringVar(&o.encoding, "encoding", "bernoulli", "input encoding: bernoulli, poisson[:RATE] or current")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the input encoding")
	f.IntVar(&o.batch, "batch", 64, "images simulated together")
	f.StringVar(&o.at, "at", "5,10,20,50,100", "time steps at which to print the accuracy")
	f.StringVar(&o.engine, "engine", "auto", "simulation engine: auto, dense, event or reference")
	f.Float64Var(&o.energyAC, "energy-ac", snneval.DefaultEnergyAC*1e12, "energy of an accumulate (a spike's synaptic operation), pJ")
	f.Float64Var(&o.energyMAC, "energy-mac", snneval.DefaultEnergyMAC*1e12, "energy of a multiply-accumulate (the ANN's, and an SNN layer's on analog input), pJ")
	f.StringVar(&o.earlyExit, "early-exit", "", "stop each image once the softmax of its mean readout per step gives the top class at least CONF for PATIENCE steps in a row (1 by default): CONF[:PATIENCE]; --timesteps is then the upper bound")
	f.BoolVar(&o.json, "json", false, "print one JSON object on stdout")
	o.conv.register(f)
	_ = cmd.MarkFlagRequired("model")
	return cmd
}

// parseEarlyExit reads --early-exit CONF[:PATIENCE] (nil for "").
func parseEarlyExit(s string) (*snneval.EarlyExit, error) {
	if s == "" {
		return nil, nil
	}
	conf, pat, hasPat := strings.Cut(s, ":")
	ee := &snneval.EarlyExit{Patience: 1}
	var err error
	if ee.Confidence, err = strconv.ParseFloat(conf, 64); err != nil {
		return nil, fmt.Errorf("--early-exit %q: want CONF[:PATIENCE], CONF in (0, 1]", s)
	}
	if hasPat {
		if ee.Patience, err = strconv.Atoi(pat); err != nil {
			return nil, fmt.Errorf("--early-exit %q: want CONF[:PATIENCE], PATIENCE a whole number of steps", s)
		}
	}
	if err := ee.Validate(); err != nil {
		return nil, fmt.Errorf("--early-exit %q: %w", s, err)
	}
	return ee, nil
}

func parseSteps(s string, max int) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		v, err := strconv.Atoi(p)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("--at %q: want time steps >= 1 separated by commas", s)
		}
		if v <= max {
			out = append(out, v)
		}
	}
	if len(out) == 0 || out[len(out)-1] != max {
		out = append(out, max)
	}
	sort.Ints(out)
	return out, nil
}

func runRun(cmd *cobra.Command, e *env, o *runOptions) (*RunReport, error) {
	ctx := cmd.Context()
	if o.timesteps < 1 || o.timesteps > 1_000_000 {
		return nil, fmt.Errorf("--timesteps %d: must be in [1, 1000000]", o.timesteps)
	}
	if o.samples < 0 || o.batch < 1 {
		return nil, fmt.Errorf("--samples must be >= 0 and --batch >= 1 (have %d, %d)", o.samples, o.batch)
	}
	at, err := parseSteps(o.at, o.timesteps)
	if err != nil {
		return nil, err
	}
	enc, err := encode.Parse(o.encoding, o.seed)
	if err != nil {
		return nil, fmt.Errorf("--encoding: %w", err)
	}
	engine, err := sim.ParseEngine(o.engine)
	if err != nil {
		return nil, fmt.Errorf("--engine: %w", err)
	}
	ee, err := parseEarlyExit(o.earlyExit)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"--energy-ac", o.energyAC}, {"--energy-mac", o.energyMAC}} {
		if !(f.v >= 0 && f.v < 1e12) {
			return nil, fmt.Errorf("%s %v: want an energy in pJ, 0 or more", f.name, f.v)
		}
	}
	if _, isCurrent := enc.(encode.Current); o.conv.calibrate > 0 && !isCurrent {
		return nil, fmt.Errorf("--calibrate: calibrates for the image as a current; add --encoding current")
	}
	o.conv.steps = o.timesteps
	l, err := e.loadForSimulation(cmd, o.model, o.arch, &o.conv)
	if err != nil {
		return nil, err
	}
	if _, isCurrent := enc.(encode.Current); l.normalized && !isCurrent {
		return nil, fmt.Errorf("--encoding %s: a model with --input-norm takes the image as a current (--encoding current), which it normalises; spike trains of raw intensities would be normalised as if they were images", enc)
	}
	test, err := e.loadTestData()
	if err != nil {
		return nil, err
	}
	test = test.Subset(o.samples)
	if err := checkInput(o.model, l.net.Input, e.dataset, test); err != nil {
		return nil, err
	}
	out := e.info(o.json)
	ev := &train.Evaluation{}
	if l.ann != nil {
		if ev, err = train.Evaluate(ctx, l.ann, test, 1000); err != nil {
			return nil, err
		}
	}
	writeReport(out, l)
	if l.ann != nil {
		fmt.Fprintf(out, "ANN accuracy: %.2f%% (%d/%d)\n", 100*ev.Accuracy, ev.Correct, ev.Samples)
	} else {
		fmt.Fprintf(out, "ANN accuracy: none (%s has populations without an analog twin)\n", o.model)
	}
	fmt.Fprintf(out, "simulating %d images for %d steps, %s input, %s engine\n", test.N, o.timesteps, enc, engine)
	bar := progress.New(e.stderr, int64(test.N), "simulate", "img", e.quiet)
	res, err := snneval.Run(ctx, l.net, test, snneval.Config{Steps: o.timesteps, Batch: o.batch, Encoder: enc, Engine: engine, EarlyExit: ee,
		Progress: func(done, total int) { bar.Update(int64(done), "") }})
	bar.Finish()
	if err != nil {
		return nil, err
	}
	rep := &RunReport{Model: o.model, Network: l.net.String(), Encoding: enc.String(), Engine: engine.String(), Seed: o.seed, Samples: res.Samples, Timesteps: o.timesteps,
		ANNAccuracy: ev.Accuracy, Accuracy: res.Accuracy, AccuracyByT: res.AccuracyByT, Seconds: res.Seconds, SamplesPerSecond: res.SamplesPerSecond,
		SynOpsPerSample: map[string]float64{"total": res.SynOpsTotal}, ANNMACsPerSample: map[string]int64{}, FiringRates: map[string]float64{},
		Conversion: l.report, Normalization: l.graphNorms, Calibration: l.calibration}
	for _, s := range res.SynOps {
		rep.SynOpsPerSample[s.Name] = s.PerSample
		rep.ANNMACsPerSample[s.Name] = s.ANNMACs
		rep.ANNMACsPerSample["total"] += s.ANNMACs
	}
	for _, r := range res.FiringRates {
		rep.FiringRates[r.Name] = r.Rate
	}
	if ee != nil {
		rep.EarlyExit, rep.MeanTimesteps, rep.MedianTimesteps, rep.MaxTimesteps = o.earlyExit, res.MeanSteps, res.MedianSteps, res.MaxSteps
	}
	_, analog := enc.(encode.Current)
	rep.EnergyPerSample = snneval.EstimateEnergy(l.net, res, analog, o.energyAC*1e-12, o.energyMAC*1e-12)
	res.WriteTables(out, at, ev.Accuracy)
	en := rep.EnergyPerSample
	fmt.Fprintf(out, "energy per image: SNN %.3g J (%.4g M spike synops × %g pJ + %.4g M analog MACs × %g pJ), ANN %.3g J: %.2f× the ANN's\n",
		en.SNN, en.SpikeSynOps/1e6, o.energyAC, float64(en.AnalogMACs)/1e6, o.energyMAC, en.ANN, en.SNN/max(en.ANN, 1e-300))
	rep.PeakRSSBytes = perf.PeakRSS()
	fmt.Fprintf(out, "peak memory: %.0f MiB\n", float64(rep.PeakRSSBytes)/(1<<20))
	if o.json {
		return rep, e.writeJSON(rep)
	}
	return rep, nil
}

type simulateOptions struct {
	model, arch, input, output, dtype string
	engine                            string
	recordV                           bool
	conv                              convFlags
}

func newSimulateCmd(e *env) *cobra.Command {
	o := &simulateOptions{}
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Run given input spike trains and write every spiking layer's output",
		Long: `Feed input spike trains shaped [batch, T, C, H, W] (F32 or U8) from a
safetensors file through the spiking network, starting from zero state, and
write the output of every spiking layer as a [batch, T, ...] tensor named like
sinabs' layers (the index of the replaced ReLU, and spike_output).`,
		Example: `  snnkit simulate -m ann.safetensors --input spikes.safetensors:input -o out.safetensors`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSimulate(cmd.Context(), cmd, e, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.model, "model", "m", "", "ANN or SNN model file (.safetensors)")
	f.StringVar(&o.arch, "arch", "", "architecture for a plain ANN state_dict")
	markInput(f, "model", "arch")
	f.StringVar(&o.input, "input", "", "FILE.safetensors[:TENSOR] holding the input (default tensor: \"input\", or the only one)")
	f.StringVarP(&o.output, "output", "o", "", "where to write the outputs")
	_ = f.SetAnnotation("input", annInputSpec, []string{"true"})
	markOutput(f, "output")
	f.StringVar(&o.dtype, "dtype", "f32", "output dtype: f32, or u8 for spike counts 0-255")
	f.StringVar(&o.engine, "engine", "auto", "simulation engine: auto, dense, event or reference")
	f.BoolVar(&o.recordV, "record-v", false, "also write each spiking layer's membrane potential as LAYER.v_mem (F32)")
	o.conv.register(f)
	for _, n := range []string{"model", "input", "output"} {
		_ = cmd.MarkFlagRequired(n)
	}
	return cmd
}

// splitInputSpec splits FILE[:TENSOR]. An existing file wins over the
// split, so a file named co:lon.st reads as a whole; otherwise the split is
// at the last colon.
func splitInputSpec(spec string) (path, tensor string) {
	if _, err := os.Stat(spec); err == nil {
		return spec, ""
	}
	if i := strings.LastIndex(spec, ":"); i >= 0 {
		return spec[:i], spec[i+1:]
	}
	return spec, ""
}

// readInput opens the --input tensor, F32 or U8, left in its file bytes:
// simulate converts it a chunk at a time.
func readInput(spec string) (*safetensors.Tensor, error) {
	path, name := splitInputSpec(spec)
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--input: %w", err)
	}
	if name == "" {
		if _, ok := f.Get("input"); ok {
			name = "input"
		} else if len(f.Tensors) == 1 {
			name = f.Tensors[0].Name
		} else {
			return nil, fmt.Errorf("--input %s: holds %d tensors and none is named \"input\"; name one as FILE:TENSOR", path, len(f.Tensors))
		}
	}
	t, ok := f.Get(name)
	if !ok {
		return nil, fmt.Errorf("--input %s: no tensor %q (have %s)", path, name, capList(f.Names(), 10))
	}
	if t.DType != safetensors.F32 && t.DType != safetensors.U8 {
		return nil, fmt.Errorf("--input %s:%s: dtype %s not supported, want F32 or U8", path, name, t.DType)
	}
	return t, nil
}

// capList joins at most n names, saying how many more there are.
func capList(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s … and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

// simulateBudget bounds the values (input, outputs and membrane potentials)
// simulate holds at once: 2^24 float32, 64 MiB. Longer inputs are simulated
// a window of time steps (and a group of samples) at a time and written to
// the output file window by window.
const simulateBudget = 1 << 24

func runSimulate(ctx context.Context, cmd *cobra.Command, e *env, o *simulateOptions) error {
	if o.dtype != "f32" && o.dtype != "u8" {
		return fmt.Errorf("--dtype %q: want f32 or u8", o.dtype)
	}
	engine, err := sim.ParseEngine(o.engine)
	if err != nil {
		return fmt.Errorf("--engine: %w", err)
	}
	in, err := readInput(o.input)
	if err != nil {
		return err
	}
	l, err := e.loadForSimulation(cmd, o.model, o.arch, &o.conv)
	if err != nil {
		return err
	}
	net := l.net
	want := append([]int{-1, -1}, net.Input...)
	if len(in.Shape) != len(want) || !tensor.SameShape(in.Shape[2:], net.Input) {
		return fmt.Errorf("--input %s: shape %s, the network needs [batch, T, %s]", o.input, tensor.ShapeString(in.Shape), strings.Trim(tensor.ShapeString(net.Input), "[]"))
	}
	batch, steps := in.Shape[0], in.Shape[1]
	if batch < 1 || steps < 1 {
		return fmt.Errorf("--input %s: shape %s: batch and T must be at least 1", o.input, tensor.ShapeString(in.Shape))
	}
	sm, err := sim.New(net)
	if err != nil {
		return err
	}
	sm.SetEngine(engine)

	// The output file: one [batch, T, ...] tensor per spiking stage (and its
	// v_mem), written window by window at its offsets.
	stages := net.SpikingStages()
	dt, es := safetensors.F32, 4
	if o.dtype == "u8" {
		dt, es = safetensors.U8, 1
	}
	frame := tensor.Numel(net.Input)
	perStep := frame
	var heads []safetensors.Tensor
	for _, i := range stages {
		st := net.Stages[i]
		shape := append([]int{batch, steps}, st.Out...)
		heads = append(heads, safetensors.Tensor{Name: st.Name, DType: dt, Shape: shape})
		perStep += tensor.Numel(st.Out)
		if o.recordV {
			heads = append(heads, safetensors.Tensor{Name: st.Name + ".v_mem", DType: safetensors.F32, Shape: shape})
			perStep += tensor.Numel(st.Out)
		}
	}
	budget := simulateBudget
	if e.simBudget > 0 {
		budget = e.simBudget
	}
	group := min(batch, max(1, budget/perStep))
	window := min(steps, max(1, budget/(group*perStep)))
	out, err := atomicfile.Create(o.output)
	if err != nil {
		return fmt.Errorf("-o/--output: %w", err)
	}
	defer out.Abort()
	w, err := safetensors.NewWriter(out, heads, map[string]string{"snnkit.model": o.model, "snnkit.input": o.input})
	if err != nil {
		return fmt.Errorf("-o/--output: %w", err)
	}
	// One recorder holds a window of a group of samples; the last group may
	// be smaller and fills its first rows.
	srec, err := monitor.NewStateRecorder(net, stages, group, window)
	if err != nil {
		return err
	}
	if o.recordV {
		sm.AddMonitor(srec)
	} else {
		sm.AddMonitor(srec.Recorder)
	}
	totals := make([]float64, len(stages))
	var x tensor.Tensor
	for b0 := 0; b0 < batch; b0 += group {
		nb := min(group, batch-b0)
		sm.Reset()
		for t0 := 0; t0 < steps; t0 += window {
			n := min(window, steps-t0)
			if err := inputWindow(in, &x, b0, nb, t0, n, frame); err != nil {
				return fmt.Errorf("--input %s: %w", o.input, err)
			}
			srec.Offset = t0
			if _, err := sm.Run(ctx, &x); err != nil {
				return err
			}
			if err := sm.CheckState(); err != nil {
				return fmt.Errorf("--input %s: samples %d-%d: %w", o.input, b0, b0+nb-1, err)
			}
			for k, i := range stages {
				name := net.Stages[i].Name
				size := tensor.Numel(net.Stages[i].Out)
				rec := srec.Outputs[k]
				for j := 0; j < nb; j++ {
					vals := rec.Data[j*window*size : (j*window+n)*size]
					totals[k] += float64(tensor.Sum(vals))
					b, err := encodeValues(vals, o.dtype)
					if err != nil {
						return fmt.Errorf("--dtype u8: layer %s: %w", name, err)
					}
					off := int64(((b0+j)*steps + t0) * size)
					if err := w.WriteAt(name, off*int64(es), b); err != nil {
						return fmt.Errorf("-o/--output: %w", err)
					}
					if o.recordV {
						v := srec.VMem[k].Data[j*window*size : (j*window+n)*size]
						vb, _ := encodeValues(v, "f32")
						if err := w.WriteAt(name+".v_mem", off*4, vb); err != nil {
							return fmt.Errorf("-o/--output: %w", err)
						}
					}
				}
			}
		}
	}
	if err := out.Commit(); err != nil {
		return fmt.Errorf("-o/--output: %w", err)
	}
	for k, i := range stages {
		st := net.Stages[i]
		fmt.Fprintf(e.stdout, "%-14s %s  %.0f spikes\n", st.Name, tensor.ShapeString(append([]int{batch, steps}, st.Out...)), totals[k])
	}
	fmt.Fprintf(e.stdout, "saved %s\n", o.output)
	return nil
}

// inputWindow converts samples [b0, b0+nb) and steps [t0, t0+n) of the input
// tensor into x [nb, n, ...frame], refusing NaN and infinite values.
func inputWindow(in *safetensors.Tensor, x *tensor.Tensor, b0, nb, t0, n, frame int) error {
	steps := in.Shape[1]
	x.Resize(append([]int{nb, n}, in.Shape[2:]...)...)
	es := in.DType.Size()
	for j := 0; j < nb; j++ {
		lo := ((b0+j)*steps + t0) * frame
		part := safetensors.Tensor{Name: in.Name, DType: in.DType, Shape: []int{n * frame}, Data: in.Data[lo*es : (lo+n*frame)*es]}
		v, err := part.Float32(false)
		if err != nil {
			return fmt.Errorf("sample %d, steps %d-%d: %w", b0+j, t0, t0+n-1, err)
		}
		copy(x.Data[j*n*frame:(j+1)*n*frame], v)
	}
	return nil
}

// encodeValues turns recorded values into the output dtype's bytes: f32 as
// little-endian floats, u8 as spike counts, which must be integers 0-255.
func encodeValues(v []float32, dtype string) ([]byte, error) {
	if dtype == "u8" {
		b := make([]byte, len(v))
		for j, x := range v {
			if x < 0 || x > 255 || x != float32(int(x)) {
				return nil, fmt.Errorf("value %v is not a spike count in 0-255", x)
			}
			b[j] = byte(x)
		}
		return b, nil
	}
	return safetensors.F32Tensor("", []int{len(v)}, v).Data, nil
}
