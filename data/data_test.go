package data

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/snnkit/snnkit/data/mnist"
	"github.com/snnkit/snnkit/safetensors"
	"github.com/snnkit/snnkit/tensor"
)

// npy encodes an array as NumPy writes a version 1 .npy file.
func npy(dtype string, shape []int, data []byte) []byte {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	sh := strings.Join(dims, ", ")
	if len(shape) == 1 {
		sh += ","
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", dtype, sh)
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	_ = binary.Write(&b, binary.LittleEndian, uint16(len(h)))
	b.WriteString(h)
	b.Write(data)
	return b.Bytes()
}

func writeNPZ(t *testing.T, path string, arrays map[string][]byte) {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, a := range arrays {
		w, err := zw.Create(name + ".npy")
		if err != nil {
			t.Fatal(err)
		}
		w.Write(a)
	}
	zw.Close()
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func f32bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// TestFormats reads a small set in every format and checks shapes, values
// and labels through Batch.
func TestFormats(t *testing.T) {
	dir := t.TempDir()
	// CIFAR-10: 2 test records, 1 training record per batch file.
	cifar := filepath.Join(dir, "cifar")
	os.Mkdir(cifar, 0o755)
	rec := func(label byte, v byte) []byte {
		r := make([]byte, cifarRecord)
		r[0] = label
		for i := 1; i < len(r); i++ {
			r[i] = v
		}
		r[1+1024] = 255 // first pixel of the green plane
		return r
	}
	os.WriteFile(filepath.Join(cifar, "test_batch.bin"), append(rec(3, 51), rec(7, 102)...), 0o644)
	for _, n := range CIFARTrain {
		os.WriteFile(filepath.Join(cifar, n), rec(1, 0), 0o644)
	}
	// npz: uint8 N×H×W with int64 labels; safetensors: float32 N×C×H×W.
	npz := filepath.Join(dir, "set.npz")
	labels := make([]byte, 16)
	binary.LittleEndian.PutUint64(labels[0:], 4)
	binary.LittleEndian.PutUint64(labels[8:], 9)
	writeNPZ(t, npz, map[string][]byte{
		"test_images": npy("|u1", []int{2, 2, 3}, []byte{0, 255, 51, 1, 2, 3, 4, 5, 6, 7, 8, 9}), "test_labels": npy("<i8", []int{2}, labels),
		"train_images": npy("|u1", []int{1, 2, 3}, make([]byte, 6)), "train_labels": npy("|u1", []int{1}, []byte{2}),
	})
	st := filepath.Join(dir, "set.safetensors")
	if err := safetensors.WriteFile(st, []safetensors.Tensor{
		safetensors.F32Tensor("test_images", []int{1, 2, 1, 2}, []float32{0.5, 0.25, 1, 0}), safetensors.U8Tensor("test_labels", []int{1}, []byte{6}),
		safetensors.F32Tensor("train_images", []int{1, 2, 1, 2}, []float32{0, 0, 0, 0}), safetensors.U8Tensor("train_labels", []int{1}, []byte{0}),
	}, nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		spec  string
		shape string
		n     int
		first []float32 // the first values of test image 0
		label int
	}{
		{cifar, "[3, 32, 32]", 2, []float32{0.2, 0.2}, 3},
		{npz, "[1, 2, 3]", 2, []float32{0, 1, 0.2}, 4},
		{st, "[2, 1, 2]", 1, []float32{0.5, 0.25, 1}, 6},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.spec), func(t *testing.T) {
			train, test, err := Load(c.spec, "")
			if err != nil {
				t.Fatal(err)
			}
			if tensor.ShapeString(test.Shape()) != c.shape || test.N != c.n || train.N < 1 {
				t.Fatalf("test set %v × %d, train %d", test.Shape(), test.N, train.N)
			}
			var x tensor.Tensor
			labels := test.Batch([]int{0}, &x, nil)
			for i, v := range c.first {
				if x.Data[i] != v {
					t.Fatalf("image 0 starts %v, want %v", x.Data[:len(c.first)], c.first)
				}
			}
			if labels[0] != c.label {
				t.Fatalf("label %d, want %d", labels[0], c.label)
			}
			if only, err := LoadTest(c.spec, ""); err != nil || only.N != c.n {
				t.Fatalf("LoadTest: %v", err)
			}
		})
	}
	if d, _ := LoadTest(cifar, ""); d.Image(0)[1024] != 1 {
		t.Error("CIFAR planes are not channel-major")
	}
}

