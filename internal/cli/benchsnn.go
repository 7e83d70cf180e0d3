package cli

import (
	"cmp"
	"context"
	"fmt"
	"github.com/snnkit/snnkit/nir"
	"github.com/snnkit/snnkit/sim"
	"math/rand/v2"
	"time"

	"github.com/spf13/cobra"

	"github.com/snnkit/snnkit/arch"
	"github.com/snnkit/snnkit/data/mnist"
	"github.com/snnkit/snnkit/encode"
	"github.com/snnkit/snnkit/graph"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/optim"
	"github.com/snnkit/snnkit/perf"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/snneval"
	"github.com/snnkit/snnkit/train"
)

type benchSNNOptions struct {
	model     string
	samples   int
	timesteps int
	engines   string
	repeat    int
	json      bool
	encoding  string
	conv      convFlags
}

// BenchSNNReport is what `snnkit bench snn --json` prints.
type BenchSNNReport struct {
	Model      string           `json:"model"`
	PeakGFLOPS float64          `json:"machine_gemm_gflops"`
	Results    []perf.SNNResult `json:"results"`
	// EventVsDense is, per network, the event engine's images/s over the
	// dense engine's (when both were measured).
	EventVsDense map[string]float64 `json:"event_vs_dense,omitempty"`
	PeakRSSBytes int64              `json:"peak_rss_bytes"`
}

func newBenchSNNCmd(e *env) *cobra.Command {
	o := &benchSNNOptions{}
	cmd := &cobra.Command{
		Use:   "snn",
		Short: "Measure spiking-simulation speed per engine, with default and normalised weights",
		Long: `Simulate test images at T time steps with Bernoulli input through the
tutorial network (or the -m model) as converted by default (high firing
rates) and after NormalizeWeights at the 99th percentile (low rates), with
every engine, and report images/s, synaptic operations per second, the dense-equivalent
GFLOPS, and the process's peak memory. The engines are measured in turn,
--repeat rounds, and each engine's best round is reported. Two shares of the machine's limit
(its 512³ matrix product on all cores) are given: "dense" is the
dense-equivalent GFLOPS over the limit GFLOPS, "synops" the synaptic
operations per second over the limit's multiply-adds per second (GFLOPS/2).
Without -m, the tutorial network is first trained for one epoch.

With a conversion flag (those of run: --normalize, --v-init, --input-norm,
...) or --encoding, one network is measured instead: the model converted as
run converts it, simulated with that encoding.`,
		Example: `  snnkit bench snn -m ann.safetensors --samples 2000
  snnkit bench snn -m resnet_fmnist.onnx --dataset fashion-mnist --input-norm 0.2860,0.3530 \
    --encoding current --timesteps 64 --normalize percentile:99.9 --v-init 0.5 --samples 200`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := runBenchSNN(cmd, e, o)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.model, "model", "m", "", "trained tutorial ANN (default: train one epoch first)")
	markInput(f, "model")
	f.IntVar(&o.samples, "samples", 1000, "test images per measurement")
	f.IntVar(&o.timesteps, "timesteps", 100, "time steps per image")
	f.StringVar(&o.engines, "engines", "reference,dense,event,auto", "engines to measure")
	f.IntVar(&o.repeat, "repeat", 3, "rounds over the engines; each engine's best round is reported")
	f.BoolVar(&o.json, "json", false, "print one JSON object on stdout")
	f.StringVar(&o.encoding, "encoding", "bernoulli", "input encoding: bernoulli, poisson[:RATE] or current (seed 1)")
	o.conv.register(f)
	return cmd
}

