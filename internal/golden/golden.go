// Package golden locates sinabs' reference vectors for tests: the full set
// in ../shared/golden (beside the repository, T=64), when present, and the
// trimmed subset committed in testdata/golden (T=16, both images, all four
// cases, every spiking layer), which a fresh clone always checks.
package golden

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/snnkit/snnkit/safetensors"
)

// Set is one copy of the reference vectors.
type Set struct {
	Name        string // how test names and messages call it
	Path        string // the safetensors file
	NeuronCases string // neuron_cases.json
	optional    bool   // skipped, with a message, when absent
}

// Root returns the repository root (the folder holding go.mod).
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Sets returns the trimmed set in testdata, always checked, and the full set
// in ../shared/golden.
func Sets() []Set {
	root := Root()
	return []Set{
		{Name: "testdata", Path: filepath.Join(root, "testdata", "golden", "tutorial_iaf_t16.safetensors"), NeuronCases: filepath.Join(root, "testdata", "golden", "neuron_cases.json")},
		{Name: "shared", Path: filepath.Join(root, "..", "shared", "golden", "tutorial_iaf.safetensors"), NeuronCases: filepath.Join(root, "..", "shared", "golden", "neuron_cases.json"), optional: true},
	}
}

// Open reads the set's safetensors file. A missing optional set skips the
// test with a SKIP line naming the folder; a missing trimmed set fails it.
func (s Set) Open(tb testing.TB) *safetensors.File {
	tb.Helper()
	f, err := safetensors.ReadFile(s.Path)
	if err != nil {
		s.missing(tb, err)
	}
	return f
}

// ReadNeuronCases reads the set's neuron_cases.json, as Open.
func (s Set) ReadNeuronCases(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile(s.NeuronCases)
	if err != nil {
		s.missing(tb, err)
	}
	return b
}

func (s Set) missing(tb testing.TB, err error) {
	tb.Helper()
	if s.optional {
		tb.Skipf("SKIP: full golden set not checked, %s is missing (%v); the trimmed set in testdata/golden was checked", filepath.Dir(s.Path), err)
	}
	tb.Fatalf("golden set %s: %v", s.Name, err)
}
