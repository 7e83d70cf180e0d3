package tutorial

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/snnkit/snnkit/arch"
	"github.com/snnkit/snnkit/data/mnist"
	"github.com/snnkit/snnkit/encode"
	"github.com/snnkit/snnkit/internal/progress"
	"github.com/snnkit/snnkit/modelio"
	"github.com/snnkit/snnkit/optim"
	"github.com/snnkit/snnkit/report"
	"github.com/snnkit/snnkit/snn"
	"github.com/snnkit/snnkit/snneval"
	"github.com/snnkit/snnkit/train"
)

// The recipes Config.Recipe names.
const (
	// RecipeClassic is sinabs' tutorial: a ReLU CNN trained for two epochs,
	// converted as it is, rate-coded input for 100 steps.
	RecipeClassic = "classic"
	// RecipeLowLatency adds, side by side with the classic recipe, a QCFS
	// network (Bu et al., ICLR 2022): the tutorial CNN with biases and
	// BatchNorm, QCFS activations of 4 levels, ±2-pixel shifts, a cosine
	// schedule and a synaptic-operations penalty, converted to neurons
	// that start at half their threshold λ and spike once a step at most,
	// fed the image as a constant current for a handful of steps and read
	// from the output layer's membrane.
	RecipeLowLatency = "low-latency"
)

// Recipe is what one training recipe reached: its ANN, the spiking network
// it converts to, the simulation, and its accuracy and cost against T.
type Recipe struct {
	Name        string
	ANNAccuracy float64
	Train       *train.Result
	Network     *snn.Network
	Encoding    encode.Encoder
	SNN         *snneval.Result
	// Points are the accuracy, synaptic operations and energy per image
	// after each of the time steps the tables show (a Pareto curve).
	Points []snneval.Point
	// Energy is the estimated energy per image at the run's T, the SNN's
	// against the ANN's.
	Energy snneval.Energy
	// ANNMACs are the ANN's multiply-accumulates per image.
	ANNMACs int64
}

// lowLatencySpec is the QCFS network the low-latency recipe trains.
func lowLatencySpec(levels int) (*arch.Spec, error) {
	spec, err := arch.Lookup("tutorial-bn")
	if err != nil {
		return nil, err
	}
	act, err := arch.ParseActivation(fmt.Sprintf("qcfs:%d", levels))
	if err != nil {
		return nil, err
	}
	return spec.WithActivation(act), nil
}

