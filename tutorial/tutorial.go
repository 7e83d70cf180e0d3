// Package tutorial runs sinabs' "Converting an ANN to an SNN" tutorial end
// to end as library code: define the seed CNN, train it on MNIST with Adam,
// convert every ReLU into integrate-and-fire neurons, feed Bernoulli
// rate-coded spike trains, read the class from output spike counts at every
// time step, count synaptic operations, and draw the input raster and the
// output spikes. `snnkit tutorial` is a thin layer over Run.
package tutorial

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/snnkit/snnkit/sim"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/snnkit/snnkit/arch"
	"github.com/snnkit/snnkit/data"
	"github.com/snnkit/snnkit/data/mnist"
	"github.com/snnkit/snnkit/encode"
	"github.com/snnkit/snnkit/figures"
	"github.com/snnkit/snnkit/internal/atomicfile"
	"github.com/snnkit/snnkit/internal/progress"
	"github.com/snnkit/snnkit/modelio"
	"github.com/snnkit/snnkit/monitor"
	"github.com/snnkit/snnkit/optim"
	"github.com/snnkit/snnkit/report"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/snneval"
	"github.com/snnkit/snnkit/tensor"
	"github.com/snnkit/snnkit/train"
)

// Config holds the tutorial's settings; zero fields take the tutorial's
// values (see Defaults).
type Config struct {
	OutDir     string     // where files go (default "snnkit-tutorial")
	Epochs     int        // training epochs (2)
	Batch      int        // training batch size (128)
	LR         float64    // Adam learning rate (1e-3)
	Seed       uint64     // initialisation, shuffling and encoding seed (0)
	TrainLimit int        // train on the first N images only (0: all 60000)
	Timesteps  int        // time steps per image (100)
	Samples    int        // test images simulated (0: all 10000)
	Encoding   string     // input encoding (bernoulli)
	SimBatch   int        // images simulated together (64)
	Engine     sim.Engine // simulation engine (EngineAuto, the fastest)
	Sample     int        // test image drawn in the figures (10)
	DataDir    string     // MNIST folder ("" locates it)
	Dataset    string     // data set: "mnist" (""), "fashion-mnist" or a folder (package data)
	Quiet      bool       // no progress bars
	// Recipe is RecipeClassic ("", the seed's tutorial) or
	// RecipeLowLatency (the classic recipe and a QCFS network side by
	// side).
	Recipe        string
	QCFSEpochs    int     // low-latency recipe: training epochs (15)
	QCFSLevels    int     // low-latency recipe: QCFS levels L (4)
	QCFSTimesteps int     // low-latency recipe: time steps per image (8)
	SynopsPenalty float64 // low-latency recipe: train.SetSynopsPenalty's factor (3e-8; negative: none)
	EnergyAC      float64 // joules per accumulate (snneval.DefaultEnergyAC; negative: 0)
	EnergyMAC     float64 // joules per multiply-accumulate (snneval.DefaultEnergyMAC; negative: 0)
	Stdout        io.Writer
	Stderr        io.Writer
	// Progress, when set, is called after every training and simulation
	// batch with the stage ("train" or "simulate") and the samples done.
	Progress func(stage string, done, total int)
}

// Defaults returns the tutorial's settings, but on the full test set.
func Defaults() Config {
	return Config{OutDir: "snnkit-tutorial", Epochs: 2, Batch: 128, LR: 1e-3, Timesteps: 100, Encoding: "bernoulli", SimBatch: 64, Sample: 10,
		Recipe: RecipeClassic, QCFSEpochs: 15, QCFSLevels: 4, QCFSTimesteps: 8, SynopsPenalty: 3e-8,
		EnergyAC: snneval.DefaultEnergyAC, EnergyMAC: snneval.DefaultEnergyMAC}
}

