package cli

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/snnkit/snnkit/arch"
	"github.com/snnkit/snnkit/internal/progress"
	"github.com/snnkit/snnkit/modelio"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/optim"
	"github.com/snnkit/snnkit/train"
)

type trainOptions struct {
	arch        string
	epochs      int
	batch       int
	lr          float64
	optimizer   string
	momentum    float64
	weightDecay float64
	schedule    string
	activation  string
	augment     string
	penalty     float64
	seed        uint64
	limit       int
	testLimit   int
	output      string
	json        bool
}

// TrainReport is what `snnkit train --json` prints.
type TrainReport struct {
	Arch                  string    `json:"arch"`
	Optimizer             string    `json:"optimizer"`
	Schedule              string    `json:"schedule"`
	Activation            string    `json:"activation"`
	Augment               string    `json:"augment"`
	Epochs                int       `json:"epochs"`
	BatchSize             int       `json:"batch_size"`
	Seed                  uint64    `json:"seed"`
	TrainSamples          int       `json:"train_samples"`
	TestSamples           int       `json:"test_samples"`
	TrainSeconds          float64   `json:"train_seconds"`
	SecondsPerEpoch       float64   `json:"seconds_per_epoch"`
	TrainSamplesPerSecond float64   `json:"train_samples_per_second"`
	EpochLoss             []float64 `json:"epoch_loss"`
	EpochTrainAccuracy    []float64 `json:"epoch_train_accuracy"`
	TestAccuracy          float64   `json:"test_accuracy"`
	TestLoss              float64   `json:"test_loss"`
	Output                string    `json:"output,omitempty"`
}