// runLowLatency trains, converts and simulates the low-latency recipe.
// It returns the files to write next to the classic recipe's.
func runLowLatency(ctx context.Context, cfg Config, trainSet, testSet *mnist.Dataset, notify func(string) func(int, int)) (*Recipe, []outFile, error) {
	out := cfg.Stdout
	spec, err := lowLatencySpec(cfg.QCFSLevels)
	if err != nil {
		return nil, nil, err
	}
	ann, err := spec.Build(rand.New(rand.NewPCG(cfg.Seed, 1)))
	if err != nil {
		return nil, nil, err
	}
	if cfg.SynopsPenalty > 0 {
		train.SetSynopsPenalty(ann, cfg.SynopsPenalty)
	}
	opt, err := optim.NewAdam(ann.Params(), optim.AdamConfig{LR: cfg.LR})
	if err != nil {
		return nil, nil, err
	}
	sched, err := optim.ParseSchedule("cosine")
	if err != nil {
		return nil, nil, err
	}
	aug, err := train.ParseAugment("shift:2")
	if err != nil {
		return nil, nil, err
	}
	penalty := "no synops penalty"
	if cfg.SynopsPenalty > 0 {
		penalty = fmt.Sprintf("synops penalty %g", cfg.SynopsPenalty)
	}
	fmt.Fprintf(out, "\nLow-latency recipe: training the tutorial CNN with biases, BatchNorm and QCFS activations of %d levels on %d %s images: %d epochs, batch %d, %v, cosine schedule, shifts of ±2 pixels, %s\n",
		cfg.QCFSLevels, trainSet.N, dataName(cfg.Dataset), cfg.QCFSEpochs, cfg.Batch, opt, penalty)
	r := &Recipe{Name: RecipeLowLatency, Encoding: encode.Current{}}
	bar := progress.New(cfg.Stderr, int64(trainSet.N*cfg.QCFSEpochs), "train qcfs", "img", cfg.Quiet)
	r.Train, err = train.Fit(ctx, ann, opt, trainSet, train.Config{Epochs: cfg.QCFSEpochs, BatchSize: cfg.Batch, Seed: cfg.Seed, Schedule: sched, Augment: aug,
		Progress: func(p train.Progress) {
			bar.Update(int64(p.Done), fmt.Sprintf("epoch %d/%d loss %.4f", p.Epoch, p.Epochs, p.Loss))
			notify("train")(p.Done, p.Total)
		}})
	bar.Finish()
	if err != nil {
		return nil, nil, err
	}
	ev, err := train.Evaluate(ctx, ann, testSet, 1000)
	if err != nil {
		return nil, nil, err
	}
	r.ANNAccuracy = ev.Accuracy
	fmt.Fprintf(out, "QCFS ANN accuracy: %.2f%% on %d test images (trained in %.1f s)\n\n", 100*ev.Accuracy, ev.Samples, r.Train.Seconds)

	// A QCFS layer converts to IAF neurons with threshold λ that start at
	// λ/2 and fire once a step at most; the output integrates.
	opts := snn.DefaultConvertOptions()
	opts.QCFSNeuron = snn.DefaultQCFSNeuron()
	opts.AddSpikingOutput = false
	opts.FoldBatchNorm = true
	if r.Network, err = snn.FromModel(ann, spec.Input, opts); err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(out, "Its spiking network (QCFS replaced by IAF with threshold λ, membrane readout):\n%v\n\n", r.Network)
	fmt.Fprintf(out, "Simulating %d test images for %d time steps with the image as a constant current\n", testSet.N, cfg.QCFSTimesteps)
	bar = progress.New(cfg.Stderr, int64(testSet.N), "simulate qcfs", "img", cfg.Quiet)
	r.SNN, err = snneval.Run(ctx, r.Network, testSet, snneval.Config{Steps: cfg.QCFSTimesteps, Batch: cfg.SimBatch, Encoder: r.Encoding, Engine: cfg.Engine,
		Checkpoints: checkpoints(LowLatencySteps, cfg.QCFSTimesteps),
		Progress:    func(done, total int) { bar.Update(int64(done), ""); notify("simulate")(done, total) }})
	bar.Finish()
	if err != nil {
		return nil, nil, err
	}
	r.SNN.WriteTables(out, LowLatencySteps, r.ANNAccuracy)
	r.finish(cfg, true)
	r.writeEnergy(out, cfg)
	files := []outFile{
		{"qcfs_ann.safetensors", func(p string) error { return modelio.Save(p, spec, ann, nil) }},
		{"qcfs_snn.safetensors", func(p string) error { return modelio.SaveSNN(p, r.Network, nil) }},
	}
	return r, files, nil
}

// LowLatencySteps are the time steps of the low-latency recipe's tables.
var LowLatencySteps = []int{1, 2, 3, 4, 5, 6, 8, 12, 16}

// checkpoints returns the steps of at that a run of T has, and T.
func checkpoints(at []int, steps int) []int {
	var c []int
	for _, t := range at {
		if t < steps {
			c = append(c, t)
		}
	}
	return append(c, steps)
}

// finish computes r's points, energy and ANN operations from its run.
func (r *Recipe) finish(cfg Config, analog bool) {
	eAC, eMAC := cfg.EnergyAC, cfg.EnergyMAC
	r.Points = r.SNN.Points(r.Network, analog, eAC, eMAC)
	r.Energy = snneval.EstimateEnergy(r.Network, r.SNN, analog, eAC, eMAC)
	r.ANNMACs = 0
	for _, l := range r.SNN.SynOps {
		r.ANNMACs += l.ANNMACs
	}
}

