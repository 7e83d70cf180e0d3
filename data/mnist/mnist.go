package mnist

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"

	"github.com/snnkit/snnkit/tensor"
)

// File names of the four MNIST files, as in the GoMNIST module and on
// LeCun's page.
const (
	TrainImages = "train-images-idx3-ubyte.gz"
	TrainLabels = "train-labels-idx1-ubyte.gz"
	TestImages  = "t10k-images-idx3-ubyte.gz"
	TestLabels  = "t10k-labels-idx1-ubyte.gz"
)

// Dataset is a set of images with labels. Pixels holds the
// N×Channels×Rows×Cols bytes of the file (channel-major), handed out as
// intensities in [0, 1] (byte/255, as torchvision's ToTensor); or, for data
// stored as floats, Float holds the intensities themselves and Pixels is
// nil. Channels 0 means 1 (MNIST's IDX files).
type Dataset struct {
	N, Rows, Cols int
	Channels      int
	Pixels        []byte
	Float         []float32
	Labels        []uint8
}

// C returns the number of channels (at least 1).
func (d *Dataset) C() int { return max(d.Channels, 1) }

// Shape returns the sample shape [C, Rows, Cols].
func (d *Dataset) Shape() []int { return []int{d.C(), d.Rows, d.Cols} }

// checkDims checks that images [N, rows, cols] and labels [N] agree.
func checkDims(images, labels []int) error {
	if len(images) != 3 {
		return fmt.Errorf("images have dimensions %v, want [N, rows, cols]", images)
	}
	if len(labels) != 1 {
		return fmt.Errorf("labels have dimensions %v, want [N]", labels)
	}
	if labels[0] != images[0] {
		return fmt.Errorf("%d images but %d labels", images[0], labels[0])
	}
	if images[0] == 0 || images[1] == 0 || images[2] == 0 {
		return fmt.Errorf("empty image set %v", images)
	}
	return nil
}

// FromIDX checks that images [N, rows, cols] and labels [N] agree and
// builds a Dataset.
func FromIDX(images, labels *IDX) (*Dataset, error) {
	if err := checkDims(images.Dims, labels.Dims); err != nil {
		return nil, err
	}
	d := &Dataset{N: images.Dims[0], Rows: images.Dims[1], Cols: images.Dims[2], Pixels: images.Data, Labels: labels.Data}
	for i, l := range labels.Data {
		if l > 9 {
			return nil, fmt.Errorf("label %d of sample %d is not a digit", l, i)
		}
	}
	return d, nil
}

// LoadSet reads one images file and one labels file. Both headers are read
// and compared before any data, so a file that lies about its size is
// refused before it costs memory.
func LoadSet(imagesPath, labelsPath string) (*Dataset, error) {
	im, err := openIDX(imagesPath)
	if err != nil {
		return nil, err
	}
	defer im.f.Close()
	lb, err := openIDX(labelsPath)
	if err != nil {
		return nil, err
	}
	defer lb.f.Close()
	if err := checkDims(im.Dims, lb.Dims); err != nil {
		return nil, fmt.Errorf("%s and %s: %w", imagesPath, labelsPath, err)
	}
	labels, err := lb.read()
	if err != nil {
		return nil, err
	}
	images, err := im.read()
	if err != nil {
		return nil, err
	}
	d, err := FromIDX(images, labels)
	if err != nil {
		return nil, fmt.Errorf("%s and %s: %w", imagesPath, labelsPath, err)
	}
	return d, nil
}

// Load reads the training and test sets from dir.
func Load(dir string) (train, test *Dataset, err error) {
	if train, err = LoadSet(filepath.Join(dir, TrainImages), filepath.Join(dir, TrainLabels)); err != nil {
		return nil, nil, fmt.Errorf("mnist training set: %w", err)
	}
	if test, err = LoadSet(filepath.Join(dir, TestImages), filepath.Join(dir, TestLabels)); err != nil {
		return nil, nil, fmt.Errorf("mnist test set: %w", err)
	}
	return train, test, nil
}

// LoadTest reads only the test set from dir.
func LoadTest(dir string) (*Dataset, error) {
	d, err := LoadSet(filepath.Join(dir, TestImages), filepath.Join(dir, TestLabels))
	if err != nil {
		return nil, fmt.Errorf("mnist test set: %w", err)
	}
	return d, nil
}

// Subset returns the first n samples (all when n <= 0 or n >= N), sharing memory.
func (d *Dataset) Subset(n int) *Dataset {
	if n <= 0 || n >= d.N {
		return d
	}
	px := d.C() * d.Rows * d.Cols
	s := *d
	s.N, s.Labels = n, d.Labels[:n]
	if d.Float != nil {
		s.Float = d.Float[:n*px]
	} else {
		s.Pixels = d.Pixels[:n*px]
	}
	return &s
}

// Image returns the intensities in [0, 1] of sample i, in a new slice.
func (d *Dataset) Image(i int) []float32 {
	px := d.C() * d.Rows * d.Cols
	out := make([]float32, px)
	d.copyImage(out, i)
	return out
}

func (d *Dataset) copyImage(dst []float32, i int) {
	px := len(dst)
	if d.Float != nil {
		copy(dst, d.Float[i*px:(i+1)*px])
		return
	}
	toFloat(dst, d.Pixels[i*px:(i+1)*px])
}

// toFloat converts bytes to intensities: dst[i] = src[i]/255.
func toFloat(dst []float32, src []byte) {
	dst = dst[:len(src)]
	for i, b := range src {
		dst[i] = float32(b) / 255
	}
}

// Batch copies the samples idx into x, resized to [len(idx), C, Rows, Cols],
// and their labels into labels (resized).
func (d *Dataset) Batch(idx []int, x *tensor.Tensor, labels []int) []int {
	px := d.C() * d.Rows * d.Cols
	x.Resize(len(idx), d.C(), d.Rows, d.Cols)
	labels = labels[:0]
	for j, i := range idx {
		d.copyImage(x.Data[j*px:(j+1)*px], i)
		labels = append(labels, int(d.Labels[i]))
	}
	return labels
}

// Shuffle returns a permutation of [0, N) drawn from rng.
func (d *Dataset) Shuffle(rng *rand.Rand) []int { return rng.Perm(d.N) }

// Len returns the number of samples.
func (d *Dataset) Len() int { return d.N }

// Label returns the class of sample i.
func (d *Dataset) Label(i int) int { return int(d.Labels[i]) }
