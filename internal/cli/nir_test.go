package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snnkit/snnkit/safetensors"
)

// nirFixture finds a NIR fixture and its sinabs spikes: in ../shared, or
// trimmed in nir/testdata.
func nirFixture(t *testing.T, name string) (model, expected string) {
	t.Helper()
	for _, dir := range []string{"../../../shared/interop/nir", "../../nir/testdata"} {
		m, e := filepath.Join(dir, name+".nir"), filepath.Join(dir, name+".expected.safetensors")
		if _, err := os.Stat(m); err == nil {
			return m, e
		}
	}
	t.Skipf("%s.nir is in neither ../shared/interop/nir nor nir/testdata", name)
	return "", ""
}

// TestSimulateNIR is the command on every fixture with sinabs'
// spikes: simulate -m X.nir --input X.expected.safetensors:input writes one
// tensor per spiking node, named by the NIR node, equal to sinabs'.
func TestSimulateNIR(t *testing.T) {
	for _, name := range []string{"tutorial_sinabs", "cnn_sinabs_dyadic", "cnn_sinabs", "lif_norse"} {
		t.Run(name, func(t *testing.T) {
			model, expected := nirFixture(t, name)
			if _, err := os.Stat(expected); err != nil {
				t.Skipf("no sinabs spikes for %s", name)
			}
			out := filepath.Join(t.TempDir(), "out.safetensors")
			if _, errs, code := run("simulate", "-m", model, "--input", expected+":input", "-o", out, "--dtype", "u8", "-q"); code != 0 {
				t.Fatalf("simulate exit %d: %s", code, errs)
			}
			want, err := safetensors.ReadFile(expected)
			if err != nil {
				t.Fatal(err)
			}
			got, err := safetensors.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			nodes := 0
			for _, n := range want.Names() {
				if n == "input" {
					continue
				}
				nodes++
				w, _ := want.Get(n)
				g, ok := got.Get(n)
				if !ok {
					t.Fatalf("no output named %s (the outputs: %v)", n, got.Names())
				}
				if !bytes.Equal(g.Data, w.Data) || g.DType != w.DType {
					diff := 0
					for i := range w.Data {
						if i >= len(g.Data) || g.Data[i] != w.Data[i] {
							diff++
						}
					}
					t.Errorf("node %s: %d of %d values differ from sinabs' (%s %v, sinabs %s %v)", n, diff, len(w.Data), g.DType, g.Shape, w.DType, w.Shape)
				}
			}
			if nodes == 0 {
				t.Fatal("no spiking node to compare")
			}
		})
	}
}

// TestInspectNIR prints a simulatable NIR graph with its dynamics, and a
// graph that cannot be simulated with a warning that says why.
func TestInspectNIR(t *testing.T) {
	model, _ := nirFixture(t, "lif_norse")
	out, errs, code := run("inspect", "-m", model, "--json")
	if code != 0 {
		t.Fatalf("inspect exit %d: %s", code, errs)
	}
	var rep InspectReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Kind != "nir" || rep.NIR == nil || len(rep.NIR.Nodes) != 4 || len(rep.NIR.Edges) != 3 || !strings.Contains(rep.Dynamics, "LIF → LIF") || len(rep.Nodes) != 2 {
		t.Errorf("inspect: %+v", rep)
	}
	_, lifInput := nirFixture(t, "lif_norse")
	model, _ = nirFixture(t, "lif_rockpool")
	out, errs, code = run("inspect", "-m", model)
	if code != 0 || !strings.Contains(out, "warning: ") || !strings.Contains(out, "node output (Output) has shape [1 1 1], but 1_LIFNeuronTorch") {
		t.Errorf("inspect lif_rockpool: exit %d\n%s%s", code, out, errs)
	}
	if _, errs, code := run("simulate", "-m", model, "--input", lifInput+":input", "-o", filepath.Join(t.TempDir(), "o.safetensors")); code == 0 || !strings.Contains(errs, "lif_rockpool.nir") {
		t.Errorf("simulate lif_rockpool: exit %d: %s", code, errs)
	}
	if _, errs, code := run("run", "-m", model, "--normalize", "percentile:99"); code == 0 || !strings.Contains(errs, "NIR spiking network") {
		t.Errorf("run with a conversion flag: exit %d: %s", code, errs)
	}
	lif, _ := nirFixture(t, "lif_norse")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"inspect", "-m", lif, "--nir-dynamics", "nir"}, "--nir-dynamics nir needs --dt"},
		{[]string{"inspect", "-m", lif, "--nir-dynamics", "fast"}, `dynamics "fast": want sinabs or nir`},
		{[]string{"inspect", "-m", lif, "--dt", "0.1"}, "--dt: applies to --nir-dynamics nir"},
		{[]string{"inspect", "-m", lif, "--nir-dynamics", "nir", "--dt", "-1"}, "--dt, a time step > 0"},
		{[]string{"run", "-m", "ann.safetensors", "--dt", "0.1"}, "--dt: applies to NIR models"},
	} {
		if _, errs, code := run(tc.args...); code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d: %s, want %q", tc.args, code, errs, tc.want)
		}
	}
	out, errs, code = run("inspect", "-m", lif, "--nir-dynamics", "nir", "--dt", "1e-4")
	if code != 0 || !strings.Contains(out, "simulated with --nir-dynamics nir: NIR's equations stepped by dt = 0.0001") {
		t.Errorf("inspect --nir-dynamics nir: exit %d\n%s%s", code, out, errs)
	}
}