func (c *Config) fill() {
	d := Defaults()
	if c.OutDir == "" {
		c.OutDir = d.OutDir
	}
	if c.Epochs == 0 {
		c.Epochs = d.Epochs
	}
	if c.Batch == 0 {
		c.Batch = d.Batch
	}
	if c.LR == 0 {
		c.LR = d.LR
	}
	if c.Timesteps == 0 {
		c.Timesteps = d.Timesteps
	}
	if c.Encoding == "" {
		c.Encoding = d.Encoding
	}
	if c.SimBatch == 0 {
		c.SimBatch = d.SimBatch
	}
	if c.Recipe == "" {
		c.Recipe = d.Recipe
	}
	if c.QCFSEpochs == 0 {
		c.QCFSEpochs = d.QCFSEpochs
	}
	if c.QCFSLevels == 0 {
		c.QCFSLevels = d.QCFSLevels
	}
	if c.QCFSTimesteps == 0 {
		c.QCFSTimesteps = d.QCFSTimesteps
	}
	if c.SynopsPenalty == 0 {
		c.SynopsPenalty = d.SynopsPenalty
	}
	if c.EnergyAC == 0 {
		c.EnergyAC = d.EnergyAC
	}
	if c.EnergyMAC == 0 {
		c.EnergyMAC = d.EnergyMAC
	}
	// Zero means the default above; a negative energy is the user's zero.
	c.EnergyAC, c.EnergyMAC = max(c.EnergyAC, 0), max(c.EnergyMAC, 0)
	if c.Stdout == nil {
		c.Stdout = io.Discard
	}
}

// Result is what the tutorial measured.
type Result struct {
	ANNAccuracy float64
	Train       *train.Result
	Network     *snn.Network
	SNN         *snneval.Result
	SampleLabel int
	SamplePred  int
	Files       []string
	Seconds     float64
	// Classic is the classic recipe's result (ANNAccuracy, Train, Network
	// and SNN above), with its points against T and its energy.
	Classic *Recipe
	// LowLatency is the low-latency recipe's, with RecipeLowLatency.
	LowLatency *Recipe
}

// AccuracySteps are the time steps of the printed accuracy table.
var AccuracySteps = []int{5, 10, 20, 50, 100}

