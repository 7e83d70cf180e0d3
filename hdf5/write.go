package hdf5

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"unicode/utf8"

	"github.com/snnkit/snnkit/internal/atomicfile"
)

// Object is what Encode writes: a group of named members (Members, which
// may be empty) or a dataset (Values, with Shape).
type Object struct {
	Members map[string]*Object
	// Values are a dataset's elements in row-major order: []float32,
	// []float64, []int64 or []string (variable-length UTF-8, as h5py and
	// NIR write strings).
	Values any
	Shape  []int // nil or [] for a scalar: one value
}

// NewGroup returns an empty group to write.
func NewGroup() *Object { return &Object{Members: map[string]*Object{}} }

// Scalar returns a dataset of one value (a float32, float64, int64 or
// string).
func Scalar(v any) *Object {
	switch x := v.(type) {
	case float32:
		return &Object{Values: []float32{x}}
	case float64:
		return &Object{Values: []float64{x}}
	case int64:
		return &Object{Values: []int64{x}}
	case int:
		return &Object{Values: []int64{int64(x)}}
	case string:
		return &Object{Values: []string{x}}
	}
	return &Object{Values: v}
}

// Array returns a dataset of values with shape.
func Array(values any, shape ...int) *Object { return &Object{Values: values, Shape: shape} }

// isGroup reports whether o is a group.
func (o *Object) isGroup() bool { return o.Values == nil }

