package mnist

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func idxBytes(dtype byte, dims []uint32, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, dtype, byte(len(dims))})
	for _, d := range dims {
		_ = binary.Write(&b, binary.BigEndian, d)
	}
	b.Write(data)
	return b.Bytes()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	_, _ = w.Write(b)
	_ = w.Close()
	return out.Bytes()
}

func TestReadIDX(t *testing.T) {
	good := idxBytes(8, []uint32{2, 2, 3}, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	cases := []struct {
		name    string
		in      []byte
		wantErr string
	}{
		{"raw", good, ""},
		{"gzip", gz(good), ""},
		{"empty", nil, "reading magic"},
		{"bad magic", append([]byte{1, 2}, good[2:]...), "bad magic"},
		{"float dtype", idxBytes(0x0d, []uint32{1}, []byte{0, 0, 0, 0}), "not supported"},
		{"zero dims", []byte{0, 0, 8, 0}, "dimensions"},
		{"truncated header", good[:9], "dimension 1"},
		{"truncated data", good[:len(good)-1], "truncated"},
		{"trailing data", append(append([]byte{}, good...), 99), "longer"},
		{"absurd header", idxBytes(8, []uint32{0xffffffff, 0xffffffff, 0xffffffff}, []byte{1}), "limit"},
		{"lying header", idxBytes(8, []uint32{60000, 28, 28}, []byte{1, 2, 3}), "truncated"},
		{"truncated gzip", gz(good)[:20], "unexpected EOF"},
		{"gzip trailing junk", append(gz(good), 'j', 'u', 'n', 'k'), "trailing bytes after the gzip stream"},
		{"gzip data longer", gz(append(append([]byte{}, good...), 1)), "longer"},
		{"gzip lying header", gz(idxBytes(8, []uint32{60000, 28, 28}, []byte{1, 2, 3})), "truncated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			idx, err := ReadIDX(bytes.NewReader(c.in))
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(idx.Dims) != 3 || idx.Dims[2] != 3 || idx.Data[11] != 12 {
					t.Fatalf("got %v %v", idx.Dims, idx.Data)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, c.wantErr)
			}
		})
	}
}

// TestLoadSetHeadersFirst checks that the image and label headers are
// compared before any data is read: a small gzip file whose header declares
// 10^9 pixels (a bomb) is refused on the count mismatch, and an uncompressed
// file whose size disagrees with its header is refused from its size.
func TestLoadSetHeadersFirst(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	labels := write("labels", idxBytes(8, []uint32{10}, make([]byte, 10)))
	cases := []struct {
		name, images, want string
	}{
		{"bomb", write("bomb.gz", gz(idxBytes(8, []uint32{1275510, 28, 28}, make([]byte, 1<<16)))), "1275510 images but 10 labels"},
		{"size lies", write("lies", idxBytes(8, []uint32{10, 28, 28}, make([]byte, 100))), "declares 7840 bytes of data, the file has 100"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadSet(c.images, labels)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.images) {
				t.Fatalf("error %v, want one naming %s and containing %q", err, c.images, c.want)
			}
		})
	}
}

func TestFromIDXMismatch(t *testing.T) {
	im := &IDX{Dims: []int{3, 2, 2}, Data: make([]byte, 12)}
	if _, err := FromIDX(im, &IDX{Dims: []int{2}, Data: []byte{1, 2}}); err == nil || !strings.Contains(err.Error(), "3 images but 2 labels") {
		t.Fatalf("count mismatch: %v", err)
	}
	if _, err := FromIDX(im, &IDX{Dims: []int{3}, Data: []byte{1, 2, 10}}); err == nil || !strings.Contains(err.Error(), "not a digit") {
		t.Fatalf("bad label: %v", err)
	}
	if _, err := FromIDX(&IDX{Dims: []int{12}, Data: make([]byte, 12)}, &IDX{Dims: []int{12}, Data: make([]byte, 12)}); err == nil {
		t.Fatal("1-D images accepted")
	}
	d, err := FromIDX(&IDX{Dims: []int{1, 1, 2}, Data: []byte{0, 255}}, &IDX{Dims: []int{1}, Data: []byte{7}})
	if err != nil || d.Image(0)[1] != 1 || d.Image(0)[0] != 0 || d.Labels[0] != 7 {
		t.Fatalf("got %+v, %v", d, err)
	}
}

func TestLoadSetNamesFile(t *testing.T) {
	dir := t.TempDir()
	im := filepath.Join(dir, "im")
	lb := filepath.Join(dir, "lb")
	_ = os.WriteFile(im, []byte("not an idx file"), 0o644)
	_ = os.WriteFile(lb, idxBytes(8, []uint32{1}, []byte{1}), 0o644)
	_, err := LoadSet(im, lb)
	if err == nil || !strings.Contains(err.Error(), im) {
		t.Fatalf("error %v does not name %s", err, im)
	}
}

func TestLocateExplicitMissing(t *testing.T) {
	_, err := Locate(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "--data") {
		t.Fatalf("error %v should name --data", err)
	}
}

// TestLocateTestSetOnly checks that a folder with only the t10k files
// serves the test set, and that loading the training set then names the
// missing file.
func TestLocateTestSetOnly(t *testing.T) {
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, TestImages), gz(idxBytes(8, []uint32{1, 2, 2}, []byte{1, 2, 3, 4})), 0o644)
	_ = os.WriteFile(filepath.Join(dir, TestLabels), gz(idxBytes(8, []uint32{1}, []byte{7})), 0o644)
	got, err := Locate(dir)
	if err != nil || got != dir {
		t.Fatalf("Locate: %q, %v", got, err)
	}
	if d, err := LoadTest(dir); err != nil || d.N != 1 || d.Label(0) != 7 {
		t.Fatalf("LoadTest: %v", err)
	}
	if _, _, err := Load(dir); err == nil || !strings.Contains(err.Error(), TrainImages) {
		t.Fatalf("Load: error %v should name %s", err, TrainImages)
	}
}

// TestPinnedVersion checks that ModuleVersion is the version go.mod requires.
func TestPinnedVersion(t *testing.T) {
	b, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Skip("go.mod not found:", err)
	}
	if !strings.Contains(string(b), Module+" "+ModuleVersion) {
		t.Fatalf("go.mod does not require %s %s", Module, ModuleVersion)
	}
}

// TestRealMNIST loads the real data from the module cache.
func TestRealMNIST(t *testing.T) {
	dir, err := Locate("")
	if err != nil {
		t.Skip("MNIST not available: ", err)
	}
	train, test, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if train.N != 60000 || test.N != 10000 || train.Rows != 28 || test.Cols != 28 {
		t.Fatalf("sizes %d %d %dx%d", train.N, test.N, train.Rows, test.Cols)
	}
	if test.Labels[0] != 7 || test.Labels[1] != 2 || train.Labels[0] != 5 {
		t.Fatalf("first labels: test %v train %v", test.Labels[:2], train.Labels[:1])
	}
}

func FuzzReadIDX(f *testing.F) {
	f.Add(idxBytes(8, []uint32{2, 2, 3}, make([]byte, 12)))
	f.Add(gz(idxBytes(8, []uint32{3}, []byte{1, 2, 3})))
	f.Add(idxBytes(8, []uint32{0xffffffff, 2}, nil))
	f.Add([]byte{0, 0, 8, 4, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		idx, err := ReadIDX(bytes.NewReader(b))
		if err != nil {
			return
		}
		n := 1
		for _, d := range idx.Dims {
			n *= d
		}
		if n != len(idx.Data) {
			t.Fatalf("dims %v but %d bytes", idx.Dims, len(idx.Data))
		}
	})
}
