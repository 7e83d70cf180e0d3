package cli

import (
	"fmt"
	"github.com/snnkit/snnkit/sim"
	"math"

	"github.com/spf13/cobra"

	"github.com/snnkit/snnkit/snneval"
	"github.com/snnkit/snnkit/tutorial"
)

func newTutorialCmd(e *env) *cobra.Command {
	c := tutorial.Defaults()
	c.Samples = 10000
	engine := "auto"
	cmd := &cobra.Command{
		Use:   "tutorial",
		Short: "Run sinabs' ANN-to-SNN tutorial end to end, with figures and a report",
		Long: `Train the tutorial CNN on MNIST (Adam 1e-3, batch 128, 2 epochs), convert it
into a spiking network, simulate the whole test set with Bernoulli rate-coded
input for 100 time steps, and print the ANN accuracy, the spiking network,
its accuracy against time, synaptic operations and firing rates per layer.
Figures (PNG and SVG), report.html, summary.json and both models go to -o DIR.`,
		Example: `  snnkit tutorial
  snnkit tutorial -o out --samples 1000 --timesteps 50`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c.Stdout, c.Stderr, c.Quiet, c.DataDir, c.Dataset = e.stdout, e.stderr, e.quiet, e.data, e.dataset
			// The library fills zero fields with the tutorial's values; on the
			// command line a 0 is the user's and is refused.
			for _, f := range []struct {
				name   string
				v, min int
			}{{"epochs", c.Epochs, 1}, {"batch", c.Batch, 1}, {"timesteps", c.Timesteps, 1}, {"samples", c.Samples, 0}, {"train-limit", c.TrainLimit, 0}, {"sample", c.Sample, 0}} {
				if f.v < f.min {
					return fmt.Errorf("--%s %d: must be at least %d", f.name, f.v, f.min)
				}
			}
			if c.Timesteps > snneval.MaxSteps {
				return fmt.Errorf("--timesteps %d: at most %d", c.Timesteps, snneval.MaxSteps)
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
	return cmd
}