// writeEnergy prints r's estimated energy per image against its ANN's.
func (r *Recipe) writeEnergy(w io.Writer, cfg Config) {
	e := r.Energy
	fmt.Fprintf(w, "energy per image at T=%d: SNN %.3g J (%.4g M spike synops × %g pJ + %.4g M analog MACs × %g pJ), ANN %.3g J (%.4g M MACs × %g pJ): %.2f× the ANN's\n",
		r.SNN.Steps, e.SNN, e.SpikeSynOps/1e6, cfg.EnergyAC*1e12, float64(e.AnalogMACs)/1e6, cfg.EnergyMAC*1e12, e.ANN, float64(r.ANNMACs)/1e6, cfg.EnergyMAC*1e12, e.SNN/max(e.ANN, 1e-300))
}

// comparisonRows are the recipes side by side: accuracy, T, operations and
// energy per image against the ANN's.
func comparisonRows(res *Result) []report.Row {
	var rows []report.Row
	for _, r := range []*Recipe{res.Classic, res.LowLatency} {
		if r == nil {
			continue
		}
		rows = append(rows, report.Row{r.Name, fmt.Sprintf("%.2f%%", 100*r.ANNAccuracy), fmt.Sprintf("%.2f%%", 100*r.SNN.Accuracy), fmt.Sprint(r.SNN.Steps), r.Encoding.String(),
			fmt.Sprintf("%.4g M", r.SNN.SynOpsTotal/1e6), fmt.Sprintf("%.4g M", float64(r.ANNMACs)/1e6), fmt.Sprintf("%.3g", r.Energy.SNN), fmt.Sprintf("%.3g", r.Energy.ANN), fmt.Sprintf("%.2f×", r.Energy.SNN/max(r.Energy.ANN, 1e-300))})
	}
	return rows
}

var comparisonHeader = report.Row{"recipe", "ANN", "SNN", "T", "input", "synops/image", "ANN MACs", "SNN J/image", "ANN J/image", "SNN/ANN energy"}

// accuracyRows are both recipes' accuracy at the union of their table steps.
func accuracyRows(res *Result) []report.Row {
	var steps []int
	for _, t := range append(append([]int{}, LowLatencySteps...), AccuracySteps...) {
		if !slices.Contains(steps, t) {
			steps = append(steps, t)
		}
	}
	steps = append(steps, res.Classic.SNN.Steps, res.LowLatency.SNN.Steps)
	slices.Sort(steps)
	steps = slices.Compact(steps)
	at := func(r *Recipe, t int) string {
		if t > r.SNN.Steps {
			return ""
		}
		return fmt.Sprintf("%.2f%%", 100*r.SNN.AccuracyByT[t-1])
	}
	var rows []report.Row
	for _, t := range steps {
		if t <= max(res.Classic.SNN.Steps, res.LowLatency.SNN.Steps) {
			rows = append(rows, report.Row{fmt.Sprint(t), at(res.Classic, t), at(res.LowLatency, t)})
		}
	}
	return rows
}

// writeComparison prints the recipes side by side.
func writeComparison(w io.Writer, res *Result) {
	fmt.Fprintf(w, "\nThe two recipes side by side (%d test images):\n", res.Classic.SNN.Samples)
	printRows(w, append([]report.Row{comparisonHeader}, comparisonRows(res)...))
	fmt.Fprintln(w, "\nSNN accuracy against time step:")
	printRows(w, append([]report.Row{{"T", RecipeClassic, RecipeLowLatency}}, accuracyRows(res)...))
}

// printRows prints a table in aligned columns, the first left-aligned.
func printRows(w io.Writer, rows []report.Row) {
	width := map[int]int{}
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString("  " + pad + c)
			}
		}
		fmt.Fprintln(w, b.String())
	}
}
