package data

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/snnkit/snnkit/data/mnist"
	"github.com/snnkit/snnkit/safetensors"
)

// MaxValues bounds the image values of one set read from any format (1 GiB
// of bytes, 4 GiB of floats).
const MaxValues = 1 << 30

// CIFAR-10's binary version: records of one label byte and 3×32×32 pixel
// bytes (the red, green and blue planes), 10,000 per file.
const (
	cifarSide   = 32
	cifarRecord = 1 + 3*cifarSide*cifarSide
)

// CIFARTrain and CIFARTest name the files of CIFAR-10's binary version.
var (
	CIFARTrain = []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}
	CIFARTest  = []string{"test_batch.bin"}
)

// ReadCIFAR reads CIFAR-10 binary files into one set, checking every
// file's size against the record size before reading it.
func ReadCIFAR(paths []string) (*mnist.Dataset, error) {
	d := &mnist.Dataset{Rows: cifarSide, Cols: cifarSide, Channels: 3}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if st.Size()%cifarRecord != 0 || st.Size() == 0 {
			return nil, fmt.Errorf("%s: %d bytes is not a whole number of %d-byte CIFAR-10 records", p, st.Size(), cifarRecord)
		}
		n := int(st.Size() / cifarRecord)
		if (d.N+n)*(cifarRecord-1) > MaxValues {
			return nil, fmt.Errorf("%s: more than %d values", p, MaxValues)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if len(b) != n*cifarRecord {
			return nil, fmt.Errorf("%s: changed while read", p)
		}
		for r := 0; r < n; r++ {
			rec := b[r*cifarRecord : (r+1)*cifarRecord]
			if rec[0] > 9 {
				return nil, fmt.Errorf("%s: record %d has label %d, not 0-9", p, r, rec[0])
			}
			d.Labels = append(d.Labels, rec[0])
			d.Pixels = append(d.Pixels, rec[1:]...)
		}
		d.N += n
	}
	return d, nil
}

// npyArray is one array of a .npy file.
type npyArray struct {
	dtype string // '|u1', '<f4', '<i8', '<i4'
	shape []int
	data  []byte
}

var npyHeader = regexp.MustCompile(`^\{'descr': '([<|>]?[a-z][0-9]+)', 'fortran_order': (True|False), 'shape': \(([0-9, ]*)\), \}`)

// readNpy reads a .npy stream of at most limit bytes: the magic, the header
// dictionary (as NumPy writes it), and exactly the data the shape
// describes, checked against limit before it is read.
func readNpy(r io.Reader, limit int64, name string) (*npyArray, error) {
	var head [10]byte
	if _, err := io.ReadFull(r, head[:8]); err != nil {
		return nil, fmt.Errorf("%s: %w", name, noEOF(err))
	}
	if string(head[:6]) != "\x93NUMPY" {
		return nil, fmt.Errorf("%s: not a .npy array (bad magic)", name)
	}
	var hlen int
	switch head[6] {
	case 1:
		if _, err := io.ReadFull(r, head[8:10]); err != nil {
			return nil, fmt.Errorf("%s: %w", name, noEOF(err))
		}
		hlen = int(binary.LittleEndian.Uint16(head[8:10]))
	case 2, 3:
		var l [4]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return nil, fmt.Errorf("%s: %w", name, noEOF(err))
		}
		hlen = int(binary.LittleEndian.Uint32(l[:]))
	default:
		return nil, fmt.Errorf("%s: .npy version %d not supported", name, head[6])
	}
	if hlen > 1<<16 || int64(hlen) > limit {
		return nil, fmt.Errorf("%s: header of %d bytes", name, hlen)
	}
	h := make([]byte, hlen)
	if _, err := io.ReadFull(r, h); err != nil {
		return nil, fmt.Errorf("%s: header: %w", name, noEOF(err))
	}
	m := npyHeader.FindSubmatch(bytes.TrimSpace(h))
	if m == nil {
		return nil, fmt.Errorf("%s: header %q not understood", name, bytes.TrimSpace(h))
	}
	if string(m[2]) == "True" {
		return nil, fmt.Errorf("%s: Fortran-ordered arrays are not supported (save with np.ascontiguousarray)", name)
	}
	a := &npyArray{dtype: string(m[1])}
	size := map[string]int{"|u1": 1, "u1": 1, "<f4": 4, "<i8": 8, "<i4": 4}[a.dtype]
	if size == 0 {
		return nil, fmt.Errorf("%s: dtype %s not supported (uint8, float32, int32, int64)", name, a.dtype)
	}
	n := 1
	for _, f := range strings.Split(string(m[3]), ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		d, err := strconv.Atoi(f)
		if err != nil || d < 0 || d > MaxValues || (d > 0 && n > MaxValues/d) {
			return nil, fmt.Errorf("%s: shape (%s) too large", name, m[3])
		}
		a.shape = append(a.shape, d)
		n *= d
	}
	if int64(n*size) > limit {
		return nil, fmt.Errorf("%s: shape %v of %s needs %d bytes, the file holds at most %d", name, a.shape, a.dtype, n*size, limit)
	}
	// Read what arrives rather than allocate what the header claims: a
	// compressed member can declare sizes its stream does not hold.
	data, err := io.ReadAll(io.LimitReader(r, int64(n*size)))
	if err != nil {
		return nil, fmt.Errorf("%s: data: %w", name, noEOF(err))
	}
	if len(data) != n*size {
		return nil, fmt.Errorf("%s: data: %d of the %d bytes shape %v of %s needs", name, len(data), n*size, a.shape, a.dtype)
	}
	a.data = data
	return a, nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// arrays is a named set of arrays read from a file: images and labels.
type arrays map[string]*npyArray