// Run performs the whole tutorial. It stops promptly with ctx's error when
// ctx is cancelled; files are written through temporary names, so none is
// left half-written under its final name.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg.fill()
	start := time.Now()
	out := cfg.Stdout
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	enc, err := encode.Parse(cfg.Encoding, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("tutorial: Encoding: %w", err)
	}
	if fi, err := os.Stat(cfg.OutDir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("tutorial: output folder %s is a file", cfg.OutDir)
	}
	trainSet, testSet, err := data.Load(cfg.Dataset, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	spec, err := arch.Lookup("tutorial")
	if err != nil {
		return nil, err
	}
	if !tensor.SameShape(spec.Input, testSet.Shape()) {
		return nil, fmt.Errorf("tutorial: the tutorial network takes images of %s, the data set %s holds %s", tensor.ShapeString(spec.Input), dataName(cfg.Dataset), tensor.ShapeString(testSet.Shape()))
	}
	trainSet, testSet = trainSet.Subset(cfg.TrainLimit), testSet.Subset(cfg.Samples)
	if cfg.Sample >= testSet.N {
		return nil, fmt.Errorf("tutorial: Sample %d outside the %d simulated test images", cfg.Sample, testSet.N)
	}
	notify := func(stage string) func(done, total int) {
		return func(done, total int) {
			if cfg.Progress != nil {
				cfg.Progress(stage, done, total)
			}
		}
	}
	res := &Result{}
	// Files are written only once everything is computed, so a failure or
	// an interruption leaves no partial output folder behind.
	var files []outFile

	// 1. Define the ANN and train it.
	ann, err := spec.Build(rand.New(rand.NewPCG(cfg.Seed, 1)))
	if err != nil {
		return nil, err
	}
	opt, err := optim.NewAdam(ann.Params(), optim.AdamConfig{LR: cfg.LR})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "Training the tutorial CNN on %d %s images: %d epochs, batch %d, %v\n", trainSet.N, dataName(cfg.Dataset), cfg.Epochs, cfg.Batch, opt)
	bar := progress.New(cfg.Stderr, int64(trainSet.N*cfg.Epochs), "train", "img", cfg.Quiet)
	res.Train, err = train.Fit(ctx, ann, opt, trainSet, train.Config{Epochs: cfg.Epochs, BatchSize: cfg.Batch, Seed: cfg.Seed,
		Progress: func(p train.Progress) {
			bar.Update(int64(p.Done), fmt.Sprintf("epoch %d/%d loss %.4f", p.Epoch, p.Epochs, p.Loss))
			notify("train")(p.Done, p.Total)
		}})
	bar.Finish()
	if err != nil {
		return nil, err
	}
	ev, err := train.Evaluate(ctx, ann, testSet, 1000)
	if err != nil {
		return nil, err
	}
	res.ANNAccuracy = ev.Accuracy
	fmt.Fprintf(out, "ANN accuracy: %.2f%% on %d test images (trained in %.1f s, %.0f images/s)\n\n", 100*ev.Accuracy, ev.Samples, res.Train.Seconds, res.Train.SamplesPerSecond)
	files = append(files, outFile{"ann.safetensors", func(p string) error { return modelio.Save(p, spec, ann, nil) }})

	// 2. Convert every ReLU into integrate-and-fire neurons.
	net, err := snn.FromModel(ann, spec.Input, snn.DefaultConvertOptions())
	if err != nil {
		return nil, err
	}
	res.Network = net
	fmt.Fprintf(out, "Spiking network (ReLUs replaced by IAF, spiking output added):\n%v\n\n", net)
	files = append(files, outFile{"snn.safetensors", func(p string) error { return modelio.SaveSNN(p, net, nil) }})

	// 3. Simulate the test set with rate-coded input.
	fmt.Fprintf(out, "Simulating %d test images for %d time steps with %s input\n", testSet.N, cfg.Timesteps, enc)
	bar = progress.New(cfg.Stderr, int64(testSet.N), "simulate", "img", cfg.Quiet)
	res.SNN, err = snneval.Run(ctx, net, testSet, snneval.Config{Steps: cfg.Timesteps, Batch: cfg.SimBatch, Encoder: enc, Engine: cfg.Engine,
		Checkpoints: checkpoints(AccuracySteps, cfg.Timesteps),
		Progress:    func(done, total int) { bar.Update(int64(done), ""); notify("simulate")(done, total) }})
	bar.Finish()
	if err != nil {
		return nil, err
	}
	res.SNN.WriteTables(out, AccuracySteps, res.ANNAccuracy)
	res.Classic = &Recipe{Name: RecipeClassic, ANNAccuracy: res.ANNAccuracy, Train: res.Train, Network: net, Encoding: enc, SNN: res.SNN}
	_, analog := enc.(encode.Current)
	res.Classic.finish(cfg, analog)
	res.Classic.writeEnergy(out, cfg)
	if cfg.Recipe == RecipeLowLatency {
		var more []outFile
		if res.LowLatency, more, err = runLowLatency(ctx, cfg, trainSet, testSet, notify); err != nil {
			return nil, err
		}
		files = append(files, more...)
		writeComparison(out, res)
	}

	// 4. Look at one sample: its input raster and output spikes.
	figs, err := sampleFigures(ctx, net, testSet, enc, cfg, res)
	if err != nil {
		return nil, err
	}
	more, err := summaryFigures(res, cfg.Timesteps)
	if err != nil {
		return nil, err
	}
	figs = append(figs, more...)
	var embedded []report.Figure
	for _, f := range figs {
		for _, ext := range []string{"png", "svg"} {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			b, err := f.fig.Encode(ext)
			if err != nil {
				return nil, fmt.Errorf("tutorial: figure %s: %w", f.name, err)
			}
			files = append(files, outFile{f.name + "." + ext, func(p string) error { return atomicfile.WriteBytes(p, b) }})
			if ext == "png" {
				embedded = append(embedded, report.Figure{Title: f.title, Caption: f.caption, PNG: b})
			}
		}
	}
	res.Seconds = time.Since(start).Seconds()
	page := buildPage(res, cfg, enc, embedded)
	files = append(files,
		outFile{"report.html", func(p string) error { return report.Write(p, page) }},
		outFile{"summary.json", func(p string) error { return writeSummary(p, res, cfg, enc) }})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if res.Files, err = writeAll(cfg.OutDir, files); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "\nFiles in %s:\n", cfg.OutDir)
	for _, f := range res.Files {
		fmt.Fprintf(out, "  %s\n", f)
	}
	fmt.Fprintf(out, "Tutorial done in %.1f s.\n", time.Since(start).Seconds())
	return res, nil
}

// outFile is one file of the output folder and how to write it.
type outFile struct {
	name  string
	write func(path string) error
}

