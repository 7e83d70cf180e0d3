package safetensors

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func encode(t *testing.T, tensors []Tensor, meta map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, tensors, meta); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRoundTrip(t *testing.T) {
	in := []Tensor{
		F32Tensor("0.weight", []int{2, 3}, []float32{1, -2, 3.5, 0, 1e-7, -0}),
		U8Tensor("spikes", []int{4}, []byte{0, 1, 2, 255}),
		I64Tensor("1.num_batches_tracked", nil, []int64{42}),
		F32Tensor("empty", []int{0, 3}, nil),
	}
	meta := map[string]string{"snnkit.arch": `{"a": 1}`, "note": "ünïcode"}
	b := encode(t, in, meta)
	if n := binary.LittleEndian.Uint64(b); (8+n)%8 != 0 {
		t.Errorf("data does not start 8-byte aligned")
	}
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["note"] != "ünïcode" || f.Metadata["snnkit.arch"] != `{"a": 1}` {
		t.Errorf("metadata %v", f.Metadata)
	}
	for _, want := range in {
		got, ok := f.Get(want.Name)
		if !ok {
			t.Fatalf("%s missing", want.Name)
		}
		if got.DType != want.DType || ShapeString(got.Shape) != ShapeString(want.Shape) || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("%s: got %v %v, want %v %v", want.Name, got.DType, got.Shape, want.DType, want.Shape)
		}
	}
	w, _ := f.Get("0.weight")
	v, err := w.Float32(false)
	if err != nil || v[2] != 3.5 || v[4] != 1e-7 {
		t.Errorf("Float32: %v %v", v, err)
	}
	n, _ := f.Get("1.num_batches_tracked")
	if v, _ := n.Float32(false); v[0] != 42 {
		t.Errorf("I64 scalar read as %v", v)
	}
	// Writing again gives the same bytes.
	if b2 := encode(t, f.Tensors, f.Metadata); !bytes.Equal(b, b2) && len(b) != len(b2) {
		t.Errorf("re-encoding changed the size: %d vs %d", len(b), len(b2))
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.safetensors")
	if err := WriteFile(p, []Tensor{F32Tensor("x", []int{1}, []float32{1})}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(p); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(p, []Tensor{{Name: "bad", DType: F32, Shape: []int{2}, Data: []byte{1}}}, nil)
	if err == nil {
		t.Fatal("inconsistent tensor written")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if _, err := ReadFile(p); err != nil {
		t.Errorf("failed write damaged the existing file: %v", err)
	}
}

func raw(header string, data []byte) []byte {
	var b bytes.Buffer
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	b.Write(n[:])
	b.WriteString(header)
	b.Write(data)
	return b.Bytes()
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, want string
		b          []byte
	}{
		{"short", "too short", []byte{1, 2}},
		{"header overruns", "overruns", append([]byte{0xff, 0, 0, 0, 0, 0, 0, 0}, '{', '}')},
		{"absurd header", "exceeds", []byte{0, 0, 0, 0, 0, 0, 0, 0x7f}},
		{"not json", "header", raw("not json", nil)},
		{"not object", "expected", raw("[1,2]", nil)},
		{"unknown dtype", "unknown dtype", raw(`{"a":{"dtype":"Q7","shape":[1],"data_offsets":[0,1]}}`, []byte{0})},
		{"offsets overrun", "cover 8 data bytes but the file holds 4", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, []byte{0, 0, 0, 0})},
		{"negative offset", "not a byte range", raw(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}}`, []byte{0})},
		{"shape mismatch", "needs", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, []byte{0, 0, 0, 0})},
		{"absurd shape", "does not fit", raw(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}`, []byte{0, 0, 0, 0})},
		{"negative shape", "negative", raw(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, []byte{0, 0, 0, 0})},
		{"duplicate", "duplicated", raw(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{0})},
		{"overlap", "expected", raw(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, []byte{0, 0})},
		{"hole", "cover", raw(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{0, 0})},
		{"gap", "expected", raw(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, []byte{0, 0})},
		{"metadata not string", "strings", raw(`{"__metadata__":{"a":1}}`, nil)},
		{"unknown field", "unknown field", raw(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":1}}`, []byte{0})},
		{"missing shape", "missing shape", raw(`{"a":{"dtype":"U8","data_offsets":[0,0]}}`, nil)},
		{"trailing", "trailing", raw(`{}{}`, nil)},
		{"empty name", "empty tensor name", raw(`{"":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{0})},
		{"key case dtype", "unknown field \"dtYpe\"", raw(`{"a":{"dtYpe":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{0})},
		{"key case shape", "unknown field \"shApe\"", raw(`{"a":{"dtype":"U8","shApe":[1],"data_offsets":[0,1]}}`, []byte{0})},
		{"key case offsets", "unknown field \"dAtA_offsets\"", raw(`{"a":{"dtype":"U8","shape":[1],"dAtA_offsets":[0,1]}}`, []byte{0})},
		{"duplicated key", "duplicated key", raw(`{"a":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{0})},
		{"fractional shape", "not a 64-bit integer", raw(`{"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}}`, []byte{0})},
		{"too many offsets", "must be [begin, end]", raw(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}`, []byte{0})},
		{"empty header", "too short for a JSON object", []byte{0, 0, 0, 0, 0, 0, 0, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.b)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// TestReadFileBounded checks that ReadFile reads only what the header
// describes: an endless stream (/dev/zero), a FIFO, a truncated file and a
// file with extra bytes all give a clear error, and a good file streamed
// through a FIFO reads.
func TestReadFileBounded(t *testing.T) {
	good := encode(t, []Tensor{F32Tensor("w", []int{3}, []float32{1, 2, 3})}, map[string]string{"k": "v"})
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name, path, want string
	}{
		{"truncated data", write("trunc", good[:len(good)-1]), "tensors cover 12 data bytes but the file holds 11"},
		{"extra data", write("extra", append(append([]byte{}, good...), 0)), "tensors cover 12 data bytes but the file holds 13"},
		{"truncated header", write("short", good[:20]), "overruns the file"},
		{"too short", write("tiny", good[:3]), "header length"},
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		cases = append(cases, struct{ name, path, want string }{"dev zero", "/dev/zero", "too short for a JSON object"})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadFile(c.path)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.path) {
				t.Fatalf("error %v, want one naming %s and containing %q", err, c.path, c.want)
			}
		})
	}
	if f, err := ReadFile(write("good", good)); err != nil || len(f.Tensors) != 1 {
		t.Fatalf("good file: %v", err)
	}
}

// TestReadStream reads from pipes, whose size is unknown: exact content
// parses, a stream longer or shorter than its header says does not.
func TestReadStream(t *testing.T) {
	good := encode(t, []Tensor{U8Tensor("b", []int{2}, []byte{1, 2})}, nil)
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"exact", good, ""},
		{"longer", append(append([]byte{}, good...), 9), "holds more"},
		{"shorter", good[:len(good)-1], "truncated after 1 of 2 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			go func() { w.Write(c.b); w.Close() }()
			_, err = read(r)
			r.Close()
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

func TestNonFinite(t *testing.T) {
	nan := F32Tensor("w", []int{1}, []float32{float32(0)})
	binary.LittleEndian.PutUint32(nan.Data, 0x7fc00000)
	if _, err := nan.Float32(false); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Fatalf("NaN accepted: %v", err)
	}
}

func TestHalf(t *testing.T) {
	cases := map[uint16]float32{0x3c00: 1, 0xc000: -2, 0x3555: 0.33325195, 0x0001: 5.9604645e-08, 0x7bff: 65504}
	for h, want := range cases {
		if got := halfToFloat(h); got != want {
			t.Errorf("half %#x = %v, want %v", h, got, want)
		}
	}
}

// TestGolden reads the trimmed sinabs reference file written by PyTorch's
// safetensors (through snnkit's trimming) from testdata.
func TestGolden(t *testing.T) {
	f, err := ReadFile("../testdata/golden/tutorial_iaf_t16.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	w, ok := f.Get("3.weight")
	if !ok || ShapeString(w.Shape) != "[32, 20, 5, 5]" || w.DType != F32 {
		t.Fatalf("3.weight: %+v", w)
	}
	if f.Metadata["T"] != "16" {
		t.Errorf("metadata %v", f.Metadata)
	}
}

func FuzzParse(f *testing.F) {
	var b bytes.Buffer
	_ = Write(&b, []Tensor{F32Tensor("a", []int{2}, []float32{1, 2}), U8Tensor("b", []int{1, 1}, []byte{3})}, map[string]string{"k": "v"})
	f.Add(b.Bytes())
	f.Add(raw(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, []byte{0, 0, 0, 0}))
	f.Add(raw(`{"__metadata__":{"a":"b"},"x":{"dtype":"BF16","shape":[],"data_offsets":[0,2]}}`, []byte{0, 0x3f}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Parse(b)
		if err != nil {
			return
		}
		for _, tn := range file.Tensors {
			if tn.Numel()*tn.DType.Size() != len(tn.Data) {
				t.Fatalf("%s: shape %v but %d bytes", tn.Name, tn.Shape, len(tn.Data))
			}
			if _, err := tn.Float32(true); err != nil {
				t.Fatal(err)
			}
		}
		var out bytes.Buffer
		if err := Write(&out, file.Tensors, file.Metadata); err != nil {
			t.Fatalf("re-encoding a parsed file: %v", err)
		}
		if _, err := Parse(out.Bytes()); err != nil {
			t.Fatalf("re-parsing: %v", err)
		}
	})
}

// TestWriterPieces writes tensors in pieces, out of order, through Writer
// and checks the file is byte for byte what Write produces.
func TestWriterPieces(t *testing.T) {
	ts := []Tensor{
		F32Tensor("a", []int{3, 5}, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}),
		U8Tensor("b", []int{7}, []byte{1, 2, 3, 4, 5, 6, 7}),
		F32Tensor("empty", []int{0}, nil),
	}
	meta := map[string]string{"k": "v"}
	want := encode(t, ts, meta)
	p := filepath.Join(t.TempDir(), "w.safetensors")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	heads := make([]Tensor, len(ts))
	for i, tn := range ts {
		heads[i] = Tensor{Name: tn.Name, DType: tn.DType, Shape: tn.Shape}
	}
	w, err := NewWriter(f, heads, meta)
	if err != nil {
		t.Fatal(err)
	}
	// Second halves first, then first halves.
	for _, half := range []int{1, 0} {
		for _, tn := range ts {
			mid := len(tn.Data) / 2
			lo, hi := 0, mid
			if half == 1 {
				lo, hi = mid, len(tn.Data)
			}
			if err := w.WriteAt(tn.Name, int64(lo), tn.Data[lo:hi]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.WriteAt("b", 5, []byte{1, 2, 3}); err == nil {
		t.Error("write past a tensor's end accepted")
	}
	if err := w.WriteAt("nosuch", 0, nil); err == nil {
		t.Error("unknown tensor accepted")
	}
	f.Close()
	got, _ := os.ReadFile(p)
	if !bytes.Equal(got, want) {
		t.Fatalf("piecewise file differs from Write's:\n%q\n%q", got, want)
	}
}

// FuzzReadFile checks that reading a file from disk (header first, then
// exactly the data it describes) accepts and returns what Parse does on the
// same bytes in memory.
func FuzzReadFile(f *testing.F) {
	var b bytes.Buffer
	_ = Write(&b, []Tensor{F32Tensor("a", []int{2}, []float32{1, 2}), U8Tensor("b", []int{1, 1}, []byte{3})}, map[string]string{"k": "v"})
	f.Add(b.Bytes())
	f.Add(b.Bytes()[:b.Len()-1])
	f.Add(append(append([]byte{}, b.Bytes()...), 0))
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0, 0, '{', '}'})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "f.safetensors")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, errRead := ReadFile(p)
		want, errParse := Parse(data)
		if (errRead == nil) != (errParse == nil) {
			t.Fatalf("ReadFile: %v, Parse: %v", errRead, errParse)
		}
		if errRead != nil {
			return
		}
		if len(got.Tensors) != len(want.Tensors) {
			t.Fatalf("%d tensors read, %d parsed", len(got.Tensors), len(want.Tensors))
		}
		for i := range got.Tensors {
			g, w := got.Tensors[i], want.Tensors[i]
			if g.Name != w.Name || g.DType != w.DType || ShapeString(g.Shape) != ShapeString(w.Shape) || !bytes.Equal(g.Data, w.Data) {
				t.Fatalf("tensor %d: read %s, parsed %s", i, g.Name, w.Name)
			}
		}
	})
}
