package hdf5

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// reference is what h5py reads in a file (scripts/hdf5_reference.py).
type reference map[string]struct {
	Shape       []int    `json:"shape"`
	Sum         *float64 `json:"sum"`
	WeightedSum *float64 `json:"weighted_sum"`
	Strings     []string `json:"strings"`
}

func loadReference(t *testing.T) map[string]reference {
	t.Helper()
	b, err := os.ReadFile("testdata/h5py.json")
	if err != nil {
		t.Fatal(err)
	}
	var refs map[string]reference
	if err := json.Unmarshal(b, &refs); err != nil {
		t.Fatal(err)
	}
	return refs
}

// walk visits every dataset under g, depth first in name order, and
// returns the first error.
func walk(g *Group, visit func(d *Dataset) error) error {
	for _, n := range g.Names() {
		isGroup, err := g.IsGroup(n)
		if err != nil {
			return err
		}
		if isGroup {
			sub, err := g.Group(n)
			if err != nil {
				return err
			}
			if err := walk(sub, visit); err != nil {
				return err
			}
			continue
		}
		d, err := g.Dataset(n)
		if err != nil {
			return err
		}
		if err := visit(d); err != nil {
			return err
		}
	}
	return nil
}

// fixtures are the NIR files to check: testdata's, and ../shared's when
// it is there.
func fixtures(t *testing.T) []string {
	files, _ := filepath.Glob("testdata/*.nir")
	files = append(files, "../nir/testdata/cnn_sinabs_dyadic.nir") // a chunked, compressed one
	shared, _ := filepath.Glob("../../shared/interop/nir/*.nir")
	if len(shared) == 0 {
		t.Log("../shared/interop/nir absent: checking testdata's files only")
	}
	return append(files, shared...)
}