// benchNetworks returns the two networks bench snn measures: the model (the
// tutorial network trained for one epoch when none is given) converted with
// the defaults, and the same after normalisation at the 99th percentile of
// 500 training images.
func (e *env) benchNetworks(ctx context.Context, path string, trainSet *mnist.Dataset) (def, norm *snn.Network, err error) {
	sub := trainSet.Subset(500)
	if path != "" {
		model, _, err := loadEvalModel(path, "", "", "bench snn")
		if err != nil {
			return nil, nil, err
		}
		if g, ok := model.(*graph.Graph); ok {
			if def, _, err = snn.FromGraph(g, snn.DefaultConvertOptions()); err != nil {
				return nil, nil, err
			}
			ng, _, err := snn.NormalizeGraph(ctx, g, datasetSamples{sub}, 99)
			if err != nil {
				return nil, nil, err
			}
			norm, _, err = snn.FromGraph(ng, snn.DefaultConvertOptions())
			return def, norm, err
		}
	}
	spec, _ := arch.Lookup("tutorial")
	var ann *nn.Sequential
	if path != "" {
		m, err := loadANN(path, "", "bench snn")
		if err != nil {
			return nil, nil, err
		}
		ann, spec = m.Net, m.Spec
	} else {
		fmt.Fprintln(e.stderr, "training the tutorial network for one epoch (give -m to skip)")
		if ann, err = spec.Build(rand.New(rand.NewPCG(0, 1))); err != nil {
			return nil, nil, err
		}
		opt, _ := optim.NewAdam(ann.Params(), optim.AdamConfig{})
		if _, err := train.Fit(ctx, ann, opt, trainSet, train.Config{Epochs: 1, BatchSize: 128}); err != nil {
			return nil, nil, err
		}
	}
	if def, err = snn.FromModel(ann, spec.Input, snn.DefaultConvertOptions()); err != nil {
		return nil, nil, err
	}
	normANN, err := snn.Clone(ann, spec.Input)
	if err != nil {
		return nil, nil, err
	}
	if _, err := snn.NormalizeWeightsFrom(ctx, normANN, datasetSamples{sub}, 99); err != nil {
		return nil, nil, err
	}
	norm, err = snn.FromModel(normANN, spec.Input, snn.DefaultConvertOptions())
	return def, norm, err
}