// TestFormatErrors feeds broken files: each is refused with its name.
func TestFormatErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	cifar := filepath.Join(dir, "cifar")
	os.Mkdir(cifar, 0o755)
	os.WriteFile(filepath.Join(cifar, "test_batch.bin"), make([]byte, cifarRecord+5), 0o644)
	npzPath := func(name string, arrays map[string][]byte) string {
		p := filepath.Join(dir, name)
		writeNPZ(t, p, arrays)
		return p
	}
	ok := npy("|u1", []int{1}, []byte{1})
	cases := []struct {
		spec, want string
	}{
		{cifar, "not a whole number of 3073-byte CIFAR-10 records"},
		{npzPath("lying.npz", map[string][]byte{"test_images": npy("|u1", []int{1000, 28, 28}, []byte{1, 2}), "test_labels": ok}), "needs 784000 bytes"},
		{npzPath("count.npz", map[string][]byte{"test_images": npy("|u1", []int{2, 1, 1}, []byte{1, 2}), "test_labels": ok}), "test_labels has shape [1] for 2 images"},
		{npzPath("dtype.npz", map[string][]byte{"test_images": npy("<c8", []int{1, 1, 1}, make([]byte, 8)), "test_labels": ok}), "dtype <c8 not supported"},
		{npzPath("range.npz", map[string][]byte{"test_images": npy("<f4", []int{1, 1, 1}, f32bytes(1.5)), "test_labels": ok}), "want intensities in [0, 1]"},
		{npzPath("missing.npz", map[string][]byte{"train_images": ok}), "no test_images and test_labels"},
		{npzPath("huge.npz", map[string][]byte{"test_images": npy("|u1", []int{1 << 20, 1 << 20, 1 << 20}, nil), "test_labels": ok}), "too large"},
		{write("garbage.npz", []byte("not a zip")), "garbage.npz"},
		{write("x.txt", []byte("?")), "want a folder"},
		{filepath.Join(dir, "nowhere"), "not a known data set"},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.spec), func(t *testing.T) {
			_, err := LoadTest(c.spec, "")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

func FuzzReadNpy(f *testing.F) {
	f.Add(npy("|u1", []int{2, 3}, []byte{1, 2, 3, 4, 5, 6}))
	f.Add(npy("<f4", []int{1}, f32bytes(0.5)))
	f.Add(npy("<i8", []int{0}, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := readNpy(bytes.NewReader(b), int64(len(b)), "fuzz")
		if err != nil {
			return
		}
		n := 1
		for _, d := range a.shape {
			n *= d
		}
		if len(a.data) > len(b) || len(a.data) != n*map[string]int{"|u1": 1, "u1": 1, "<f4": 4, "<i8": 8, "<i4": 4}[a.dtype] {
			t.Fatalf("%d data bytes for shape %v of %s from %d input bytes", len(a.data), a.shape, a.dtype, len(b))
		}
	})
}

// npzBytes is writeNPZ into memory.
func npzBytes(arrays map[string][]byte) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, a := range arrays {
		w, _ := zw.Create(name + ".npy")
		w.Write(a)
	}
	zw.Close()
	return b.Bytes()
}

