package cli

import (
	"fmt"
	"github.com/snnkit/snnkit/sim"
	"math"

	"github.com/spf13/cobra"

	"github.com/snnkit/snnkit/arch"
	"github.com/snnkit/snnkit/snneval"
	"github.com/snnkit/snnkit/tutorial"
)

func newTutorialCmd(e *env) *cobra.Command {
	c := tutorial.Defaults()
	c.Samples = 10000
	engine := "auto"
	penalty, eAC, eMAC := c.SynopsPenalty, c.EnergyAC*1e12, c.EnergyMAC*1e12
	cmd := &cobra.Command{
		Use:   "tutorial",
		Short: "Run sinabs' ANN-to-SNN tutorial end to end, with figures and a report",
		Long: `Train the tutorial CNN on MNIST (Adam 1e-3, batch 128, 2 epochs), convert it
into a spiking network, simulate the whole test set with Bernoulli rate-coded
input for 100 time steps, and print the ANN accuracy, the spiking network,
its accuracy against time, synaptic operations and firing rates per layer.
Figures (PNG and SVG), report.html, summary.json and both models go to -o DIR.

With --recipe low-latency it also trains the tutorial CNN with biases,
BatchNorm and QCFS activations (4 levels, 15 epochs, ±2-pixel shifts, a cosine
schedule, a synaptic-operations penalty), converts it to neurons that start at
half their threshold and fire once a step at most, simulates it with the image
as a constant current for 8 steps, and shows both recipes side by side:
accuracy against T, synaptic operations, energy against the ANN's, and the
accuracy-against-synops (Pareto) figure.`,
		Example: `  snnkit tutorial
  snnkit tutorial -o out --samples 1000 --timesteps 50
  snnkit tutorial --recipe low-latency -o low-latency`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c.Stdout, c.Stderr, c.Quiet, c.DataDir, c.Dataset = e.stdout, e.stderr, e.quiet, e.data, e.dataset
			// The library fills zero fields with the tutorial's values; on the
			// command line a 0 is the user's and is refused.
			for _, f := range []struct {
				name   string
				v, min int
			}{{"epochs", c.Epochs, 1}, {"batch", c.Batch, 1}, {"timesteps", c.Timesteps, 1}, {"samples", c.Samples, 0}, {"train-limit", c.TrainLimit, 0}, {"sample", c.Sample, 0},
				{"qcfs-epochs", c.QCFSEpochs, 1}, {"qcfs-levels", c.QCFSLevels, 1}, {"qcfs-timesteps", c.QCFSTimesteps, 1}} {
				if f.v < f.min {
					return fmt.Errorf("--%s %d: must be at least %d", f.name, f.v, f.min)
				}
			}
			if c.Timesteps > snneval.MaxSteps {
				return fmt.Errorf("--timesteps %d: at most %d", c.Timesteps, snneval.MaxSteps)
			}
			if c.QCFSTimesteps > snneval.MaxSteps {
				return fmt.Errorf("--qcfs-timesteps %d: at most %d", c.QCFSTimesteps, snneval.MaxSteps)
			}
			if c.QCFSLevels > arch.MaxDim {
				return fmt.Errorf("--qcfs-levels %d: at most %d", c.QCFSLevels, arch.MaxDim)
			}
			if c.Recipe != tutorial.RecipeClassic && c.Recipe != tutorial.RecipeLowLatency {
				return fmt.Errorf("--recipe %q: want %s or %s", c.Recipe, tutorial.RecipeClassic, tutorial.RecipeLowLatency)
			}
			if !(penalty >= 0 && penalty < 1e6) {
				return fmt.Errorf("--synops-penalty %v: want a number >= 0", penalty)
			}
			c.SynopsPenalty = penalty
			if penalty == 0 {
				c.SynopsPenalty = -1 // the library's "none"; its 0 is the default
			}
			for _, f := range []struct {
				name string
				v    float64
			}{{"--energy-ac", eAC}, {"--energy-mac", eMAC}} {
				if !(f.v >= 0 && f.v < 1e12) {
					return fmt.Errorf("%s %v: want an energy in pJ, 0 or more", f.name, f.v)
				}
			}
			c.EnergyAC, c.EnergyMAC = eAC*1e-12, eMAC*1e-12
			// The library reads 0 as its default; a negative value is 0.
			if eAC == 0 {
				c.EnergyAC = -1
			}
			if eMAC == 0 {
				c.EnergyMAC = -1
			}
			if !(c.LR > 0) || math.IsInf(c.LR, 0) {
				return fmt.Errorf("--lr %v: must be a positive number", c.LR)
			}
			var err error
			if c.Engine, err = sim.ParseEngine(engine); err != nil {
				return fmt.Errorf("--engine: %w", err)
			}
			_, err = tutorial.Run(cmd.Context(), c)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVarP(&c.OutDir, "output", "o", c.OutDir, "folder for models, figures and the report")
	f.IntVar(&c.Epochs, "epochs", c.Epochs, "training epochs")
	f.IntVar(&c.Batch, "batch", c.Batch, "training batch size")
	f.Float64Var(&c.LR, "lr", c.LR, "Adam learning rate")
	f.IntVar(&c.TrainLimit, "train-limit", 0, "train on the first N images only (0: all 60000)")
	f.IntVar(&c.Timesteps, "timesteps", c.Timesteps, "time steps per test image")
	f.IntVar(&c.Samples, "samples", c.Samples, "test images to simulate")
	f.StringVar(&c.Encoding, "encoding", c.Encoding, "input encoding: bernoulli, poisson[:RATE] or current")
	f.Uint64Var(&c.Seed, "seed", 0, "seed for initialisation, shuffling and encoding")
	f.IntVar(&c.Sample, "sample", c.Sample, "test image shown in the figures")
	f.StringVar(&engine, "engine", engine, "simulation engine: auto, dense, event or reference")
	f.StringVar(&c.Recipe, "recipe", c.Recipe, "classic (sinabs' tutorial), or low-latency (a QCFS network trained, converted and shown side by side with the classic recipe)")
	f.IntVar(&c.QCFSEpochs, "qcfs-epochs", c.QCFSEpochs, "low-latency recipe: training epochs")
	f.IntVar(&c.QCFSLevels, "qcfs-levels", c.QCFSLevels, "low-latency recipe: QCFS levels L")
	f.IntVar(&c.QCFSTimesteps, "qcfs-timesteps", c.QCFSTimesteps, "low-latency recipe: time steps per test image")
	f.Float64Var(&penalty, "synops-penalty", penalty, "low-latency recipe: synaptic-operations penalty in training (0: none)")
	f.Float64Var(&eAC, "energy-ac", eAC, "energy of an accumulate (a spike's synaptic operation), pJ")
	f.Float64Var(&eMAC, "energy-mac", eMAC, "energy of a multiply-accumulate (the ANN's, and an SNN layer's on analog input), pJ")
	return cmd
}