// TestAgainstH5py reads every dataset of the NIR fixtures and compares
// its shape, strings or numbers (sums, and sums weighted by position) with
// what h5py read in the same file.
func TestAgainstH5py(t *testing.T) {
	refs := loadReference(t)
	for _, path := range fixtures(t) {
		ref, ok := refs[filepath.Base(path)]
		if !ok {
			t.Errorf("%s: no h5py reference (run scripts/hdf5_reference.py)", path)
			continue
		}
		f, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		root, err := f.Root()
		if err != nil {
			t.Fatal(err)
		}
		seen := 0
		err = walk(root, func(d *Dataset) error {
			seen++
			r, ok := ref[d.Path]
			if !ok {
				t.Errorf("%s: %s is not in h5py's reading", path, d.Path)
				return nil
			}
			if !slices.Equal(d.Shape, r.Shape) {
				t.Errorf("%s: %s has shape %v, h5py %v", path, d.Path, d.Shape, r.Shape)
			}
			if r.Strings != nil {
				s, err := d.Strings()
				if err != nil {
					return err
				}
				if !slices.Equal(s, r.Strings) {
					t.Errorf("%s: %s = %q, h5py %q", path, d.Path, s, r.Strings)
				}
				return nil
			}
			v, err := d.Float64s()
			if err != nil {
				return err
			}
			var sum, weighted float64
			for i, x := range v {
				sum += x
				weighted += x * float64(i%7+1)
			}
			near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
			if !near(sum, *r.Sum) || !near(weighted, *r.WeightedSum) {
				t.Errorf("%s: %s sums %v, %v; h5py %v, %v", path, d.Path, sum, weighted, *r.Sum, *r.WeightedSum)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if seen != len(ref) {
			t.Errorf("%s: %d datasets read, h5py read %d", path, seen, len(ref))
		}
	}
}

// TestStructure checks a file's groups, a chunked dataset of several
// chunks (node 1's parameters: 16×16×16 in chunks of 8×16×16), scalars and
// the variable-length strings of the edge list.
func TestStructure(t *testing.T) {
	f, err := Open("../nir/testdata/cnn_sinabs_dyadic.nir")
	if err != nil {
		t.Fatal(err)
	}
	root, err := f.Root()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(root.Names(), []string{"node", "version"}) {
		t.Fatalf("root members %v", root.Names())
	}
	node, err := root.Group("node")
	if err != nil {
		t.Fatal(err)
	}
	edges, err := node.Dataset("edges")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(edges.Shape, []int{14, 2}) || !edges.Type.Variable {
		t.Fatalf("edges: %v %+v", edges.Shape, edges.Type)
	}
	nodes, err := node.Group("nodes")
	if err != nil {
		t.Fatal(err)
	}
	n1, err := nodes.Group("1")
	if err != nil {
		t.Fatal(err)
	}
	th, err := n1.Dataset("v_threshold")
	if err != nil {
		t.Fatal(err)
	}
	if th.layout.class != 2 || !slices.Equal(th.layout.chunk, []int{8, 16, 16}) || len(th.layout.filters) == 0 {
		t.Fatalf("v_threshold layout %+v", th.layout)
	}
	v, err := th.Float64s()
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 4096 || v[0] != 1 || v[4095] != 1 {
		t.Fatalf("v_threshold: %d values, first %v, last %v", len(v), v[0], v[len(v)-1])
	}
	typ, err := n1.Dataset("type")
	if err != nil {
		t.Fatal(err)
	}
	if s, err := typ.Strings(); err != nil || len(typ.Shape) != 0 || !slices.Equal(s, []string{"IF"}) {
		t.Fatalf("type %q %v %v", s, typ.Shape, err)
	}
	for _, bad := range []func() error{
		func() error { _, err := nodes.Group("nope"); return err },
		func() error { _, err := nodes.Dataset("1"); return err },
		func() error { _, err := n1.Group("type"); return err },
		func() error { _, err := typ.Float64s(); return err },
		func() error { _, err := th.Strings(); return err },
	} {
		if err := bad(); err == nil || !strings.Contains(err.Error(), "cnn_sinabs_dyadic.nir") {
			t.Errorf("error %v does not name the file", err)
		}
	}
}

// readAll opens everything in b and reads every dataset; it returns the
// first error.
func readAll(b []byte) error {
	f, err := Parse(b, "fuzz.h5")
	if err != nil {
		return err
	}
	root, err := f.Root()
	if err != nil {
		return err
	}
	return walkDepth(root, 0, func(d *Dataset) error {
		if d.Type.Class == String {
			_, err := d.Strings()
			return err
		}
		_, err := d.Float64s()
		return err
	})
}

// walkDepth is walk with a bound on the depth, for files whose groups
// contain themselves.
func walkDepth(g *Group, depth int, visit func(d *Dataset) error) error {
	if depth > MaxDepth {
		return nil
	}
	for _, n := range g.Names() {
		if sub, err := g.Group(n); err == nil {
			if err := walkDepth(sub, depth+1, visit); err != nil {
				return err
			}
			continue
		}
		d, err := g.Dataset(n)
		if err != nil {
			return err
		}
		if err := visit(d); err != nil {
			return err
		}
	}
	return nil
}

// TestCorrupt truncates a file at many lengths and flips bytes all over
// it: every reading either succeeds or fails with an error, never a panic,
// and a truncated file never reads in full.
func TestCorrupt(t *testing.T) {
	for _, name := range []string{"testdata/lif_norse.nir", "../nir/testdata/cnn_sinabs_dyadic.nir"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := readAll(b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		step := max(1, len(b)/400)
		for n := 0; n < len(b); n += step {
			if err := readAll(b[:n]); err == nil {
				t.Errorf("%s truncated to %d of %d bytes read without an error", name, n, len(b))
			}
		}
		for i := 0; i < len(b); i += step {
			for _, v := range []byte{0, 0xff, b[i] ^ 0x10} {
				c := slices.Clone(b)
				c[i] = v
				_ = readAll(c) // must return, with or without an error
			}
		}
	}
}

// TestLyingHeaders gives fields absurd values: huge shapes, rank and
// sizes are refused by name before anything is allocated.
func TestLyingHeaders(t *testing.T) {
	cases := []struct {
		name string
		fn   func() error
		want string
	}{
		{"rank", func() error {
			_, err := dataspace(append([]byte{1, 200, 0, 0, 0, 0, 0, 0}, make([]byte, 8*200)...))
			return err
		}, "rank 200"},
		{"dimension", func() error {
			_, err := dataspace([]byte{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f})
			return err
		}, "dimension 0"},
		{"layout class", func() error { _, err := parseLayout([]byte{3, 7}); return err }, "class 7"},
		{"layout version", func() error { _, err := parseLayout([]byte{1, 1}); return err }, "version 1"},
		{"zero chunk", func() error {
			_, err := parseLayout([]byte{3, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0})
			return err
		}, "chunk dimension 0"},
		{"datatype class", func() error { _, err := datatype([]byte{0x16, 0, 0, 0, 8, 0, 0, 0}); return err }, "class 6"},
		{"integer size", func() error { _, err := datatype([]byte{0x10, 0, 0, 0, 3, 0, 0, 0}); return err }, "3-byte integer"},
		{"filter", func() error { _, err := parseFilters([]byte{2, 1, 9, 0, 0, 0, 0, 0}); return err }, "filter 9"},
		{"short message", func() error { _, err := datatype([]byte{0x11, 0}); return err }, "run past the end"},
		{"not HDF5", func() error { _, err := Parse([]byte("PK\x03\x04 not an hdf5 file at all"), "x.nir"); return err }, "no HDF5 signature"},
	}
	for _, tc := range cases {
		if err := tc.fn(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

// FuzzParse reads arbitrary bytes as HDF5: errors are fine, panics,
// hangs and giant allocations are not.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"lif_norse.nir", "two_lif_neurons.nir"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = readAll(b)
	})
}

// TestCyclicBTrees points a B-tree node at itself, a group's and a
// chunked dataset's: the reader says so instead of looping.
func TestCyclicBTrees(t *testing.T) {
	// A group's B-tree: the last one written is the root's. Make it an
	// internal node whose child is itself.
	b, err := Encode(tree())
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.LastIndex(b, []byte("TREE"))
	b[at+5] = 1 // level
	binary.LittleEndian.PutUint64(b[at+32:], uint64(at))
	if err := readAll(b); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("a group B-tree node that is its own child: %v", err)
	}
	// A chunk B-tree (type 1) of a compressed fixture: the first one in
	// the file indexes a dataset of rank 1 (a bias); its first child
	// follows the 24-byte node header and a key of 8 + 8·(rank+1) bytes.
	c, err := os.ReadFile("../nir/testdata/cnn_sinabs_dyadic.nir")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(c, "cnn.nir")
	if err != nil {
		t.Fatal(err)
	}
	root, _ := f.Root()
	node, _ := root.Group("node")
	nodes, _ := node.Group("nodes")
	n0, _ := nodes.Group("0")
	bias, err := n0.Dataset("bias")
	if err != nil || bias.layout.class != 2 {
		t.Fatalf("node 0's bias: %v %+v", err, bias)
	}
	at = int(bias.layout.addr)
	if string(c[at:at+4]) != "TREE" || c[at+4] != 1 {
		t.Fatalf("no chunk B-tree node at %d", at)
	}
	c[at+5] = 1 // level
	binary.LittleEndian.PutUint64(c[at+24+8+16:], uint64(at))
	if err := readAll(c); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("a chunk B-tree node that is its own child: %v", err)
	}
}