// WriteFile encodes root as an HDF5 file at path, through a temporary
// file renamed when complete.
func WriteFile(path string, root *Object) error {
	b, err := Encode(root)
	if err != nil {
		return fmt.Errorf("hdf5: %s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, b)
}

// Encode returns root, a group, as an HDF5 file: superblock version 0,
// version-1 object headers, old-style groups with their members sorted by
// name, contiguous uncompressed datasets, and variable-length strings in
// one global heap collection; the slice Parse reads and the HDF5 library
// reads.
func Encode(root *Object) ([]byte, error) {
	if root == nil || !root.isGroup() {
		return nil, fmt.Errorf("the root must be a group")
	}
	w := &writer{}
	if err := w.check(root, "/", 0); err != nil {
		return nil, err
	}
	w.leafK = max(4, (w.maxMembers+2*internalK-1)/(2*internalK)/2+1)
	w.buf = make([]byte, superblockSize)
	w.heapStrings(root)
	rootHeader, btree, heap := w.group(root)
	w.superblock(rootHeader, btree, heap)
	return w.buf, nil
}

const (
	superblockSize = 96
	internalK      = 16 // group B-tree nodes hold up to 2K children
	minCollection  = 4096
)

type writer struct {
	buf        []byte
	leafK      int // symbol-table nodes hold up to 2·leafK entries
	maxMembers int
	heapAddr   uint64
	heapIndex  map[*Object]int // first global heap object of a string dataset
}

// check validates the tree before anything is written.
func (w *writer) check(o *Object, path string, depth int) error {
	if depth > MaxDepth {
		return fmt.Errorf("%s: groups nest more than %d deep", path, MaxDepth)
	}
	if o == nil {
		return fmt.Errorf("%s: a nil object", path)
	}
	if o.isGroup() {
		w.maxMembers = max(w.maxMembers, len(o.Members))
		for name, m := range o.Members {
			if name == "" || name == "." || containsSlash(name) || !utf8.ValidString(name) {
				return fmt.Errorf("%s: member name %q (non-empty UTF-8 without '/')", path, name)
			}
			if err := w.check(m, join(path, name), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if len(o.Shape) > MaxRank {
		return fmt.Errorf("%s: rank %d (at most %d)", path, len(o.Shape), MaxRank)
	}
	n := 1
	for _, s := range o.Shape {
		if s < 0 || (s > 0 && n > MaxDatasetBytes/8/s) {
			return fmt.Errorf("%s: shape %v", path, o.Shape)
		}
		n *= s
	}
	var have int
	switch v := o.Values.(type) {
	case []float32:
		have = len(v)
	case []float64:
		have = len(v)
	case []int64:
		have = len(v)
	case []string:
		have = len(v)
		for i, s := range v {
			if !utf8.ValidString(s) {
				return fmt.Errorf("%s: string %d is not UTF-8", path, i)
			}
		}
	default:
		return fmt.Errorf("%s: values of type %T (float32, float64, int64 or string slices)", path, o.Values)
	}
	if have != n {
		return fmt.Errorf("%s: %d values for shape %v", path, have, o.Shape)
	}
	return nil
}

func containsSlash(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return true
		}
	}
	return false
}

func join(path, name string) string {
	if path == "/" {
		return "/" + name
	}
	return path + "/" + name
}

func (w *writer) addr() uint64 { return uint64(len(w.buf)) }

func (w *writer) align8() {
	for len(w.buf)%8 != 0 {
		w.buf = append(w.buf, 0)
	}
}

func (w *writer) u8(v uint8)   { w.buf = append(w.buf, v) }
func (w *writer) u16(v uint16) { w.buf = binary.LittleEndian.AppendUint16(w.buf, v) }
func (w *writer) u32(v uint32) { w.buf = binary.LittleEndian.AppendUint32(w.buf, v) }
func (w *writer) u64(v uint64) { w.buf = binary.LittleEndian.AppendUint64(w.buf, v) }

// heapStrings writes every string of the tree into one global heap
// collection (padded to the 4096 bytes the HDF5 library requires of one),
// remembering where each dataset's strings start.
func (w *writer) heapStrings(root *Object) {
	w.heapIndex = map[*Object]int{}
	var all []string
	var visit func(o *Object)
	visit = func(o *Object) {
		if o.isGroup() {
			for _, name := range sortedNames(o) {
				visit(o.Members[name])
			}
			return
		}
		if s, ok := o.Values.([]string); ok {
			w.heapIndex[o] = len(all) + 1
			all = append(all, s...)
		}
	}
	visit(root)
	if len(all) == 0 {
		return
	}
	w.align8()
	w.heapAddr = w.addr()
	start := len(w.buf)
	w.buf = append(w.buf, "GCOL"...)
	w.u8(1)
	w.buf = append(w.buf, 0, 0, 0)
	sizeAt := len(w.buf)
	w.u64(0) // collection size, below
	for i, s := range all {
		w.u16(uint16(i + 1))
		w.u16(1) // reference count
		w.u32(0)
		w.u64(uint64(len(s)))
		w.buf = append(w.buf, s...)
		w.align8()
	}
	// Object 0, the free space, to the end of the collection.
	size := max(minCollection, len(w.buf)-start+16)
	free := size - (len(w.buf) - start)
	w.u16(0)
	w.u16(0)
	w.u32(0)
	w.u64(uint64(free))
	w.buf = append(w.buf, make([]byte, free-16)...)
	binary.LittleEndian.PutUint64(w.buf[sizeAt:], uint64(size))
}

func sortedNames(o *Object) []string {
	names := make([]string, 0, len(o.Members))
	for n := range o.Members {
		names = append(names, n)
	}
	sort.Strings(names) // HDF5 requires symbol-table entries in name order
	return names
}

// header writes a version-1 object header holding msgs (type, body) and
// returns its address.
func (w *writer) header(msgs []headerMsg) uint64 {
	w.align8()
	at := w.addr()
	size := 0
	for _, m := range msgs {
		size += 8 + (len(m.body)+7)&^7
	}
	w.u8(1)
	w.u8(0)
	w.u16(uint16(len(msgs)))
	w.u32(1) // reference count
	w.u32(uint32(size))
	w.u32(0) // alignment
	for _, m := range msgs {
		n := (len(m.body) + 7) &^ 7
		w.u16(m.kind)
		w.u16(uint16(n))
		w.u8(m.flags)
		w.buf = append(w.buf, 0, 0, 0)
		w.buf = append(w.buf, m.body...)
		w.buf = append(w.buf, make([]byte, n-len(m.body))...)
	}
	return at
}

type headerMsg struct {
	kind  uint16
	flags uint8
	body  []byte
}

// group writes o's members, then its symbol table (B-tree, nodes, local
// heap) and object header; it returns the header's, the B-tree's and the
// heap's addresses.
func (w *writer) group(o *Object) (hdr, btree, heap uint64) {
	names := sortedNames(o)
	type entry struct {
		header, btree, heap uint64
		group               bool
	}
	entries := make([]entry, len(names))
	for i, n := range names {
		m := o.Members[n]
		if m.isGroup() {
			h, b, lh := w.group(m)
			entries[i] = entry{h, b, lh, true}
		} else {
			entries[i] = entry{header: w.dataset(m)}
		}
	}
	// The local heap: "" at 0, then every name, each padded to 8 bytes.
	var data []byte
	data = append(data, make([]byte, 8)...)
	offsets := make([]uint64, len(names))
	for i, n := range names {
		offsets[i] = uint64(len(data))
		data = append(data, n...)
		data = append(data, 0)
		for len(data)%8 != 0 {
			data = append(data, 0)
		}
	}
	// Symbol-table nodes of up to 2·leafK entries, each written in full.
	per := 2 * w.leafK
	var nodes []uint64
	var lastName []uint64
	for lo := 0; lo < len(names); lo += per {
		hi := min(lo+per, len(names))
		w.align8()
		nodes = append(nodes, w.addr())
		w.buf = append(w.buf, "SNOD"...)
		w.u8(1)
		w.u8(0)
		w.u16(uint16(hi - lo))
		for i := lo; i < hi; i++ {
			e := entries[i]
			w.u64(offsets[i])
			w.u64(e.header)
			if e.group {
				w.u32(1)
				w.u32(0)
				w.u64(e.btree)
				w.u64(e.heap)
			} else {
				w.u32(0)
				w.u32(0)
				w.u64(0)
				w.u64(0)
			}
		}
		w.buf = append(w.buf, make([]byte, 40*(per-(hi-lo)))...)
		lastName = append(lastName, offsets[hi-1])
	}
	// One B-tree leaf node over the symbol-table nodes, written in full:
	// key 0 is "", key i+1 the last name of node i.
	w.align8()
	btree = w.addr()
	w.buf = append(w.buf, "TREE"...)
	w.u8(0) // group node
	w.u8(0) // leaf
	w.u16(uint16(len(nodes)))
	w.u64(undefined)
	w.u64(undefined)
	w.u64(0)
	for i, n := range nodes {
		w.u64(n)
		w.u64(lastName[i])
	}
	w.buf = append(w.buf, make([]byte, 16*(2*internalK-len(nodes)))...)
	// The local heap's header, then its data segment.
	w.align8()
	heap = w.addr()
	w.buf = append(w.buf, "HEAP"...)
	w.u8(0)
	w.buf = append(w.buf, 0, 0, 0)
	w.u64(uint64(len(data)))
	w.u64(1) // no free block (the HDF5 library's H5HL_FREE_NULL)
	w.u64(heap + 32)
	w.buf = append(w.buf, data...)
	body := binary.LittleEndian.AppendUint64(nil, btree)
	body = binary.LittleEndian.AppendUint64(body, heap)
	hdr = w.header([]headerMsg{{kind: msgSymbolTable, body: body}})
	return hdr, btree, heap
}

// Datatype messages as the HDF5 library writes them.
var (
	typeFloat32 = []byte{0x11, 0x20, 0x1f, 0, 4, 0, 0, 0, 0, 0, 32, 0, 23, 8, 0, 23, 127, 0, 0, 0}
	typeFloat64 = []byte{0x11, 0x20, 0x3f, 0, 8, 0, 0, 0, 0, 0, 64, 0, 52, 11, 0, 52, 0xff, 3, 0, 0}
	typeInt64   = []byte{0x10, 0x08, 0, 0, 8, 0, 0, 0, 0, 0, 64, 0}
	// A variable-length UTF-8 string of 1-byte characters.
	typeString = []byte{0x19, 1, 1, 0, 16, 0, 0, 0, 0x10, 0, 0, 0, 1, 0, 0, 0, 0, 0, 8, 0}
	// Fill values: the library's default, defined, allocated late.
	fillNumber = []byte{2, 2, 2, 1, 0, 0, 0, 0}
	fillString = []byte{2, 2, 0, 1, 0, 0, 0, 0}
)

// dataset writes o's data and its object header; it returns the header's
// address.
func (w *writer) dataset(o *Object) uint64 {
	var typ, fill []byte
	w.align8()
	at := w.addr()
	switch v := o.Values.(type) {
	case []float32:
		typ, fill = typeFloat32, fillNumber
		for _, x := range v {
			w.u32(math.Float32bits(x))
		}
	case []float64:
		typ, fill = typeFloat64, fillNumber
		for _, x := range v {
			w.u64(math.Float64bits(x))
		}
	case []int64:
		typ, fill = typeInt64, fillNumber
		for _, x := range v {
			w.u64(uint64(x))
		}
	case []string:
		typ, fill = typeString, fillString
		first := w.heapIndex[o]
		for i, s := range v {
			w.u32(uint32(len(s)))
			w.u64(w.heapAddr)
			w.u32(uint32(first + i))
		}
	}
	size := w.addr() - at
	space := []byte{1, byte(len(o.Shape)), 0, 0, 0, 0, 0, 0}
	if len(o.Shape) > 0 {
		space[2] = 1 // maximum dimensions follow, the same
	}
	for k := 0; k < 2 && len(o.Shape) > 0; k++ {
		for _, s := range o.Shape {
			space = binary.LittleEndian.AppendUint64(space, uint64(s))
		}
	}
	layout := []byte{3, 1}
	if size == 0 {
		at = undefined // nothing stored
	}
	layout = binary.LittleEndian.AppendUint64(layout, at)
	layout = binary.LittleEndian.AppendUint64(layout, size)
	return w.header([]headerMsg{
		{kind: msgDataspace, body: space},
		{kind: msgDatatype, flags: 1, body: typ},
		{kind: msgFill, flags: 1, body: fill},
		{kind: msgLayout, body: layout},
	})
}

// superblock writes the version-0 superblock at the start of the file.
func (w *writer) superblock(rootHeader, btree, heap uint64) {
	b := w.buf[:0:superblockSize]
	b = append(b, signature...)
	b = append(b, 0, 0, 0, 0, 0, 8, 8, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(w.leafK))
	b = binary.LittleEndian.AppendUint16(b, internalK)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint64(b, 0)         // base address
	b = binary.LittleEndian.AppendUint64(b, undefined) // free space
	b = binary.LittleEndian.AppendUint64(b, uint64(len(w.buf)))
	b = binary.LittleEndian.AppendUint64(b, undefined) // driver information
	// The root group's symbol-table entry, its B-tree and heap cached.
	b = binary.LittleEndian.AppendUint64(b, 0)
	b = binary.LittleEndian.AppendUint64(b, rootHeader)
	b = binary.LittleEndian.AppendUint32(b, 1)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint64(b, btree)
	binary.LittleEndian.AppendUint64(b, heap)
}
