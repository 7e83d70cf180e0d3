package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/snnkit/snnkit/arch"
	"github.com/snnkit/snnkit/data/mnist"
	"github.com/snnkit/snnkit/modelio"
	"github.com/snnkit/snnkit/nn"
	"github.com/snnkit/snnkit/onnx"
	"github.com/snnkit/snnkit/safetensors"
	"github.com/snnkit/snnkit/tensor"
	"github.com/snnkit/snnkit/train"
)

type evalOptions struct {
	model     string
	arch      string
	inputNorm string
	limit     int
	batch     int
	json      bool
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
		Short: "Report an ANN's accuracy on a test set",
		Long: `Evaluate a model file on the test set of --dataset (MNIST by default).
Files written by snnkit carry their architecture; a plain PyTorch state_dict
saved as safetensors needs --arch (a preset or a JSON file); an ONNX file
exported by torch.onnx.export carries its graph, and takes the input
normalisation its training used with --input-norm.`,
		Example: `  snnkit eval -m ann.safetensors
  snnkit eval -m pytorch_state_dict.safetensors --arch tutorial --json
  snnkit eval -m resnet.onnx --dataset fashion-mnist --input-norm 0.2860,0.3530`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := runEval(cmd.Context(), e, o)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.model, "model", "m", "", "model file (.safetensors or .onnx)")
	f.StringVar(&o.arch, "arch", "", "architecture for a plain state_dict: a preset or a JSON file")
	f.StringVar(&o.inputNorm, "input-norm", "", "input normalisation (x-mean)/std for an ONNX model: MEAN,STD or m1,m2,m3/s1,s2,s3")
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

// loadEvalModel opens an ANN for evaluation: an ONNX graph (with its input
// normalisation from --input-norm prepended) or an snnkit / state_dict
// safetensors file. It returns the network and its sample input shape.
func loadEvalModel(path, archName, inputNorm, command string) (nn.Model, []int, error) {
	if onnx.IsONNX(path) {
		if archName != "" {
			return nil, nil, fmt.Errorf("--arch: %s is an ONNX model, which carries its graph", path)
		}
		g, err := onnx.ReadFile(path)
		if err != nil {
			return nil, nil, err
		}
		if inputNorm != "" {
			mean, std, err := parseInputNorm(inputNorm)
			if err != nil {
				return nil, nil, err
			}
			norm, err := nn.NewNormalize(mean, std)
			if err != nil {
				return nil, nil, fmt.Errorf("--input-norm: %w", err)
			}
			if err := g.Prepend("input_norm", norm); err != nil {
				return nil, nil, fmt.Errorf("--input-norm %s: %w", inputNorm, err)
			}
		}
		return g, g.Input, nil
	}
	if inputNorm != "" {
		return nil, nil, fmt.Errorf("--input-norm: applies to ONNX models (snnkit models store their normalisation)")
	}
	m, err := loadANN(path, archName, command)
	if err != nil {
		return nil, nil, err
	}
	return m.Network(), m.Input(), nil
}

// parseInputNorm reads --input-norm: "MEAN,STD" for one channel, or
// "m1,m2,m3/s1,s2,s3" per channel.
func parseInputNorm(s string) (mean, std []float32, err error) {
	nums := func(part string) ([]float32, error) {
		var out []float32
		for _, p := range strings.Split(part, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(p), 32)
			if err != nil {
				return nil, err
			}
			out = append(out, float32(v))
		}
		return out, nil
	}
	bad := fmt.Errorf("--input-norm %q: want MEAN,STD (one channel) or m1,m2,m3/s1,s2,s3 (one value per channel)", s)
	if m, sd, ok := strings.Cut(s, "/"); ok {
		if mean, err = nums(m); err != nil {
			return nil, nil, bad
		}
		if std, err = nums(sd); err != nil || len(std) != len(mean) {
			return nil, nil, bad
		}
		return mean, std, nil
	}
	v, err := nums(s)
	if err != nil || len(v) != 2 {
		return nil, nil, bad
	}
	return v[:1], v[1:], nil
}

// checkInput refuses a model whose input shape is not the data's images.
func checkInput(model string, input []int, dataset string, d *mnist.Dataset) error {
	if !tensor.SameShape(input, d.Shape()) {
		return fmt.Errorf("%s takes input %s, the images of --dataset %s are %s", model, tensor.ShapeString(input), dataset, tensor.ShapeString(d.Shape()))
	}
	return nil
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
	net, input, err := loadEvalModel(o.model, o.arch, o.inputNorm, "eval")
	if err != nil {
		return nil, err
	}
	test, err := e.loadTestData()
	if err != nil {
		return nil, err
	}
	test = test.Subset(o.limit)
	if err := checkInput(o.model, input, e.dataset, test); err != nil {
		return nil, err
	}
	ev, err := train.Evaluate(ctx, net, test, o.batch)
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