func newTrainCmd(e *env) *cobra.Command {
	o := &trainOptions{}
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train an ANN on MNIST and save it as safetensors",
		Long: `Train a network on the MNIST training set with softmax cross-entropy and
report its test accuracy. The defaults are the sinabs tutorial's: the seed
network, Adam with learning rate 1e-3, batches of 128, 2 epochs. A preset
with a recipe of its own trains with it unless --lr or --schedule is given:
resnet-small takes Adam at 3e-3 with a one-cycle schedule.`,
		Example: `  snnkit train --arch tutorial --epochs 2 -o ann.safetensors
  snnkit train --limit 5000 --epochs 1 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if r, ok := arch.PresetRecipe(o.arch); ok && o.optimizer == "adam" && !cmd.Flags().Changed("lr") && !cmd.Flags().Changed("schedule") {
				o.lr, o.schedule = r.LR, r.Schedule
			}
			_, err := runTrain(cmd.Context(), e, o)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.arch, "arch", "tutorial", "architecture: a preset ("+strings.Join(arch.Presets(), ", ")+") or a JSON file")
	f.IntVar(&o.epochs, "epochs", 2, "passes over the training set")
	f.IntVar(&o.batch, "batch", 128, "batch size")
	f.Float64Var(&o.lr, "lr", 1e-3, "learning rate")
	f.StringVar(&o.optimizer, "optimizer", "adam", "adam or sgd")
	f.Float64Var(&o.momentum, "momentum", 0, "SGD momentum")
	f.Float64Var(&o.weightDecay, "weight-decay", 0, "L2 weight decay")
	f.StringVar(&o.schedule, "schedule", "constant", "learning-rate schedule: constant, cosine, onecycle or step:N:G")
	f.StringVar(&o.activation, "activation", "relu", "activation replacing every ReLU: relu, or qcfs:L[:LAMBDA] (QCFS of L levels, trainable λ starting at LAMBDA, 2 by default)")
	f.Float64Var(&o.penalty, "synops-penalty", 0, "with QCFS activations: add A × (the synaptic operations a spike of each layer costs / its initial λ) × its activations to the loss, for fewer spikes after conversion")
	f.StringVar(&o.augment, "augment", "none", "training augmentation: none, or shift:N (random shifts of up to N pixels each way)")
	f.Uint64Var(&o.seed, "seed", 0, "seed for initialisation and shuffling")
	f.IntVar(&o.limit, "limit", 0, "train on the first N training images only (0: all 60000)")
	f.IntVar(&o.testLimit, "test-limit", 0, "evaluate on the first N test images only (0: all 10000)")
	f.StringVarP(&o.output, "output", "o", "", "write the trained model to this .safetensors file")
	markInput(f, "arch")
	markOutput(f, "output")
	f.BoolVar(&o.json, "json", false, "print one JSON object on stdout")
	return cmd
}

func (o *trainOptions) check() error {
	switch {
	case o.epochs < 1:
		return fmt.Errorf("--epochs %d: must be at least 1", o.epochs)
	case o.batch < 1:
		return fmt.Errorf("--batch %d: must be at least 1", o.batch)
	case !(o.lr > 0) || math.IsInf(o.lr, 0):
		return fmt.Errorf("--lr %v: must be a positive number", o.lr)
	case o.limit < 0:
		return fmt.Errorf("--limit %d: must not be negative", o.limit)
	case o.testLimit < 0:
		return fmt.Errorf("--test-limit %d: must not be negative", o.testLimit)
	case o.optimizer != "adam" && o.optimizer != "sgd":
		return fmt.Errorf("--optimizer %q: want adam or sgd", o.optimizer)
	case !(o.momentum >= 0) || math.IsInf(o.momentum, 0):
		return fmt.Errorf("--momentum %v: must be a number >= 0", o.momentum)
	case o.momentum != 0 && o.optimizer != "sgd":
		return fmt.Errorf("--momentum %v: applies to --optimizer sgd only (Adam keeps its own moment estimates)", o.momentum)
	case !(o.weightDecay >= 0) || math.IsInf(o.weightDecay, 0):
		return fmt.Errorf("--weight-decay %v: must be a number >= 0", o.weightDecay)
	}
	if _, err := optim.ParseSchedule(o.schedule); err != nil {
		return fmt.Errorf("--schedule: %w", err)
	}
	if _, err := arch.ParseActivation(o.activation); err != nil {
		return fmt.Errorf("--activation: %w", err)
	}
	if _, err := train.ParseAugment(o.augment); err != nil {
		return fmt.Errorf("--augment: %w", err)
	}
	if !(o.penalty >= 0 && o.penalty < 1e6) {
		return fmt.Errorf("--synops-penalty %v: want a number >= 0", o.penalty)
	}
	return nil
}

func runTrain(ctx context.Context, e *env, o *trainOptions) (*TrainReport, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	spec, gspec, err := arch.LookupAny(o.arch)
	if err != nil {
		return nil, fmt.Errorf("--arch: %w", err)
	}
	act, _ := arch.ParseActivation(o.activation)
	input := []int(nil)
	if spec != nil {
		spec = spec.WithActivation(act)
		input = spec.Input
	} else {
		gspec = gspec.WithActivation(act)
		input = gspec.Input
	}
	trainSet, testSet, err := e.loadData()
	if err != nil {
		return nil, err
	}
	trainSet, testSet = trainSet.Subset(o.limit), testSet.Subset(o.testLimit)
	if err := checkInput("--arch "+o.arch, input, e.dataset, trainSet); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(o.seed, 1))
	var net nn.Trainable
	var save func(path string, meta map[string]string) error
	if spec != nil {
		seq, err := spec.Build(rng)
		if err != nil {
			return nil, err
		}
		net, save = seq, func(p string, meta map[string]string) error { return modelio.Save(p, spec, seq, meta) }
		if o.penalty > 0 && train.SetSynopsPenalty(seq, o.penalty) == 0 {
			return nil, fmt.Errorf("--synops-penalty: %s has no QCFS activation (add --activation qcfs:L)", o.arch)
		}
	} else {
		g, err := gspec.Build(rng)
		if err != nil {
			return nil, err
		}
		if o.penalty > 0 {
			n, err := train.SetSynopsPenaltyGraph(g, o.penalty)
			if err != nil {
				return nil, fmt.Errorf("--synops-penalty: %w", err)
			}
			if n == 0 {
				return nil, fmt.Errorf("--synops-penalty: %s has no QCFS activation (add --activation qcfs:L)", o.arch)
			}
		}
		net, save = g, func(p string, meta map[string]string) error { return modelio.SaveGraph(p, gspec, g, meta) }
	}
	var opt optim.Optimizer
	if o.optimizer == "sgd" {
		opt, err = optim.NewSGD(net.Params(), optim.SGDConfig{LR: o.lr, Momentum: o.momentum, WeightDecay: o.weightDecay})
	} else {
		opt, err = optim.NewAdam(net.Params(), optim.AdamConfig{LR: o.lr, WeightDecay: o.weightDecay})
	}
	if err != nil {
		return nil, err
	}
	out := e.info(o.json)
	fmt.Fprintf(out, "training %s on %d %s images for %d epochs (batch %d, %v, %s schedule, activation %s, augmentation %s)\n", o.arch, trainSet.N, e.dataset, o.epochs, o.batch, opt, o.schedule, o.activation, o.augment)
	bar := progress.New(e.stderr, int64(trainSet.N*o.epochs), "train", "img", e.quiet)
	sched, _ := optim.ParseSchedule(o.schedule)
	aug, _ := train.ParseAugment(o.augment)
	res, err := train.Fit(ctx, net, opt, trainSet, train.Config{Epochs: o.epochs, BatchSize: o.batch, Seed: o.seed, Schedule: sched, Augment: aug,
		Progress: func(p train.Progress) {
			bar.Update(int64(p.Done), fmt.Sprintf("epoch %d/%d loss %.4f", p.Epoch, p.Epochs, p.Loss))
		}})
	bar.Finish()
	if err != nil {
		return nil, err
	}
	for i := range res.EpochLoss {
		fmt.Fprintf(out, "epoch %d: mean loss %.4f, training accuracy %.2f%%\n", i+1, res.EpochLoss[i], 100*res.EpochAccuracy[i])
	}
	fmt.Fprintf(out, "trained in %.1f s (%.1f s per epoch, %.0f images/s)\n", res.Seconds, res.Seconds/float64(o.epochs), res.SamplesPerSecond)
	ev, err := train.Evaluate(ctx, net, testSet, 1000)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "test accuracy %.2f%% (%d/%d), loss %.4f\n", 100*ev.Accuracy, ev.Correct, ev.Samples, ev.Loss)
	rep := &TrainReport{Arch: o.arch, Optimizer: opt.String(), Schedule: o.schedule, Activation: o.activation, Augment: o.augment, Epochs: o.epochs, BatchSize: o.batch, Seed: o.seed,
		TrainSamples: trainSet.N, TestSamples: testSet.N, TrainSeconds: res.Seconds, SecondsPerEpoch: res.Seconds / float64(o.epochs),
		TrainSamplesPerSecond: res.SamplesPerSecond, EpochLoss: res.EpochLoss, EpochTrainAccuracy: res.EpochAccuracy,
		TestAccuracy: ev.Accuracy, TestLoss: ev.Loss, Output: o.output}
	if o.output != "" {
		meta := map[string]string{
			"snnkit.train.epochs":         strconv.Itoa(o.epochs),
			"snnkit.train.batch":          strconv.Itoa(o.batch),
			"snnkit.train.seed":           strconv.FormatUint(o.seed, 10),
			"snnkit.train.optimizer":      opt.String(),
			"snnkit.train.schedule":       o.schedule,
			"snnkit.train.activation":     o.activation,
			"snnkit.train.augment":        o.augment,
			"snnkit.train.synops_penalty": strconv.FormatFloat(o.penalty, 'g', -1, 64),
			"snnkit.train.samples":        strconv.Itoa(trainSet.N),
			"snnkit.train.test_accuracy":  strconv.FormatFloat(ev.Accuracy, 'f', 6, 64),
		}
		if err := save(o.output, meta); err != nil {
			return nil, fmt.Errorf("-o/--output: %w", err)
		}
		fmt.Fprintf(out, "saved %s\n", o.output)
	}
	if o.json {
		return rep, e.writeJSON(rep)
	}
	return rep, nil
}
