package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// Test models are written with a small protobuf encoder for the fields
// the reader knows.

func msg(fields ...[]byte) []byte {
	var b []byte
	for _, f := range fields {
		b = append(b, f...)
	}
	return b
}

func bytesField(num protowire.Number, p []byte) []byte {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	return protowire.AppendBytes(b, p)
}

func strField(num protowire.Number, s string) []byte { return bytesField(num, []byte(s)) }

func intField(num protowire.Number, v int64) []byte {
	b := protowire.AppendTag(nil, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

func floatTensor(name string, dims []int64, vals []float32) []byte {
	raw := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	var f [][]byte
	for _, d := range dims {
		f = append(f, intField(1, d))
	}
	f = append(f, intField(2, Float), strField(8, name), bytesField(9, raw))
	return msg(f...)
}

func node(op, name string, inputs, outputs []string, attrs ...[]byte) []byte {
	var f [][]byte
	for _, in := range inputs {
		f = append(f, strField(1, in))
	}
	for _, out := range outputs {
		f = append(f, strField(2, out))
	}
	f = append(f, strField(3, name), strField(4, op))
	for _, a := range attrs {
		f = append(f, bytesField(5, a))
	}
	return msg(f...)
}

func intsAttr(name string, vals ...int64) []byte {
	f := [][]byte{strField(1, name), intField(20, AttrInts)}
	for _, v := range vals {
		f = append(f, intField(8, v))
	}
	return msg(f...)
}

func valueInfo(name string, dims ...int64) []byte {
	var ds [][]byte
	for _, d := range dims {
		if d < 0 {
			ds = append(ds, bytesField(1, strField(2, "batch")))
		} else {
			ds = append(ds, bytesField(1, intField(1, d)))
		}
	}
	shape := msg(ds...)
	tensorType := msg(intField(1, Float), bytesField(2, shape))
	return msg(strField(1, name), bytesField(2, bytesField(1, tensorType)))
}

// model wraps nodes and initializers into a ModelProto with input "x"
// [batch, 1, 4, 4] and output "y".
func model(nodes [][]byte, inits [][]byte) []byte {
	var g [][]byte
	for _, n := range nodes {
		g = append(g, bytesField(1, n))
	}
	g = append(g, strField(2, "test"))
	for _, t := range inits {
		g = append(g, bytesField(5, t))
	}
	g = append(g, bytesField(11, valueInfo("x", -1, 1, 4, 4)), bytesField(12, valueInfo("y", -1, 8)))
	opset := msg(strField(1, ""), intField(2, 13))
	return msg(intField(1, 8), strField(2, "test"), bytesField(7, msg(g...)), bytesField(8, opset))
}

// goodModel is Conv(2 filters 3x3) -> Relu -> Flatten -> y.
func goodModel() []byte {
	w := make([]float32, 2*9)
	for i := range w {
		w[i] = float32(i%5) - 2
	}
	return model([][]byte{
		node("Conv", "/conv/Conv", []string{"x", "w"}, []string{"c"}, intsAttr("kernel_shape", 3, 3)),
		node("Relu", "/relu/Relu", []string{"c"}, []string{"r"}),
		node("Flatten", "/flat/Flatten", []string{"r"}, []string{"y"}),
	}, [][]byte{floatTensor("w", []int64{2, 1, 3, 3}, w)})
}

func importBytes(b []byte) error {
	m, err := ParseModel(b)
	if err != nil {
		return err
	}
	_, err = Import(m)
	return err
}

// TestImportGeneralConv reads a depthwise, dilated, asymmetrically padded
// convolution.
func TestImportGeneralConv(t *testing.T) {
	w := floatTensor("w", []int64{2, 1, 2, 2}, []float32{1, 2, 3, 4, 5, 6, 7, 8})
	m := model([][]byte{
		node("Conv", "/a/Conv", []string{"x", "w"}, []string{"a"}, intsAttr("kernel_shape", 2, 2)),
		node("Conv", "/d/Conv", []string{"a", "w2"}, []string{"b"}, msg(strField(1, "group"), intField(20, AttrInt), intField(3, 2)),
			intsAttr("dilations", 2, 1), intsAttr("pads", 1, 0, 0, 2)),
		node("Flatten", "/f/Flatten", []string{"b"}, []string{"y"}),
	}, [][]byte{w, floatTensor("w2", []int64{2, 1, 2, 2}, make([]float32, 8))})
	pm, err := ParseModel(m)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Import(pm)
	if err != nil {
		t.Fatal(err)
	}
	// a: [2, 3, 3]; b: H = 3+1+0-2-1+1 = 2, W = 3+0+2-1-1+1 = 4.
	if s := fmt.Sprint(g.Nodes[1].Shape); s != "[2 2 4]" {
		t.Fatalf("shape %s of %v", s, g.Nodes[1].Layer)
	}
	if s := fmt.Sprint(g.Nodes[1].Layer); !strings.Contains(s, "groups=2") || !strings.Contains(s, "dilation=(2, 1)") || !strings.Contains(s, "padding=(1, 0, 0, 2)") {
		t.Fatalf("layer %s", s)
	}
}

func TestImportSmall(t *testing.T) {
	m, err := ParseModel(goodModel())
	if err != nil {
		t.Fatal(err)
	}
	g, err := Import(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Nodes) != 3 || g.Nodes[0].Name != "conv" || g.OutputShape()[0] != 8 {
		t.Fatalf("graph %v", g)
	}
}

// TestImportErrors feeds broken models: each error names what is wrong.
func TestImportErrors(t *testing.T) {
	w := floatTensor("w", []int64{2, 1, 3, 3}, make([]float32, 18))
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"garbage", []byte("this is not a protobuf at all, just text"), "onnx"},
		{"empty", nil, "no graph"},
		{"unsupported op", model([][]byte{node("Softmax", "/sm/Softmax", []string{"x"}, []string{"y"})}, nil), "node /sm/Softmax (Softmax): op not supported; snnkit reads Add, AveragePool"},
		{"missing initializer", model([][]byte{node("Conv", "/c/Conv", []string{"x", "nope"}, []string{"y"})}, nil), `input "nope" is neither computed before this node nor an initializer`},
		{"absurd dims", model([][]byte{node("Relu", "/r/Relu", []string{"x"}, []string{"y"})}, [][]byte{floatTensor("big", []int64{1 << 40, 1 << 40}, nil)}), "dimension 1099511627776"},
		{"lying raw data", model([][]byte{node("Relu", "/r/Relu", []string{"x"}, []string{"y"})}, [][]byte{floatTensor("lie", []int64{1000}, []float32{1})}), "4 raw bytes for dims [1000]"},
		{"grouped conv on too few channels", model([][]byte{node("Conv", "/c/Conv", []string{"x", "w"}, []string{"y"}, msg(strField(1, "group"), intField(20, AttrInt), intField(3, 2)))}, [][]byte{w}), "input has 1 channels, want 2"},
		{"group not dividing", model([][]byte{node("Conv", "/c/Conv", []string{"x", "w"}, []string{"y"}, msg(strField(1, "group"), intField(20, AttrInt), intField(3, 3)))}, [][]byte{w}), "group 3 does not divide the 2 output channels"},
		{"zero dilation", model([][]byte{node("Conv", "/c/Conv", []string{"x", "w"}, []string{"y"}, intsAttr("dilations", 0, 1))}, [][]byte{w}), "dilations [0 1]"},
		{"no output", model([][]byte{node("Relu", "/r/Relu", []string{"x"}, []string{"z"})}, nil), `output "y" is not computed`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := importBytes(c.b)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

// TestTruncated cuts a real export at many lengths: every prefix is
// refused (or, rarely, is itself a valid smaller model), never a panic.
func TestTruncated(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(fixtures, "tutorial_mnist.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(b); n += len(b)/97 + 1 {
		if err := importBytes(b[:n]); err == nil {
			t.Errorf("a prefix of %d of %d bytes imported", n, len(b))
		}
	}
	if err := importBytes(b); err != nil {
		t.Fatal(err)
	}
}

func FuzzImport(f *testing.F) {
	f.Add(goodModel())
	if b, err := os.ReadFile(filepath.Join(fixtures, "resnet_fmnist.onnx")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseModel(b)
		if err != nil {
			return
		}
		g, err := Import(m)
		if err != nil {
			return
		}
		if err := g.Check(); err != nil {
			t.Fatalf("an imported graph does not check: %v", err)
		}
	})
}

// TestImportPaddedPools reads pools with padding, ceil_mode and
// count_include_pad, and a zero Pad before an AveragePool as its padding.
func TestImportPaddedPools(t *testing.T) {
	pads := func(v ...int64) []byte { return intsAttr("pads", v...) }
	ceil := msg(strField(1, "ceil_mode"), intField(20, AttrInt), intField(3, 1))
	pv := make([]byte, 0)
	for _, v := range []int64{0, 0, 1, 1, 0, 0, 1, 1} {
		pv = binary.LittleEndian.AppendUint64(pv, uint64(v))
	}
	padInit := msg(intField(1, 8), intField(2, Int64), strField(8, "p"), bytesField(9, pv))
	m := model([][]byte{
		node("MaxPool", "/mp/MaxPool", []string{"x"}, []string{"a"}, intsAttr("kernel_shape", 3, 3), intsAttr("strides", 2, 2), pads(1, 1, 1, 1), ceil),
		node("Pad", "/ap/Pad", []string{"a", "p"}, []string{"b"}),
		node("AveragePool", "/ap/AveragePool", []string{"b"}, []string{"c"}, intsAttr("kernel_shape", 2, 2), intsAttr("strides", 1, 1)),
		node("Flatten", "/f/Flatten", []string{"c"}, []string{"y"}),
	}, [][]byte{padInit})
	pm, err := ParseModel(m)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Import(pm)
	if err != nil {
		t.Fatal(err)
	}
	// 4×4 -> max 3/2 pad 1 ceil -> 3×3 (ceil: (4+2-3+1)/2+1 = 3) -> avg 2/1 pad 1 -> 4×4.
	if len(g.Nodes) != 3 || fmt.Sprint(g.Nodes[0].Shape) != "[1 3 3]" || fmt.Sprint(g.Nodes[1].Shape) != "[1 4 4]" {
		t.Fatalf("graph %v", g)
	}
	if s := fmt.Sprint(g.Nodes[1].Layer); !strings.Contains(s, "count_include_pad=True") || !strings.Contains(s, "padding=1") {
		t.Fatalf("average pool %s", s)
	}
	bad := model([][]byte{
		node("Pad", "/mp/Pad", []string{"x", "p"}, []string{"a"}),
		node("MaxPool", "/mp/MaxPool", []string{"a"}, []string{"y"}, intsAttr("kernel_shape", 2, 2)),
	}, [][]byte{padInit})
	if err := importBytes(bad); err == nil || !strings.Contains(err.Error(), "before MaxPool is not supported") {
		t.Fatalf("Pad before MaxPool: %v", err)
	}
}
