package cli

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/snnkit/snnkit/arch"
	"github.com/snnkit/snnkit/internal/kernels"
	"github.com/snnkit/snnkit/perf"
)

type benchOptions struct {
	seconds float64
	json    bool
}

// BenchReport is what `snnkit bench --json` prints.
type BenchReport struct {
	CPUKernel string            `json:"kernel"`
	Threads   int               `json:"threads"`
	GEMM      []perf.GEMMResult `json:"gemm"`
	Training  perf.Throughput   `json:"training"`
	Inference perf.Throughput   `json:"inference"`
}

func newBenchCmd(e *env) *cobra.Command {
	o := &benchOptions{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure matrix-multiply GFLOPS and training and inference speed",
		Long: `Measure this machine: GEMM GFLOPS on the tutorial's im2col shapes (one
thread and all threads), then training and inference images per second of
the tutorial network on random data. Figures on shared machines move by
10-30% from run to run; compare ratios measured in one run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := runBench(cmd.Context(), e, o)
			return err
		},
	}
	cmd.AddCommand(newBenchSNNCmd(e))
	cmd.Flags().Float64Var(&o.seconds, "seconds", 1, "minimum time per measurement")
	cmd.Flags().BoolVar(&o.json, "json", false, "print one JSON object on stdout")
	return cmd
}

func runBench(ctx context.Context, e *env, o *benchOptions) (*BenchReport, error) {
	if !(o.seconds > 0) || o.seconds > 600 {
		return nil, fmt.Errorf("--seconds %v: want a duration in (0, 600]", o.seconds)
	}
	d := time.Duration(o.seconds * float64(time.Second))
	out := e.info(o.json)
	rep := &BenchReport{CPUKernel: kernels.Best().ISA.String(), Threads: runtime.GOMAXPROCS(0)}
	fmt.Fprintf(out, "kernel %s, %d threads\n", rep.CPUKernel, rep.Threads)
	fmt.Fprintf(out, "%-16s %14s %14s\n", "GEMM m×n×k", "GFLOPS 1 thr", "GFLOPS all")
	for _, s := range perf.TutorialShapes {
		r, err := perf.GEMM(ctx, s, d)
		if err != nil {
			return nil, err
		}
		rep.GEMM = append(rep.GEMM, r)
		fmt.Fprintf(out, "%-16s %14.1f %14.1f\n", r.Shape, r.GFLOPS1, r.GFLOPSAll)
	}
	spec, _ := arch.Lookup("tutorial")
	var err error
	if rep.Training, err = perf.Training(ctx, spec, 128, 3*d); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "training  (tutorial, batch 128): %8.0f images/s = %.1f s per 60k-image epoch\n", rep.Training.ImagesPerSecond, rep.Training.SecondsPer60k)
	if rep.Inference, err = perf.Inference(ctx, spec, 1000, 2*d); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "inference (tutorial, batch 1000): %7.0f images/s\n", rep.Inference.ImagesPerSecond)
	if o.json {
		return rep, e.writeJSON(rep)
	}
	return rep, nil
}
