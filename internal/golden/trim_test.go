package golden

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/snnkit/snnkit/safetensors"
)

// TrimSteps is the number of time steps kept in the trimmed set. The
// reference runs start from zero state, so the first steps of the T=64
// outputs are exactly the outputs of a T=16 run.
const TrimSteps = 16

// TestTrim regenerates testdata/golden from ../shared/golden when
// SNNKIT_GOLDEN_TRIM=1: weights as they are, and the first TrimSteps steps
// of the input and of every case's outputs.
func TestTrim(t *testing.T) {
	if os.Getenv("SNNKIT_GOLDEN_TRIM") != "1" {
		t.Skip("set SNNKIT_GOLDEN_TRIM=1 to regenerate testdata/golden from ../shared/golden")
	}
	sets := Sets()
	full, trimmed := sets[1], sets[0]
	f := full.Open(t)
	var out []safetensors.Tensor
	for _, tn := range f.Tensors {
		if len(tn.Shape) < 2 || tn.DType != safetensors.U8 {
			out = append(out, tn) // weights
			continue
		}
		b, steps := tn.Shape[0], tn.Shape[1]
		frame := tn.Numel() / (b * steps)
		shape := append([]int{b, TrimSteps}, tn.Shape[2:]...)
		data := make([]byte, 0, b*TrimSteps*frame)
		for i := 0; i < b; i++ {
			data = append(data, tn.Data[i*steps*frame:(i*steps+TrimSteps)*frame]...)
		}
		out = append(out, safetensors.U8Tensor(tn.Name, shape, data))
	}
	meta := map[string]string{}
	for k, v := range f.Metadata {
		meta[k] = v
	}
	meta["T"] = strconv.Itoa(TrimSteps)
	meta["trimmed_from"] = "../shared/golden/tutorial_iaf.safetensors (T=" + f.Metadata["T"] + "), first " + strconv.Itoa(TrimSteps) + " steps"
	if err := safetensors.WriteFile(trimmed.Path, out, meta); err != nil {
		t.Fatal(err)
	}
	cases, err := os.ReadFile(full.NeuronCases)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(trimmed.Path), "neuron_cases.json"), cases, 0o644); err != nil {
		t.Fatal(err)
	}
}
