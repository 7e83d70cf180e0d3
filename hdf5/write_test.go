package hdf5

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// tree is a NIR-like file: nested groups, float32 and float64 arrays,
// int64 scalars and arrays, scalar and 2-D string datasets, an empty
// group, and a group of more members than one symbol-table node holds.
func tree() *Object {
	root := NewGroup()
	root.Members["version"] = Scalar("0.5.0")
	node := NewGroup()
	root.Members["node"] = node
	node.Members["type"] = Scalar("NIRGraph")
	node.Members["edges"] = Array([]string{"input", "conv", "conv", "lif", "lif", "output"}, 3, 2)
	nodes := NewGroup()
	node.Members["nodes"] = nodes
	conv := NewGroup()
	conv.Members["type"] = Scalar("Conv2d")
	w := make([]float32, 4*2*3*3)
	for i := range w {
		w[i] = float32(i)/64 - 0.5
	}
	conv.Members["weight"] = Array(w, 4, 2, 3, 3)
	conv.Members["stride"] = Array([]int64{1, 2}, 2)
	conv.Members["groups"] = Scalar(int64(1))
	conv.Members["tau"] = Array([]float64{math.Pi, -1e-300, 1e300}, 3)
	conv.Members["metadata"] = NewGroup()
	nodes.Members["conv"] = conv
	for i := 0; i < 40; i++ {
		g := NewGroup()
		g.Members["type"] = Scalar("Scale")
		g.Members["scale"] = Array([]float32{float32(i)}, 1)
		nodes.Members[fmt.Sprintf("n%02d", i)] = g
	}
	nodes.Members["utf8 ünï"] = Scalar("π")
	return root
}

// TestRoundTrip encodes a tree, reads it back and compares every value.
func TestRoundTrip(t *testing.T) {
	want := tree()
	b, err := Encode(want)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(b, "round.h5")
	if err != nil {
		t.Fatal(err)
	}
	root, err := f.Root()
	if err != nil {
		t.Fatal(err)
	}
	var compare func(g *Group, o *Object)
	compare = func(g *Group, o *Object) {
		var names []string
		for n := range o.Members {
			names = append(names, n)
		}
		slices.Sort(names)
		if !slices.Equal(g.Names(), names) {
			t.Fatalf("%s: members %q, want %q", g.Path(), g.Names(), names)
		}
		for _, n := range names {
			m := o.Members[n]
			if m.isGroup() {
				sub, err := g.Group(n)
				if err != nil {
					t.Fatal(err)
				}
				compare(sub, m)
				continue
			}
			d, err := g.Dataset(n)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(d.Shape, m.Shape) && !(len(d.Shape) == 0 && len(m.Shape) == 0) {
				t.Errorf("%s: shape %v, want %v", d.Path, d.Shape, m.Shape)
			}
			var got any
			switch v := m.Values.(type) {
			case []string:
				got, err = d.Strings()
			case []float32:
				f64, e := d.Float64s()
				err = e
				f32 := make([]float32, len(f64))
				for i, x := range f64 {
					f32[i] = float32(x)
				}
				got = f32
				if d.Type.Size != 4 {
					t.Errorf("%s: %d-byte floats", d.Path, d.Type.Size)
				}
			case []float64:
				got, err = d.Float64s()
			case []int64:
				f64, e := d.Float64s()
				err = e
				i64 := make([]int64, len(f64))
				for i, x := range f64 {
					i64[i] = int64(x)
				}
				got = i64
				_ = v
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(m.Values) {
				t.Errorf("%s: %v, want %v", d.Path, got, m.Values)
			}
		}
	}
	compare(root, want)
	// The same bytes for the same tree: the encoding is deterministic.
	again, _ := Encode(tree())
	if !slices.Equal(b, again) {
		t.Error("two encodings of one tree differ")
	}
}

// TestH5pyReads checks the written file with the HDF5 library itself,
// through h5py, when Debian's python3-h5py is installed (CI installs it).
func TestH5pyReads(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import h5py").Run(); err != nil {
		t.Skip("python3-h5py not installed: the HDF5 library's reading of written files is not checked")
	}
	path := filepath.Join(t.TempDir(), "tree.h5")
	if err := WriteFile(path, tree()); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "../scripts/hdf5_reference.py", path).CombinedOutput()
	if err != nil {
		t.Fatalf("h5py: %v\n%s", err, out)
	}
	var refs map[string]reference
	if err := json.Unmarshal(out, &refs); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	ref := refs["tree.h5"]
	if len(ref) != 89 { // 40 groups of 2, the conv node's 5, and 4 more
		t.Errorf("h5py read %d datasets, want 89", len(ref))
	}
	if s := ref["/node/edges"].Strings; !slices.Equal(s, []string{"input", "conv", "conv", "lif", "lif", "output"}) || !slices.Equal(ref["/node/edges"].Shape, []int{3, 2}) {
		t.Errorf("h5py read the edges as %q %v", s, ref["/node/edges"].Shape)
	}
	if w := ref["/node/nodes/conv/weight"]; !slices.Equal(w.Shape, []int{4, 2, 3, 3}) || w.Sum == nil || math.Abs(*w.Sum-(float64(71*72/2)/64-36)) > 1e-9 {
		t.Errorf("h5py read the weight as %+v", w)
	}
	if v := ref["/version"].Strings; !slices.Equal(v, []string{"0.5.0"}) || len(ref["/version"].Shape) != 0 {
		t.Errorf("h5py read the version as %q %v", v, ref["/version"].Shape)
	}
	if s := ref["/node/nodes/utf8 ünï"].Strings; !slices.Equal(s, []string{"π"}) {
		t.Errorf("h5py read a UTF-8 string as %q", s)
	}
	if n := ref["/node/nodes/n39/scale"]; n.Sum == nil || *n.Sum != 39 {
		t.Errorf("h5py read n39/scale as %+v", n)
	}
}