// checkSet fails when a data set read without error is inconsistent, or
// holds more pixels than input bytes (input < 0: no such bound).
func checkSet(t *testing.T, d *mnist.Dataset, input int) {
	t.Helper()
	if d == nil {
		return
	}
	n := d.N * d.Channels * d.Rows * d.Cols
	if d.N < 1 || len(d.Labels) != d.N || (len(d.Pixels) != n && len(d.Float) != n) {
		t.Fatalf("set of %d × %v: %d labels, %d pixels, %d floats", d.N, d.Shape(), len(d.Labels), len(d.Pixels), len(d.Float))
	}
	if input >= 0 && n > input && len(d.Float) != n {
		t.Fatalf("%d pixels from %d input bytes", n, input)
	}
	var x tensor.Tensor
	d.Batch([]int{0, d.N - 1}, &x, nil)
}

// fuzzFile writes b to a file of its own for the readers that open paths.
func fuzzFile(t *testing.T, name string, b []byte) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func FuzzReadNPZ(f *testing.F) {
	labels := make([]byte, 16)
	binary.LittleEndian.PutUint64(labels[8:], 9)
	f.Add(npzBytes(map[string][]byte{
		"test_images": npy("|u1", []int{2, 2, 3}, make([]byte, 12)), "test_labels": npy("<i8", []int{2}, labels),
		"train_images": npy("<f4", []int{1, 1, 1, 1}, f32bytes(0.5)), "train_labels": npy("|u1", []int{1}, []byte{2}),
	}))
	f.Add(npzBytes(map[string][]byte{"test_images": npy("|u1", []int{1, 1, 1}, []byte{7}), "test_labels": npy("<i4", []int{1}, make([]byte, 4))}))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := fuzzFile(t, "f.npz", b)
		for _, test := range []bool{false, true} {
			train, testSet, err := ReadNPZ(p, test)
			if err == nil { // members may be compressed: no bound by the file size
				checkSet(t, train, -1)
				checkSet(t, testSet, -1)
			}
		}
	})
}

func FuzzReadSafetensorsSet(f *testing.F) {
	dir := f.TempDir()
	for i, ts := range [][]safetensors.Tensor{
		{safetensors.F32Tensor("test_images", []int{1, 2, 1, 2}, []float32{0.5, 0.25, 1, 0}), safetensors.U8Tensor("test_labels", []int{1}, []byte{6}),
			safetensors.U8Tensor("train_images", []int{1, 2, 2}, []byte{1, 2, 3, 4}), safetensors.U8Tensor("train_labels", []int{1}, []byte{0})},
		{safetensors.U8Tensor("test_images", []int{1, 1, 1}, []byte{1}), safetensors.U8Tensor("test_labels", []int{1}, []byte{300 % 256})},
	} {
		p := filepath.Join(dir, fmt.Sprint(i))
		if err := safetensors.WriteFile(p, ts, nil); err != nil {
			f.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p := fuzzFile(t, "f.safetensors", b)
		for _, test := range []bool{false, true} {
			train, testSet, err := ReadSafetensorsSet(p, test)
			if err == nil {
				checkSet(t, train, len(b))
				checkSet(t, testSet, len(b))
			}
		}
	})
}

func FuzzReadCIFAR(f *testing.F) {
	rec := make([]byte, cifarRecord)
	rec[0] = 3
	f.Add(rec)
	f.Add(append(append([]byte(nil), rec...), rec...))
	f.Add(rec[:100])
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ReadCIFAR([]string{fuzzFile(t, "test_batch.bin", b)})
		if err == nil {
			checkSet(t, d, len(b))
		}
	})
}

// TestNpyLyingShapeAllocatesLittle: a header that claims 256 MiB of data
// within a generous limit (a compressed member's declared size) but is
// followed by a few bytes is refused without allocating the claim.
func TestNpyLyingShapeAllocatesLittle(t *testing.T) {
	b := npy("|u1", []int{1 << 14, 1 << 14}, []byte{1, 2, 3})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := readNpy(bytes.NewReader(b), 1<<30, "lying")
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "3 of the 268435456 bytes") {
		t.Fatalf("error %v", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Fatalf("allocated %d bytes for a 3-byte payload", grew)
	}
}