// writeAll creates dir if needed and writes files into it. If dir did not
// exist and a write fails, dir is removed again: no partial output folder.
func writeAll(dir string, files []outFile) ([]string, error) {
	_, statErr := os.Stat(dir)
	created := os.IsNotExist(statErr)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, fmt.Errorf("tutorial: output folder: %w", err)
	}
	var paths []string
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := f.write(p); err != nil {
			if created {
				os.RemoveAll(dir)
			}
			return nil, fmt.Errorf("tutorial: %w", err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// validate checks the settings after fill, naming the Config field.
func (c *Config) validate() error {
	switch {
	case c.Epochs < 1:
		return fmt.Errorf("tutorial: Epochs %d must be at least 1", c.Epochs)
	case c.Batch < 1:
		return fmt.Errorf("tutorial: Batch %d must be at least 1", c.Batch)
	case c.Timesteps < 1 || c.Timesteps > snneval.MaxSteps:
		return fmt.Errorf("tutorial: Timesteps %d must be in [1, %d]", c.Timesteps, snneval.MaxSteps)
	case c.Samples < 0:
		return fmt.Errorf("tutorial: Samples %d must be >= 0 (0: all)", c.Samples)
	case c.TrainLimit < 0:
		return fmt.Errorf("tutorial: TrainLimit %d must be >= 0 (0: all)", c.TrainLimit)
	case c.SimBatch < 1:
		return fmt.Errorf("tutorial: SimBatch %d must be at least 1", c.SimBatch)
	case c.Sample < 0:
		return fmt.Errorf("tutorial: Sample %d must be >= 0", c.Sample)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("tutorial: LR %v must be a positive number", c.LR)
	case c.Recipe != RecipeClassic && c.Recipe != RecipeLowLatency:
		return fmt.Errorf("tutorial: Recipe %q: want %q or %q", c.Recipe, RecipeClassic, RecipeLowLatency)
	case c.QCFSEpochs < 1:
		return fmt.Errorf("tutorial: QCFSEpochs %d must be at least 1", c.QCFSEpochs)
	case c.QCFSLevels < 1 || c.QCFSLevels > arch.MaxDim:
		return fmt.Errorf("tutorial: QCFSLevels %d must be in [1, %d]", c.QCFSLevels, arch.MaxDim)
	case c.QCFSTimesteps < 1 || c.QCFSTimesteps > snneval.MaxSteps:
		return fmt.Errorf("tutorial: QCFSTimesteps %d must be in [1, %d]", c.QCFSTimesteps, snneval.MaxSteps)
	case math.IsNaN(c.SynopsPenalty) || c.SynopsPenalty > 1e6:
		return fmt.Errorf("tutorial: SynopsPenalty %v must be a number below 1e6", c.SynopsPenalty)
	case !(c.EnergyAC < 1) || !(c.EnergyMAC < 1):
		return fmt.Errorf("tutorial: EnergyAC %v and EnergyMAC %v must be energies in joules", c.EnergyAC, c.EnergyMAC)
	}
	return nil
}

type namedFigure struct {
	name, title, caption string
	fig                  *figures.Figure
}

// sampleFigures simulates one test image alone and draws its input raster
// and output spikes. The encoder seeds per sample, so this is the same spike
// train the image had in the full run.
func sampleFigures(ctx context.Context, net *snn.Network, data *mnist.Dataset, enc encode.Encoder, cfg Config, res *Result) ([]namedFigure, error) {
	i, steps := cfg.Sample, cfg.Timesteps
	img := data.Image(i)
	px := len(img)
	sm, err := sim.New(net)
	if err != nil {
		return nil, err
	}
	sm.SetEngine(cfg.Engine)
	classes := tensor.Numel(net.OutputShape())
	// The spike train is fed in chunks of time, so memory stays bounded for
	// any T; the output spikes ([steps × classes]) are kept for the figure.
	spikes := make([]float32, 0, steps*classes)
	raster := make([]float32, px)
	stream := enc.Start(img, i)
	tc := min(steps, max(1, snneval.MaxChunkValues/px))
	in := tensor.New(append([]int{1, tc}, net.Input...)...)
	for t0 := 0; t0 < steps; t0 += tc {
		n := min(tc, steps-t0)
		in.Resize(append([]int{1, n}, net.Input...)...)
		stream.Next(in.Data, n)
		out, err := sm.Run(ctx, in)
		if err != nil {
			return nil, err
		}
		spikes = append(spikes, out.Data...)
		for t := 0; t < n; t++ {
			_ = tensor.Add(raster, in.Data[t*px:(t+1)*px])
		}
	}
	counts := make([]float32, classes)
	for t := 0; t < steps; t++ {
		_ = tensor.Add(counts, spikes[t*classes:(t+1)*classes])
	}
	res.SampleLabel, res.SamplePred = data.Label(i), tensor.ArgMax(counts)
	// Channels are summed for the picture.
	plane := data.Rows * data.Cols
	for c := 1; c < data.C(); c++ {
		_ = tensor.Add(raster[:plane], raster[c*plane:(c+1)*plane])
	}
	rf, err := figures.InputRaster(raster[:plane], data.Rows, data.Cols, fmt.Sprintf("Input spikes of test image %d, summed over %d steps", i, steps))
	if err != nil {
		return nil, err
	}
	of, err := figures.OutputSpikes(spikes, steps, classes, res.SampleLabel, res.SamplePred)
	if err != nil {
		return nil, err
	}
	return []namedFigure{
		{"input_raster", "Input raster", fmt.Sprintf("Spikes per pixel of test image %d (label %d) summed over %d steps of %s coding (the tutorial's imshow).", i, res.SampleLabel, steps, enc), rf},
		{"output_spikes", "Output spikes", fmt.Sprintf("Spikes of the 10 output neurons at every time step for test image %d (the tutorial's pcolormesh); the class is the neuron with most spikes.", i), of},
	}, nil
}

func summaryFigures(res *Result, steps int) ([]namedFigure, error) {
	af, err := figures.AccuracyByT(res.SNN.AccuracyByT, res.ANNAccuracy)
	if err != nil {
		return nil, err
	}
	var names []string
	var rates []float64
	for _, r := range res.SNN.FiringRates {
		names = append(names, r.Name)
		rates = append(rates, r.Rate)
	}
	ff, err := figures.FiringRates(names, rates)
	if err != nil {
		return nil, err
	}
	names = names[:0]
	var syn, macs []float64
	for _, s := range res.SNN.SynOps {
		names = append(names, s.Name)
		syn = append(syn, s.PerSample)
		macs = append(macs, float64(s.ANNMACs))
	}
	sf, err := figures.SynOps(names, syn, macs, steps)
	if err != nil {
		return nil, err
	}
	figs := []namedFigure{
		{"accuracy", "Accuracy against time", fmt.Sprintf("SNN test accuracy when predicting from the output spikes of steps 1..t, on %d images; dashed: the ANN.", res.SNN.Samples), af},
		{"firing_rates", "Firing rates", "Mean spikes per neuron per time step of each spiking layer (named by the index of the ReLU it replaced): the activation sparsity of each layer. Above 1 is possible with MultiSpike.", ff},
		{"synops", "Synaptic operations", "Synaptic operations per image over the whole simulation, counted as sinabs' SNNAnalyzer does, next to one ANN pass's multiply-accumulates.", sf},
	}
	recipes := []*Recipe{res.Classic}
	if res.LowLatency != nil {
		recipes = append(recipes, res.LowLatency)
		var curves []figures.AccuracyCurve
		for _, r := range recipes {
			curves = append(curves, figures.AccuracyCurve{Name: r.Name, Accuracy: r.SNN.AccuracyByT, ANN: r.ANNAccuracy})
		}
		cf, err := figures.AccuracyCompare(curves)
		if err != nil {
			return nil, err
		}
		figs = append(figs, namedFigure{"accuracy_compare", "Both recipes against time", fmt.Sprintf("Test accuracy of the classic recipe (%s input) and the low-latency recipe (the image as a current) after each time step; dashed: each recipe's ANN.", res.Classic.Encoding), cf})
	}
	var curves []figures.ParetoCurve
	for _, r := range recipes {
		c := figures.ParetoCurve{Name: r.Name, ANNOps: float64(r.ANNMACs), ANN: r.ANNAccuracy}
		for _, p := range r.Points {
			c.Steps, c.Ops, c.Accuracy = append(c.Steps, p.Steps), append(c.Ops, p.SynOps), append(c.Accuracy, p.Accuracy)
		}
		curves = append(curves, c)
	}
	pf, err := figures.Pareto(curves)
	if err != nil {
		return nil, err
	}
	figs = append(figs, namedFigure{"pareto", "Accuracy against synaptic operations", "Each point is the spiking network simulated for T steps: its test accuracy against the synaptic operations it spent per image (those of a layer reading an analog input included); the triangle is its ANN, at one pass's multiply-accumulates. Up and to the left is better.", pf})
	return figs, nil
}

func buildPage(res *Result, cfg Config, enc encode.Encoder, figs []report.Figure) *report.Page {
	s := res.SNN
	p := &report.Page{
		Title: "snnkit: converting an ANN to an SNN on " + dataTitle(cfg.Dataset),
		Summary: []string{
			fmt.Sprintf("The tutorial CNN was trained for %d epochs (batch %d, Adam, learning rate %g) on %d %s images in %.1f s and reaches %.2f%% on %d test images.",
				cfg.Epochs, cfg.Batch, cfg.LR, res.Train.Samples/cfg.Epochs, dataName(cfg.Dataset), res.Train.Seconds, 100*res.ANNAccuracy, s.Samples),
			fmt.Sprintf("Converted to integrate-and-fire neurons and fed %s spike trains for %d time steps, the spiking network classifies %.2f%% correctly (%d/%d), simulated at %.0f images/s.",
				enc, s.Steps, 100*s.Accuracy, s.Correct, s.Samples, s.SamplesPerSecond),
		},
		Network:  res.Network.String(),
		Figures:  figs,
		Footnote: fmt.Sprintf("Generated by snnkit tutorial on %s in %.1f s. Seed %d.", time.Now().Format("2006-01-02 15:04"), res.Seconds, cfg.Seed),
	}
	acc := report.Table{Title: "Accuracy against time step", Header: report.Row{"time steps", "SNN accuracy", "ANN accuracy"}}
	for _, t := range AccuracySteps {
		if t <= s.Steps {
			acc.Rows = append(acc.Rows, report.Row{fmt.Sprint(t), fmt.Sprintf("%.2f%%", 100*s.AccuracyByT[t-1]), fmt.Sprintf("%.2f%%", 100*res.ANNAccuracy)})
		}
	}
	if last := AccuracySteps[len(AccuracySteps)-1]; s.Steps != last {
		acc.Rows = append(acc.Rows, report.Row{fmt.Sprint(s.Steps), fmt.Sprintf("%.2f%%", 100*s.Accuracy), fmt.Sprintf("%.2f%%", 100*res.ANNAccuracy)})
	}
	syn := report.Table{Title: "Synaptic operations per image", Header: report.Row{"layer", "SNN synops", "ANN MACs", "ratio"}}
	var macs int64
	for _, l := range s.SynOps {
		syn.Rows = append(syn.Rows, report.Row{l.Name + ": " + l.Layer, fmt.Sprintf("%.4g", l.PerSample), fmt.Sprint(l.ANNMACs), fmt.Sprintf("%.1f", l.PerSample/float64(max(l.ANNMACs, 1)))})
		macs += l.ANNMACs
	}
	syn.Rows = append(syn.Rows, report.Row{"total", fmt.Sprintf("%.4g", s.SynOpsTotal), fmt.Sprint(macs), fmt.Sprintf("%.1f", s.SynOpsTotal/float64(max(macs, 1)))})
	rates := report.Table{Title: "Firing rates", Header: report.Row{"spiking layer", "neurons", "spikes per neuron per step"}}
	for _, r := range s.FiringRates {
		rates.Rows = append(rates.Rows, report.Row{r.Name, fmt.Sprint(r.Neurons), fmt.Sprintf("%.4f", r.Rate)})
	}
	en := res.Classic.Energy
	energy := report.Table{Title: "Energy per image", Header: report.Row{"", "operations", "energy"},
		Rows: []report.Row{
			{fmt.Sprintf("SNN, spike synops × %g pJ", cfg.EnergyAC*1e12), fmt.Sprintf("%.4g", en.SpikeSynOps), fmt.Sprintf("%.3g J", en.SpikeSynOps*cfg.EnergyAC)},
			{fmt.Sprintf("SNN, MACs on the analog input × %g pJ", cfg.EnergyMAC*1e12), fmt.Sprint(en.AnalogMACs), fmt.Sprintf("%.3g J", float64(en.AnalogMACs)*cfg.EnergyMAC)},
			{"SNN total", "", fmt.Sprintf("%.3g J", en.SNN)},
			{fmt.Sprintf("ANN, MACs × %g pJ", cfg.EnergyMAC*1e12), fmt.Sprint(res.Classic.ANNMACs), fmt.Sprintf("%.3g J", en.ANN)},
			{"SNN / ANN", "", fmt.Sprintf("%.2f×", en.SNN/max(en.ANN, 1e-300))},
		}}
	p.Tables = []report.Table{acc, syn, rates, energy}
	if ll := res.LowLatency; ll != nil {
		p.Title = "snnkit: two recipes from an ANN to an SNN on " + dataTitle(cfg.Dataset)
		p.Summary = append(p.Summary, fmt.Sprintf("The low-latency recipe trained the tutorial CNN with biases, BatchNorm and QCFS activations of %d levels for %d epochs (%.1f s) to %.2f%%; converted, with the image as a current, it classifies %.2f%% at T=%d, spending %.4g M synaptic operations per image: %.2f× the ANN's energy, against %.2f× for the classic recipe at T=%d.",
			cfg.QCFSLevels, cfg.QCFSEpochs, ll.Train.Seconds, 100*ll.ANNAccuracy, 100*ll.SNN.Accuracy, ll.SNN.Steps, ll.SNN.SynOpsTotal/1e6, ll.Energy.SNN/max(ll.Energy.ANN, 1e-300), en.SNN/max(en.ANN, 1e-300), s.Steps))
		p.Network += "\n\nLow-latency recipe:\n" + ll.Network.String()
		side := report.Table{Title: "The two recipes side by side", Header: comparisonHeader, Rows: comparisonRows(res)}
		both := report.Table{Title: "Accuracy of both recipes against time step", Header: report.Row{"time steps", RecipeClassic, RecipeLowLatency}, Rows: accuracyRows(res)}
		llSyn := report.Table{Title: "Low-latency recipe: synaptic operations per image", Header: report.Row{"layer", "SNN synops", "ANN MACs", "ratio"}}
		for _, l := range ll.SNN.SynOps {
			llSyn.Rows = append(llSyn.Rows, report.Row{l.Name + ": " + l.Layer, fmt.Sprintf("%.4g", l.PerSample), fmt.Sprint(l.ANNMACs), fmt.Sprintf("%.2f", l.PerSample/float64(max(l.ANNMACs, 1)))})
		}
		llRates := report.Table{Title: "Low-latency recipe: firing rates", Header: report.Row{"spiking layer", "neurons", "spikes per neuron per step"}}
		for _, r := range ll.SNN.FiringRates {
			llRates.Rows = append(llRates.Rows, report.Row{r.Name, fmt.Sprint(r.Neurons), fmt.Sprintf("%.4f", r.Rate)})
		}
		p.Tables = append([]report.Table{side, both}, append(p.Tables, llSyn, llRates)...)
	}
	pareto := report.Table{Title: "Accuracy and cost against T", Header: report.Row{"recipe", "T", "SNN accuracy", "synops/image", "SNN J/image", "SNN/ANN energy"}}
	for _, r := range []*Recipe{res.Classic, res.LowLatency} {
		if r == nil {
			continue
		}
		for _, pt := range r.Points {
			pareto.Rows = append(pareto.Rows, report.Row{r.Name, fmt.Sprint(pt.Steps), fmt.Sprintf("%.2f%%", 100*pt.Accuracy), fmt.Sprintf("%.4g", pt.SynOps), fmt.Sprintf("%.3g", pt.Energy.SNN), fmt.Sprintf("%.2f×", pt.Energy.SNN/max(pt.Energy.ANN, 1e-300))})
		}
	}
	p.Tables = append(p.Tables, pareto)
	return p
}

// Summary is the content of summary.json.
type Summary struct {
	Epochs                int                   `json:"epochs"`
	TrainSeconds          float64               `json:"train_seconds"`
	TrainSamplesPerSecond float64               `json:"train_samples_per_second"`
	ANNAccuracy           float64               `json:"ann_accuracy"`
	Accuracy              float64               `json:"accuracy"`
	AccuracyByT           []float64             `json:"accuracy_by_t"`
	Samples               int                   `json:"samples"`
	Timesteps             int                   `json:"timesteps"`
	Encoding              string                `json:"encoding"`
	SimSeconds            float64               `json:"sim_seconds"`
	SamplesPerSecond      float64               `json:"samples_per_second"`
	SynOpsPerSample       map[string]float64    `json:"synops_per_sample"`
	FiringRates           map[string]float64    `json:"firing_rates"`
	Sample                map[string]int        `json:"sample"`
	Seconds               float64               `json:"seconds"`
	Layers                []monitor.LayerSynOps `json:"layers"`
	EnergyPerSample       snneval.Energy        `json:"energy_per_sample"`
	// Points are the accuracy, synops and energy per image after each
	// tabulated T (the Pareto curve).
	Points     []snneval.Point `json:"points"`
	LowLatency *RecipeSummary  `json:"low_latency,omitempty"`
}

// RecipeSummary is the low-latency recipe's part of summary.json.
type RecipeSummary struct {
	Epochs           int                   `json:"epochs"`
	Levels           int                   `json:"levels"`
	SynopsPenalty    float64               `json:"synops_penalty"`
	TrainSeconds     float64               `json:"train_seconds"`
	ANNAccuracy      float64               `json:"ann_accuracy"`
	Accuracy         float64               `json:"accuracy"`
	AccuracyByT      []float64             `json:"accuracy_by_t"`
	Timesteps        int                   `json:"timesteps"`
	Encoding         string                `json:"encoding"`
	SamplesPerSecond float64               `json:"samples_per_second"`
	SynOpsPerSample  float64               `json:"synops_per_sample"`
	EnergyPerSample  snneval.Energy        `json:"energy_per_sample"`
	Points           []snneval.Point       `json:"points"`
	Layers           []monitor.LayerSynOps `json:"layers"`
	FiringRates      map[string]float64    `json:"firing_rates"`
}

func writeSummary(path string, res *Result, cfg Config, enc encode.Encoder) error {
	s := res.SNN
	sum := Summary{Epochs: cfg.Epochs, TrainSeconds: res.Train.Seconds, TrainSamplesPerSecond: res.Train.SamplesPerSecond, ANNAccuracy: res.ANNAccuracy,
		Accuracy: s.Accuracy, AccuracyByT: s.AccuracyByT, Samples: s.Samples, Timesteps: s.Steps, Encoding: enc.String(), SimSeconds: s.Seconds,
		SamplesPerSecond: s.SamplesPerSecond, SynOpsPerSample: map[string]float64{"total": s.SynOpsTotal}, FiringRates: map[string]float64{},
		Sample: map[string]int{"index": cfg.Sample, "label": res.SampleLabel, "predicted": res.SamplePred}, Seconds: res.Seconds, Layers: s.SynOps,
		EnergyPerSample: res.Classic.Energy, Points: res.Classic.Points}
	if ll := res.LowLatency; ll != nil {
		penalty := max(cfg.SynopsPenalty, 0)
		sum.LowLatency = &RecipeSummary{Epochs: cfg.QCFSEpochs, Levels: cfg.QCFSLevels, SynopsPenalty: penalty, TrainSeconds: ll.Train.Seconds, ANNAccuracy: ll.ANNAccuracy,
			Accuracy: ll.SNN.Accuracy, AccuracyByT: ll.SNN.AccuracyByT, Timesteps: ll.SNN.Steps, Encoding: ll.Encoding.String(), SamplesPerSecond: ll.SNN.SamplesPerSecond,
			SynOpsPerSample: ll.SNN.SynOpsTotal, EnergyPerSample: ll.Energy, Points: ll.Points, Layers: ll.SNN.SynOps, FiringRates: map[string]float64{}}
		for _, r := range ll.SNN.FiringRates {
			sum.LowLatency.FiringRates[r.Name] = r.Rate
		}
	}
	for _, l := range s.SynOps {
		sum.SynOpsPerSample[l.Name] = l.PerSample
	}
	for _, r := range s.FiringRates {
		sum.FiringRates[r.Name] = r.Rate
	}
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, append(b, '\n'))
}

// dataName names the data set in messages: "MNIST" by default.
func dataName(spec string) string {
	switch spec {
	case "", "mnist":
		return "MNIST"
	case "fashion-mnist":
		return "Fashion-MNIST"
	}
	return spec
}

// dataTitle is dataName for a page title (a path by its base name).
func dataTitle(spec string) string {
	n := dataName(spec)
	if i := strings.LastIndexAny(n, "/\\"); i >= 0 && i < len(n)-1 {
		return n[i+1:]
	}
	return n
}