// TestWriteRefuses checks that trees which cannot be written are refused
// by name, and that no file is left behind.
func TestWriteRefuses(t *testing.T) {
	cases := []struct {
		root *Object
		want string
	}{
		{Scalar(1.0), "root must be a group"},
		{&Object{Members: map[string]*Object{"a/b": Scalar(1)}}, `member name "a/b"`},
		{&Object{Members: map[string]*Object{"x": Array([]float32{1, 2}, 3)}}, "/x: 2 values for shape [3]"},
		{&Object{Members: map[string]*Object{"x": Array([]int{1}, 1)}}, "values of type []int"},
		{&Object{Members: map[string]*Object{"x": Scalar("\xff")}}, "not UTF-8"},
		{&Object{Members: map[string]*Object{"x": nil}}, "nil object"},
	}
	for _, tc := range cases {
		path := filepath.Join(t.TempDir(), "bad.h5")
		err := WriteFile(path, tc.root)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("%s written despite the error", path)
		}
	}
}

// toObject reads g back into a tree to write (floats of 4 bytes as
// float32, integers as int64).
func toObject(t *testing.T, g *Group) *Object {
	t.Helper()
	o := NewGroup()
	for _, n := range g.Names() {
		isGroup, err := g.IsGroup(n)
		if err != nil {
			t.Fatal(err)
		}
		if isGroup {
			sub, err := g.Group(n)
			if err != nil {
				t.Fatal(err)
			}
			o.Members[n] = toObject(t, sub)
			continue
		}
		d, err := g.Dataset(n)
		if err != nil {
			t.Fatal(err)
		}
		var vals any
		switch {
		case d.Type.Class == String:
			vals, err = d.Strings()
		default:
			v, e := d.Float64s()
			err = e
			switch {
			case d.Type.Class == Float && d.Type.Size == 4:
				f := make([]float32, len(v))
				for i, x := range v {
					f[i] = float32(x)
				}
				vals = f
			case d.Type.Class == Float:
				vals = v
			default:
				n := make([]int64, len(v))
				for i, x := range v {
					n[i] = int64(x)
				}
				vals = n
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		o.Members[n] = Array(vals, d.Shape...)
	}
	return o
}

// TestRewriteFixtures reads every NIR fixture, writes it again and reads
// that: the same tree, value for value; then h5py reads the rewritten
// files as it read the originals.
func TestRewriteFixtures(t *testing.T) {
	dir := t.TempDir()
	var rewritten []string
	for _, path := range fixtures(t) {
		f, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		root, err := f.Root()
		if err != nil {
			t.Fatal(err)
		}
		tree := toObject(t, root)
		out := filepath.Join(dir, filepath.Base(path))
		if err := WriteFile(out, tree); err != nil {
			t.Fatal(err)
		}
		g, err := Open(out)
		if err != nil {
			t.Fatal(err)
		}
		groot, err := g.Root()
		if err != nil {
			t.Fatal(err)
		}
		if again := toObject(t, groot); !reflect.DeepEqual(again, tree) {
			t.Errorf("%s: rewritten, it reads differently", path)
		}
		rewritten = append(rewritten, out)
	}
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import h5py").Run(); err != nil {
		t.Skip("python3-h5py not installed: h5py's reading of the rewritten files is not checked")
	}
	out, err := exec.Command(py, append([]string{"../scripts/hdf5_reference.py"}, rewritten...)...).Output()
	if err != nil {
		t.Fatalf("h5py: %v", err)
	}
	var got map[string]reference
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	want := loadReference(t)
	for name, ref := range got {
		b1, _ := json.Marshal(ref)
		b2, _ := json.Marshal(want[name])
		if string(b1) != string(b2) {
			t.Errorf("%s: h5py reads the rewritten file differently:\n%s\n%s", name, b1, b2)
		}
	}
}