// ReadNPZ reads a NumPy .npz file holding train_images, train_labels,
// test_images and test_labels (only the test ones when test is set).
func ReadNPZ(path string, test bool) (train, testSet *mnist.Dataset, err error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	defer zr.Close()
	arrs := arrays{}
	for _, f := range zr.File {
		key := strings.TrimSuffix(f.Name, ".npy")
		known := key == "train_images" || key == "train_labels" || key == "test_images" || key == "test_labels"
		if !strings.HasSuffix(f.Name, ".npy") || !known || (test && !strings.HasPrefix(key, "test_")) {
			continue // only the four arrays are read: others cost no memory
		}
		if arrs[key] != nil {
			return nil, nil, fmt.Errorf("%s: %s twice", path, f.Name)
		}
		if f.UncompressedSize64 > 8*MaxValues {
			return nil, nil, fmt.Errorf("%s: %s declares %d bytes", path, f.Name, f.UncompressedSize64)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %s: %w", path, f.Name, err)
		}
		// The zip's declared size bounds what decompression may produce.
		a, err := readNpy(io.LimitReader(rc, int64(f.UncompressedSize64)), int64(f.UncompressedSize64), path+": "+f.Name)
		rc.Close()
		if err != nil {
			return nil, nil, err
		}
		arrs[key] = a
	}
	return arrs.sets(path, test)
}

// ReadSafetensorsSet reads a safetensors file holding train_images,
// train_labels, test_images and test_labels.
func ReadSafetensorsSet(path string, test bool) (train, testSet *mnist.Dataset, err error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	arrs := arrays{}
	for _, t := range f.Tensors {
		dt := map[safetensors.DType]string{safetensors.U8: "|u1", safetensors.F32: "<f4", safetensors.I64: "<i8", safetensors.I32: "<i4"}[t.DType]
		if dt == "" {
			continue
		}
		arrs[t.Name] = &npyArray{dtype: dt, shape: t.Shape, data: t.Data}
	}
	return arrs.sets(path, test)
}

func (a arrays) sets(path string, test bool) (train, testSet *mnist.Dataset, err error) {
	if testSet, err = a.set(path, "test"); err != nil {
		return nil, nil, err
	}
	if !test {
		if train, err = a.set(path, "train"); err != nil {
			return nil, nil, err
		}
	}
	return train, testSet, nil
}

// set builds the images and labels called <which>_images and _labels.
func (a arrays) set(path, which string) (*mnist.Dataset, error) {
	im, lb := a[which+"_images"], a[which+"_labels"]
	if im == nil || lb == nil {
		return nil, fmt.Errorf("%s: no %s_images and %s_labels arrays", path, which, which)
	}
	d := &mnist.Dataset{}
	switch len(im.shape) {
	case 3:
		d.N, d.Channels, d.Rows, d.Cols = im.shape[0], 1, im.shape[1], im.shape[2]
	case 4:
		d.N, d.Channels, d.Rows, d.Cols = im.shape[0], im.shape[1], im.shape[2], im.shape[3]
	default:
		return nil, fmt.Errorf("%s: %s_images has shape %v, want N×H×W or N×C×H×W", path, which, im.shape)
	}
	if d.N == 0 || d.Rows == 0 || d.Cols == 0 || d.Channels == 0 {
		return nil, fmt.Errorf("%s: %s_images of shape %v is empty", path, which, im.shape)
	}
	if len(lb.shape) != 1 || lb.shape[0] != d.N {
		return nil, fmt.Errorf("%s: %s_labels has shape %v for %d images", path, which, lb.shape, d.N)
	}
	switch im.dtype {
	case "|u1", "u1":
		d.Pixels = im.data
	case "<f4":
		d.Float = make([]float32, len(im.data)/4)
		for i := range d.Float {
			v := math.Float32frombits(binary.LittleEndian.Uint32(im.data[4*i:]))
			if !(v >= 0 && v <= 1) {
				return nil, fmt.Errorf("%s: %s_images value %d is %v, want intensities in [0, 1]", path, which, i, v)
			}
			d.Float[i] = v
		}
	default:
		return nil, fmt.Errorf("%s: %s_images has dtype %s, want uint8 or float32", path, which, im.dtype)
	}
	d.Labels = make([]uint8, d.N)
	for i := range d.Labels {
		var v int64
		switch lb.dtype {
		case "|u1", "u1":
			v = int64(lb.data[i])
		case "<i8":
			v = int64(binary.LittleEndian.Uint64(lb.data[8*i:]))
		case "<i4":
			v = int64(int32(binary.LittleEndian.Uint32(lb.data[4*i:])))
		default:
			return nil, fmt.Errorf("%s: %s_labels has dtype %s, want an integer type", path, which, lb.dtype)
		}
		if v < 0 || v > 255 {
			return nil, fmt.Errorf("%s: %s_labels value %d is %d, want a class 0-255", path, which, i, v)
		}
		d.Labels[i] = uint8(v)
	}
	return d, nil
}

// kind says which format the data set spec names.
func kind(spec string) (string, error) {
	st, err := os.Stat(spec)
	if err != nil {
		return "", err
	}
	if st.IsDir() {
		if _, err := os.Stat(filepath.Join(spec, mnist.TestImages)); err == nil {
			return "idx", nil
		}
		if _, err := os.Stat(filepath.Join(spec, CIFARTest[0])); err == nil {
			return "cifar", nil
		}
		return "idx", nil // Locate's error names the files
	}
	switch strings.ToLower(filepath.Ext(spec)) {
	case ".npz":
		return "npz", nil
	case ".safetensors":
		return "safetensors", nil
	}
	return "", fmt.Errorf("--dataset %s: want a folder (IDX or CIFAR-10 binary files), a .npz or a .safetensors file", spec)
}