func runBenchSNN(cmd *cobra.Command, e *env, o *benchSNNOptions) (*BenchSNNReport, error) {
	ctx := cmd.Context()
	for _, f := range []struct {
		name string
		v    int
	}{{"samples", o.samples}, {"timesteps", o.timesteps}, {"repeat", o.repeat}} {
		if f.v < 1 {
			return nil, fmt.Errorf("--%s %d: must be at least 1", f.name, f.v)
		}
	}
	if o.timesteps > snneval.MaxSteps {
		return nil, fmt.Errorf("--timesteps %d: at most %d", o.timesteps, snneval.MaxSteps)
	}
	var engines []sim.Engine
	for _, name := range splitList(o.engines) {
		en, err := sim.ParseEngine(name)
		if err != nil {
			return nil, fmt.Errorf("--engines: %w", err)
		}
		engines = append(engines, en)
	}
	if len(engines) == 0 {
		return nil, fmt.Errorf("--engines %q: name at least one of reference, dense, event, auto", o.engines)
	}
	enc, err := encode.Parse(o.encoding, 1)
	if err != nil {
		return nil, fmt.Errorf("--encoding: %w", err)
	}
	out := e.info(o.json)
	type measured struct {
		name string
		net  *snn.Network
	}
	var nets []measured
	var testSet *mnist.Dataset
	if name := o.conv.anySet(cmd); name != "" || cmd.Flags().Changed("encoding") || nir.IsNIR(o.model) {
		// One network, converted and fed as run does it.
		if o.model == "" {
			return nil, fmt.Errorf("--%s: give the model to convert with -m", cmp.Or(name, "encoding"))
		}
		l, err := e.loadForSimulation(cmd, o.model, "", &o.conv)
		if err != nil {
			return nil, err
		}
		if _, isCurrent := enc.(encode.Current); l.normalized && !isCurrent {
			return nil, fmt.Errorf("--encoding %s: a model with --input-norm takes the image as a current (--encoding current)", enc)
		}
		if testSet, err = e.loadTestData(); err != nil {
			return nil, err
		}
		if err := checkInput(o.model, l.net.Input, e.dataset, testSet); err != nil {
			return nil, err
		}
		nets = []measured{{"converted", l.net}}
		if l.nir {
			nets[0].name = "nir"
		}
	} else {
		trainSet, test, err := e.loadData()
		if err != nil {
			return nil, err
		}
		testSet = test
		def, norm, err := e.benchNetworks(ctx, o.model, trainSet)
		if err != nil {
			return nil, err
		}
		if err := checkInput(cmp.Or(o.model, "the tutorial network"), def.Input, e.dataset, testSet); err != nil {
			return nil, err
		}
		nets = []measured{{"default", def}, {"normalized", norm}}
		enc = nil
	}
	testSet = testSet.Subset(o.samples)
	rep := &BenchSNNReport{Model: o.model}
	// The machine's limit, as the best this machine multiplies matrices on
	// all cores: the share of it the dense-equivalent work reaches.
	g, err := perf.GEMM(ctx, perf.Shape{M: 512, N: 512, K: 512}, 300*time.Millisecond)
	if err != nil {
		return nil, err
	}
	rep.PeakGFLOPS = g.GFLOPSAll
	encName := "Bernoulli"
	if enc != nil {
		encName = enc.String()
	}
	fmt.Fprintf(out, "%d test images, T=%d, %s input; machine limit %.0f GFLOPS (512³ GEMM, all cores)\n", testSet.N, o.timesteps, encName, rep.PeakGFLOPS)
	fmt.Fprintf(out, "%-11s %-10s %10s %14s %12s %10s %6s %7s %9s %9s\n", "weights", "engine", "images/s", "synops/s", "synops/img", "dense GF/s", "dense", "synops", "rate", "accuracy")
	for _, nn := range nets {
		// Rounds over the engines, each engine's best round kept: a
		// disturbance of this shared machine then rarely decides a ratio.
		best := make([]perf.SNNResult, len(engines))
		for round := 0; round < o.repeat; round++ {
			for i, en := range engines {
				r, err := perf.SNN(ctx, nn.name, nn.net, testSet, o.timesteps, en, enc)
				if err != nil {
					return nil, err
				}
				if r.ImagesPerSecond > best[i].ImagesPerSecond {
					best[i] = r
				}
			}
		}
		speed := map[sim.Engine]float64{}
		for i, en := range engines {
			r := best[i]
			rep.Results = append(rep.Results, r)
			speed[en] = r.ImagesPerSecond
			fmt.Fprintf(out, "%-11s %-10s %10.1f %14.4g %12.4g %10.1f %5.0f%% %6.0f%% %9.4f %8.2f%%\n", r.Network, r.Engine, r.ImagesPerSecond, r.SynOpsPerSecond, r.SynOpsPerImage, r.DenseGFLOPS, 100*r.DenseGFLOPS/rep.PeakGFLOPS, 100*r.SynOpsPerSecond/(rep.PeakGFLOPS/2*1e9), r.MeanFiringRate, 100*r.Accuracy)
		}
		if ev, de := speed[sim.EngineEvent], speed[sim.EngineDense]; ev > 0 && de > 0 {
			if rep.EventVsDense == nil {
				rep.EventVsDense = map[string]float64{}
			}
			rep.EventVsDense[nn.name] = ev / de
			fmt.Fprintf(out, "%-11s event engine / dense engine: %.2f×\n", nn.name, ev/de)
		}
	}
	rep.PeakRSSBytes = perf.PeakRSS()
	fmt.Fprintf(out, "peak memory of this process: %.0f MiB\n", float64(rep.PeakRSSBytes)/(1<<20))
	if o.json {
		return rep, e.writeJSON(rep)
	}
	return rep, nil
}

func splitList(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}
