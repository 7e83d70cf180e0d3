package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/snnkit/snnkit/arch"
	"github.com/snnkit/snnkit/modelio"
	"github.com/snnkit/snnkit/safetensors"
	"github.com/snnkit/snnkit/tensor"
	"github.com/snnkit/snnkit/train"
)

type evalOptions struct {
	model string
	arch  string
	limit int
	batch int
	json  bool
}

// EvalReport is what `snnkit eval --json` prints.
type EvalReport struct {
	Model        string  `json:"model"`
	TestSamples  int     `json:"test_samples"`
	Correct      int     `json:"correct"`
	TestAccuracy float64 `json:"test_accuracy"`
	TestLoss     float64 `json:"test_loss"`
	Seconds      float64 `json:"seconds"`
}

func newEvalCmd(e *env) *cobra.Command {
	o := &evalOptions{}
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Report an ANN's accuracy on the MNIST test set",
		Long: `Evaluate a model file on the MNIST test set. Files written by snnkit carry
their architecture; a plain PyTorch state_dict saved as safetensors needs
--arch (a preset or a JSON file).`,
		Example: `  snnkit eval -m ann.safetensors
  snnkit eval -m pytorch_state_dict.safetensors --arch tutorial --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := runEval(cmd.Context(), e, o)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.model, "model", "m", "", "model file (.safetensors)")
	f.StringVar(&o.arch, "arch", "", "architecture for a plain state_dict: a preset or a JSON file")
	markInput(f, "model", "arch")
	f.IntVar(&o.limit, "limit", 0, "evaluate the first N test images only (0: all)")
	f.IntVar(&o.batch, "batch", 1000, "batch size")
	f.BoolVar(&o.json, "json", false, "print one JSON object on stdout")
	_ = cmd.MarkFlagRequired("model")
	return cmd
}

// archOverride returns the architecture named by --arch, nil when empty.
func archOverride(archName string) (*arch.Spec, error) {
	if archName == "" {
		return nil, nil
	}
	spec, err := arch.Lookup(archName)
	if err != nil {
		return nil, fmt.Errorf("--arch: %w", err)
	}
	return spec, nil
}

// loadANN reads an ANN model file for command (which takes no SNN).
func loadANN(path, archName, command string) (*modelio.Model, error) {
	spec, err := archOverride(archName)
	if err != nil {
		return nil, err
	}
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if modelio.IsSNN(f) {
		return nil, fmt.Errorf("%s is a spiking network (written by snnkit convert); %s takes the ANN it was converted from (simulate the spiking network with snnkit run -m %s)", path, command, path)
	}
	m, err := modelio.FromFile(f, spec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

func runEval(ctx context.Context, e *env, o *evalOptions) (*EvalReport, error) {
	if o.limit < 0 || o.batch < 1 {
		return nil, fmt.Errorf("--limit must be >= 0 and --batch >= 1 (have %d, %d)", o.limit, o.batch)
	}
	m, err := loadANN(o.model, o.arch, "eval")
	if err != nil {
		return nil, err
	}
	test, err := e.loadMNISTTest()
	if err != nil {
		return nil, err
	}
	test = test.Subset(o.limit)
	if !tensor.SameShape(m.Spec.Input, []int{1, test.Rows, test.Cols}) {
		return nil, fmt.Errorf("%s takes input %v, MNIST images are [1 %d %d]", o.model, m.Spec.Input, test.Rows, test.Cols)
	}
	ev, err := train.Evaluate(ctx, m.Net, test, o.batch)
	if err != nil {
		return nil, err
	}
	rep := &EvalReport{Model: o.model, TestSamples: ev.Samples, Correct: ev.Correct, TestAccuracy: ev.Accuracy, TestLoss: ev.Loss, Seconds: ev.Seconds}
	fmt.Fprintf(e.info(o.json), "%s: test accuracy %.2f%% (%d/%d), loss %.4f, %.2f s\n", o.model, 100*ev.Accuracy, ev.Correct, ev.Samples, ev.Loss, ev.Seconds)
	if o.json {
		return rep, e.writeJSON(rep)
	}
	return rep, nil
}
