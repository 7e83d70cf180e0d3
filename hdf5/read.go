// Package hdf5 reads and writes the small slice of HDF5 that NIR files use
// (the Neuromorphic Intermediate Representation, neuromorphs/NIR): groups
// of datasets holding numeric arrays and strings, in pure Go and bounded.
//
// The reader takes superblock version 0 (and 1), version-1 object headers
// with continuation blocks, old-style groups (a symbol table: a version-1
// B-tree of symbol-table nodes, names in a local heap), contiguous,
// compact and chunked layouts (chunks indexed by a version-1 B-tree, with
// the deflate and shuffle filters), fixed-point and floating-point numbers
// of either byte order, fixed-length strings, and variable-length strings
// in the global heap. Everything else is an error that names the object
// and the field.
//
// Nothing in a file is trusted: every address and size is checked against
// the file before it is read, decompressed data may not exceed what its
// dataspace needs (nor deflate's largest ratio of its compressed size), B-tree
// levels must fall towards the leaves and no node is read twice, and
// groups nest at most MaxDepth deep.
package hdf5

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
)

// Limits on what a file may ask for.
const (
	// MaxDepth bounds the nesting of groups.
	MaxDepth = 64
	// MaxRank bounds the dimensions of a dataset.
	MaxRank = 32
	// MaxDatasetBytes bounds the decompressed size of one dataset.
	MaxDatasetBytes = 1 << 30
	// maxInflate is deflate's largest ratio of output to input (about
	// 1032:1), with room for headers.
	maxInflate = 1100
)

// undefined is the address HDF5 writes for "none".
const undefined = math.MaxUint64

var signature = []byte{0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'}

// File is an HDF5 file held in memory.
type File struct {
	name    string
	data    []byte
	base    uint64
	offsets int // size of an address
	lengths int // size of a length
	root    uint64
	heaps   map[uint64]map[uint32][]byte // global heap collections read so far: their objects by index, by address
	headers int                          // object headers read so far (MaxHeaderReads)
}

// MaxHeaderReads bounds the object headers one File reads: a file whose
// groups share members can make a walk of its tree exponential.
const MaxHeaderReads = 1 << 16

// Open reads the HDF5 file at path.
func Open(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("hdf5: %w", err)
	}
	return Parse(b, path)
}

// Parse reads an HDF5 file from b; name names it in errors.
func Parse(b []byte, name string) (*File, error) {
	f := &File{name: name, data: b, heaps: map[uint64]map[uint32][]byte{}}
	if err := f.superblock(); err != nil {
		return nil, f.errorf("superblock: %v", err)
	}
	return f, nil
}

func (f *File) errorf(format string, args ...any) error {
	return fmt.Errorf("hdf5: %s: "+format, append([]any{f.name}, args...)...)
}

// superblock reads the superblock. HDF5 looks for it at 0, 512, 1024, ...
func (f *File) superblock() error {
	at := -1
	for off := 0; off+len(signature) <= len(f.data); off = max(512, off*2) {
		if bytes.Equal(f.data[off:off+len(signature)], signature) {
			at = off
			break
		}
	}
	if at < 0 {
		return errors.New("no HDF5 signature (not an HDF5 file)")
	}
	r := &reader{f: f, b: f.data, pos: at + 8, what: "superblock"}
	version := r.u8()
	if r.err != nil {
		return r.err
	}
	if version > 1 {
		return fmt.Errorf("version %d (versions 0 and 1 are read)", version)
	}
	r.skip(4) // free-space, root group symbol table and shared-header versions, reserved
	f.offsets, f.lengths = int(r.u8()), int(r.u8())
	if r.err != nil {
		return r.err
	}
	if f.offsets != 8 || f.lengths != 8 {
		return fmt.Errorf("sizes of offsets %d and lengths %d (8 and 8 are read)", f.offsets, f.lengths)
	}
	r.skip(1 + 4 + 4) // reserved, group K values, consistency flags
	if version == 1 {
		r.skip(4)
	}
	f.base = r.u64()
	r.skip(8)      // free-space address
	eof := r.u64() // end-of-file address
	r.skip(8)      // driver information block
	if r.err != nil {
		return r.err
	}
	if f.base > uint64(len(f.data)) {
		return fmt.Errorf("base address %d beyond the file's %d bytes", f.base, len(f.data))
	}
	if eof != undefined && f.base+eof > uint64(len(f.data)) {
		return fmt.Errorf("the file is %d bytes, its superblock says %d: truncated", len(f.data), f.base+eof)
	}
	e, err := r.entry()
	if err != nil {
		return err
	}
	f.root = e.header
	return nil
}

// reader decodes little-endian fields from b, remembering the first error.
type reader struct {
	f    *File
	b    []byte
	pos  int
	what string // the object being read, for errors
	err  error
}

func (r *reader) need(n int) bool {
	if r.err != nil {
		return false
	}
	if n < 0 || r.pos < 0 || r.pos > len(r.b) || n > len(r.b)-r.pos {
		r.err = fmt.Errorf("%s: %d bytes at %d run past the end (%d)", r.what, n, r.pos, len(r.b))
		return false
	}
	return true
}

func (r *reader) skip(n int) {
	if r.need(n) {
		r.pos += n
	}
}

func (r *reader) bytes(n int) []byte {
	if !r.need(n) {
		return nil
	}
	b := r.b[r.pos : r.pos+n]
	r.pos += n
	return b
}

func (r *reader) u8() uint8 {
	if !r.need(1) {
		return 0
	}
	r.pos++
	return r.b[r.pos-1]
}

func (r *reader) u16() uint16 {
	if !r.need(2) {
		return 0
	}
	r.pos += 2
	return binary.LittleEndian.Uint16(r.b[r.pos-2:])
}

func (r *reader) u32() uint32 {
	if !r.need(4) {
		return 0
	}
	r.pos += 4
	return binary.LittleEndian.Uint32(r.b[r.pos-4:])
}

func (r *reader) u64() uint64 {
	if !r.need(8) {
		return 0
	}
	r.pos += 8
	return binary.LittleEndian.Uint64(r.b[r.pos-8:])
}

// at returns a reader of the file at address addr (relative to the base).
func (f *File) at(addr uint64, what string) (*reader, error) {
	if addr == undefined || addr >= uint64(len(f.data)) || f.base+addr >= uint64(len(f.data)) {
		return nil, fmt.Errorf("%s: address %d outside the file (%d bytes)", what, addr, len(f.data))
	}
	return &reader{f: f, b: f.data, pos: int(f.base + addr), what: what}, nil
}

// span returns n bytes of the file at addr, checked.
func (f *File) span(addr, n uint64, what string) ([]byte, error) {
	if addr == undefined || n > uint64(len(f.data)) || f.base+addr > uint64(len(f.data))-n {
		return nil, fmt.Errorf("%s: %d bytes at address %d run past the end of the file (%d bytes)", what, n, addr, len(f.data))
	}
	s := f.base + addr
	return f.data[s : s+n], nil
}

// symbolEntry is a symbol-table entry: a name in the local heap and an
// object header, with a scratch pad caching a group's B-tree and heap.
type symbolEntry struct {
	name         uint64
	header       uint64
	cache        uint32
	btree, lheap uint64
}

func (r *reader) entry() (symbolEntry, error) {
	var e symbolEntry
	e.name = r.u64()
	e.header = r.u64()
	e.cache = r.u32()
	r.skip(4)
	e.btree, e.lheap = r.u64(), r.u64()
	return e, r.err
}

// Message types of object headers.
const (
	msgNil          = 0x0
	msgDataspace    = 0x1
	msgLinkInfo     = 0x2
	msgDatatype     = 0x3
	msgFillOld      = 0x4
	msgFill         = 0x5
	msgLink         = 0x6
	msgLayout       = 0x8
	msgGroupInfo    = 0xa
	msgFilters      = 0xb
	msgAttribute    = 0xc
	msgComment      = 0xd
	msgModifiedOld  = 0xe
	msgContinuation = 0x10
	msgSymbolTable  = 0x11
	msgModified     = 0x12
	msgAttrInfo     = 0x15
)

type message struct {
	kind  uint16
	flags uint8
	data  []byte
}

// maxMessages bounds the messages of one object header.
const maxMessages = 1 << 16

// header reads the messages of the version-1 object header at addr,
// following continuation blocks (each read once).
func (f *File) header(addr uint64, what string) ([]message, error) {
	if f.headers++; f.headers > MaxHeaderReads {
		return nil, fmt.Errorf("%s: more than %d object headers read from one file", what, MaxHeaderReads)
	}
	r, err := f.at(addr, what+": object header")
	if err != nil {
		return nil, err
	}
	version := r.u8()
	r.skip(1)
	count := int(r.u16())
	r.skip(4) // reference count
	size := r.u32()
	r.skip(4) // alignment of the messages to 8 bytes
	if r.err != nil {
		return nil, r.err
	}
	if version != 1 {
		if r.b[r.pos-16] == 'O' {
			return nil, fmt.Errorf("%s: a version-2 object header (OHDR); version 1 is read", what)
		}
		return nil, fmt.Errorf("%s: object header version %d (version 1 is read)", what, version)
	}
	type block struct{ addr, size uint64 }
	blocks := []block{{addr + 16, uint64(size)}}
	seen := map[uint64]bool{}
	var msgs []message
	for len(blocks) > 0 {
		b := blocks[0]
		blocks = blocks[1:]
		if seen[b.addr] {
			return nil, fmt.Errorf("%s: object header continuation at %d read twice (a cycle)", what, b.addr)
		}
		seen[b.addr] = true
		raw, err := f.span(b.addr, b.size, what+": object header messages")
		if err != nil {
			return nil, err
		}
		mr := &reader{f: f, b: raw, what: what + ": object header message"}
		for mr.pos+8 <= len(raw) {
			m := message{kind: mr.u16()}
			n := int(mr.u16())
			m.flags = mr.u8()
			mr.skip(3)
			m.data = mr.bytes(n)
			if mr.err != nil {
				return nil, mr.err
			}
			if len(msgs) >= maxMessages {
				return nil, fmt.Errorf("%s: more than %d header messages", what, maxMessages)
			}
			if m.kind == msgContinuation {
				cr := &reader{f: f, b: m.data, what: what + ": continuation message"}
				ca, cs := cr.u64(), cr.u64()
				if cr.err != nil {
					return nil, cr.err
				}
				blocks = append(blocks, block{ca, cs})
				continue
			}
			msgs = append(msgs, m)
		}
	}
	if len(msgs) > count {
		return nil, fmt.Errorf("%s: %d header messages, its header says %d", what, len(msgs), count)
	}
	return msgs, nil
}

// Group is a group of the file: named members, groups or datasets.
type Group struct {
	f         *File
	path      string
	addr      uint64
	ancestors []uint64          // the groups it is in, from the root
	members   map[string]uint64 // name → object header address
	names     []string          // sorted
}

// Root returns the file's root group.
func (f *File) Root() (*Group, error) {
	return f.group(f.root, "/", nil)
}

// group reads the group at addr, inside the groups ancestors.
func (f *File) group(addr uint64, path string, ancestors []uint64) (*Group, error) {
	if len(ancestors) >= MaxDepth {
		return nil, f.errorf("%s: groups nest more than %d deep", path, MaxDepth)
	}
	if slices.Contains(ancestors, addr) {
		return nil, f.errorf("%s: a group that contains itself (a cycle)", path)
	}
	msgs, err := f.header(addr, path)
	if err != nil {
		return nil, f.errorf("%v", err)
	}
	g := &Group{f: f, path: path, addr: addr, ancestors: ancestors, members: map[string]uint64{}}
	for _, m := range msgs {
		switch m.kind {
		case msgSymbolTable:
			r := &reader{f: f, b: m.data, what: path + ": symbol table message"}
			bt, heap := r.u64(), r.u64()
			if r.err != nil {
				return nil, f.errorf("%v", r.err)
			}
			if err := g.readSymbols(bt, heap); err != nil {
				return nil, f.errorf("%s: %v", path, err)
			}
			sort.Strings(g.names)
			return g, nil
		case msgLink, msgLinkInfo:
			return nil, f.errorf("%s: a new-style group (link messages); old-style groups (symbol tables) are read", path)
		}
	}
	return nil, f.errorf("%s: not a group (no symbol table message)", path)
}

// readSymbols walks the group's B-tree of symbol-table nodes.
func (g *Group) readSymbols(btree, lheap uint64) error {
	f := g.f
	heap, err := f.localHeap(lheap)
	if err != nil {
		return err
	}
	seen := map[uint64]bool{}
	var walk func(addr uint64, level int) error
	walk = func(addr uint64, level int) error {
		r, lvl, used, err := f.treeNode(addr, 0, level, seen)
		if err != nil {
			return err
		}
		r.skip(8) // key 0
		for i := 0; i < used; i++ {
			child := r.u64()
			r.skip(8) // key i+1
			if r.err != nil {
				return r.err
			}
			if lvl > 0 {
				if err := walk(child, lvl); err != nil {
					return err
				}
				continue
			}
			if err := g.readNode(child, heap, seen); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(btree, -1)
}

// treeNode reads the header of the version-1 B-tree node at addr, of
// type kind (0: group, 1: chunks), under a node of level parent (-1: the
// root), and returns a reader at its first key, its level and its entries.
// A node reached twice (seen) is a cycle, and levels must fall towards the
// leaves, so no walk loops.
func (f *File) treeNode(addr uint64, kind uint8, parent int, seen map[uint64]bool) (*reader, int, int, error) {
	what := [...]string{"group", "chunk"}[kind] + " B-tree node"
	if seen[addr] {
		return nil, 0, 0, fmt.Errorf("%s at %d reached twice (a cycle)", what, addr)
	}
	seen[addr] = true
	r, err := f.at(addr, what)
	if err != nil {
		return nil, 0, 0, err
	}
	if sig := r.bytes(4); r.err == nil && string(sig) != "TREE" {
		return nil, 0, 0, fmt.Errorf("%s at %d: signature %q, not TREE", what, addr, sig)
	}
	typ, lvl, used := r.u8(), int(r.u8()), int(r.u16())
	r.skip(16) // siblings
	if r.err != nil {
		return nil, 0, 0, r.err
	}
	if typ != kind {
		return nil, 0, 0, fmt.Errorf("%s at %d: type %d", what, addr, typ)
	}
	if parent >= 0 && lvl >= parent {
		return nil, 0, 0, fmt.Errorf("%s at %d: level %d under a node of level %d", what, addr, lvl, parent)
	}
	return r, lvl, used, nil
}

// readNode reads one symbol-table node (SNOD) of the group.
func (g *Group) readNode(addr uint64, heap []byte, seen map[uint64]bool) error {
	if seen[addr] {
		return fmt.Errorf("symbol table node at %d reached twice (a cycle)", addr)
	}
	seen[addr] = true
	r, err := g.f.at(addr, "symbol table node")
	if err != nil {
		return err
	}
	if sig := r.bytes(4); r.err == nil && string(sig) != "SNOD" {
		return fmt.Errorf("symbol table node at %d: signature %q, not SNOD", addr, sig)
	}
	r.skip(2) // version, reserved
	n := int(r.u16())
	for i := 0; i < n; i++ {
		e, err := r.entry()
		if err != nil {
			return err
		}
		name, err := heapString(heap, e.name)
		if err != nil {
			return fmt.Errorf("symbol table node at %d, entry %d: %v", addr, i, err)
		}
		if _, dup := g.members[name]; dup {
			return fmt.Errorf("member %q listed twice", name)
		}
		g.members[name] = e.header
		g.names = append(g.names, name)
	}
	return r.err
}

// localHeap returns the data segment of the local heap at addr.
func (f *File) localHeap(addr uint64) ([]byte, error) {
	r, err := f.at(addr, "local heap")
	if err != nil {
		return nil, err
	}
	if sig := r.bytes(4); r.err == nil && string(sig) != "HEAP" {
		return nil, fmt.Errorf("local heap at %d: signature %q, not HEAP", addr, sig)
	}
	r.skip(4) // version, reserved
	size := r.u64()
	r.skip(8) // free list
	data := r.u64()
	if r.err != nil {
		return nil, r.err
	}
	return f.span(data, size, "local heap data")
}

// heapString reads the NUL-terminated string at off of a local heap.
func heapString(heap []byte, off uint64) (string, error) {
	if off >= uint64(len(heap)) {
		return "", fmt.Errorf("name at heap offset %d outside the heap (%d bytes)", off, len(heap))
	}
	s := heap[off:]
	end := bytes.IndexByte(s, 0)
	if end < 0 {
		return "", fmt.Errorf("name at heap offset %d not terminated", off)
	}
	return string(s[:end]), nil
}

// Path returns the group's path in the file.
func (g *Group) Path() string { return g.path }

// Names returns the names of the group's members, sorted.
func (g *Group) Names() []string { return append([]string(nil), g.names...) }

func (g *Group) child(name string) string {
	if g.path == "/" {
		return "/" + name
	}
	return g.path + "/" + name
}

// Has reports whether the group has a member name.
func (g *Group) Has(name string) bool {
	_, ok := g.members[name]
	return ok
}

// IsGroup reports whether member name is a group.
func (g *Group) IsGroup(name string) (bool, error) {
	addr, ok := g.members[name]
	if !ok {
		return false, g.f.errorf("%s: no member %q", g.path, name)
	}
	msgs, err := g.f.header(addr, g.child(name))
	if err != nil {
		return false, g.f.errorf("%v", err)
	}
	for _, m := range msgs {
		if m.kind == msgSymbolTable || m.kind == msgLinkInfo || m.kind == msgLink {
			return true, nil
		}
	}
	return false, nil
}

// Group returns member name, a group.
func (g *Group) Group(name string) (*Group, error) {
	addr, ok := g.members[name]
	if !ok {
		return nil, g.f.errorf("%s: no group %q", g.path, name)
	}
	return g.f.group(addr, g.child(name), append(slices.Clip(g.ancestors), g.addr))
}

// Dataset returns member name, a dataset.
func (g *Group) Dataset(name string) (*Dataset, error) {
	addr, ok := g.members[name]
	if !ok {
		return nil, g.f.errorf("%s: no dataset %q", g.path, name)
	}
	d, err := g.f.dataset(addr, g.child(name))
	if err != nil {
		return nil, g.f.errorf("%v", err)
	}
	return d, nil
}

// Class is the kind of a dataset's elements.
type Class int

// The element classes the reader takes.
const (
	Int    Class = iota // fixed-point, signed or not
	Float               // IEEE floating point
	String              // fixed- or variable-length string
)

// String names the class: integer, float or string.
func (c Class) String() string {
	return [...]string{"integer", "float", "string"}[c]
}

// Datatype describes a dataset's elements.
type Datatype struct {
	Class     Class
	Size      int  // bytes of one element (16 for a variable-length string's reference)
	Signed    bool // Int
	BigEndian bool // Int, Float
	Variable  bool // String: variable-length, in the global heap
}

// Dataset is a dataset of the file: its shape, type and where its data
// lives. Its values are read on demand.
type Dataset struct {
	f      *File
	Path   string
	Shape  []int // [] for a scalar
	Type   Datatype
	layout layout
}

type layout struct {
	class   int // 0 compact, 1 contiguous, 2 chunked
	compact []byte
	addr    uint64
	size    uint64
	chunk   []int // chunked: chunk dimensions (without the element size)
	filters []filter
}

type filter struct {
	id     uint16
	flags  uint16
	client []uint32
}

// Filters the reader applies.
const (
	filterDeflate = 1
	filterShuffle = 2
)

func (f *File) dataset(addr uint64, path string) (*Dataset, error) {
	msgs, err := f.header(addr, path)
	if err != nil {
		return nil, err
	}
	d := &Dataset{f: f, Path: path}
	var haveSpace, haveType, haveLayout bool
	var filters []filter
	for _, m := range msgs {
		if m.flags&0x2 != 0 && (m.kind == msgDatatype || m.kind == msgDataspace || m.kind == msgLayout || m.kind == msgFilters) {
			return nil, fmt.Errorf("%s: a shared message (type %d); unshared messages are read", path, m.kind)
		}
		switch m.kind {
		case msgDataspace:
			if d.Shape, err = dataspace(m.data); err != nil {
				return nil, fmt.Errorf("%s: dataspace: %v", path, err)
			}
			haveSpace = true
		case msgDatatype:
			if d.Type, err = datatype(m.data); err != nil {
				return nil, fmt.Errorf("%s: datatype: %v", path, err)
			}
			haveType = true
		case msgLayout:
			if d.layout, err = parseLayout(m.data); err != nil {
				return nil, fmt.Errorf("%s: data layout: %v", path, err)
			}
			haveLayout = true
		case msgFilters:
			if filters, err = parseFilters(m.data); err != nil {
				return nil, fmt.Errorf("%s: filter pipeline: %v", path, err)
			}
		case msgSymbolTable, msgLinkInfo, msgLink:
			return nil, fmt.Errorf("%s: a group, not a dataset", path)
		}
	}
	switch {
	case !haveSpace:
		return nil, fmt.Errorf("%s: not a dataset (no dataspace message)", path)
	case !haveType:
		return nil, fmt.Errorf("%s: no datatype message", path)
	case !haveLayout:
		return nil, fmt.Errorf("%s: no data layout message", path)
	}
	d.layout.filters = filters
	if len(filters) > 0 && d.layout.class != 2 {
		return nil, fmt.Errorf("%s: filters on a dataset that is not chunked", path)
	}
	if d.layout.class == 2 && len(d.layout.chunk) != len(d.Shape) {
		return nil, fmt.Errorf("%s: chunks of %d dimensions for a dataset of %d", path, len(d.layout.chunk), len(d.Shape))
	}
	// What the file can hold: its bytes, or deflate's largest ratio of
	// them (an unwritten dataset reads as zeros, but not gigabytes of them
	// from a file of a few bytes).
	limit := min(int64(MaxDatasetBytes), int64(len(f.data))*maxInflate+4096)
	// An element costs at least 8 bytes once read (a float64, or a
	// string's header).
	if n := d.Len(); n < 0 || int64(n)*int64(max(d.Type.Size, 16)) > limit {
		return nil, fmt.Errorf("%s: shape %v of %d-byte elements is more than the %d bytes a file of %d can hold", path, d.Shape, d.Type.Size, limit, len(f.data))
	}
	return d, nil
}

// Len returns the number of elements (1 for a scalar), or -1 when it
// overflows.
func (d *Dataset) Len() int {
	n := 1
	for _, s := range d.Shape {
		if s != 0 && n > math.MaxInt32/s {
			return -1
		}
		n *= s
	}
	return n
}

func dataspace(b []byte) ([]int, error) {
	r := &reader{b: b, what: "dataspace"}
	version := r.u8()
	rank := int(r.u8())
	flags := r.u8()
	switch version {
	case 1:
		r.skip(5)
	case 2:
		if t := r.u8(); t == 2 {
			return nil, errors.New("a null dataspace (no data)")
		}
	default:
		if r.err == nil {
			return nil, fmt.Errorf("version %d (1 and 2 are read)", version)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if rank > MaxRank {
		return nil, fmt.Errorf("rank %d (at most %d)", rank, MaxRank)
	}
	shape := make([]int, rank)
	for i := range shape {
		v := r.u64()
		if v > math.MaxInt32 {
			return nil, fmt.Errorf("dimension %d of size %d", i, v)
		}
		shape[i] = int(v)
	}
	_ = flags // maximum dimensions may follow; they do not matter here
	return shape, r.err
}

func datatype(b []byte) (Datatype, error) {
	r := &reader{b: b, what: "datatype"}
	cv := r.u8()
	bits := r.bytes(3)
	size := r.u32()
	if r.err != nil {
		return Datatype{}, r.err
	}
	class, version := cv&0xf, cv>>4
	if version < 1 || version > 3 {
		return Datatype{}, fmt.Errorf("version %d", version)
	}
	t := Datatype{Size: int(size)}
	switch class {
	case 0: // fixed-point
		t.Class, t.BigEndian, t.Signed = Int, bits[0]&1 != 0, bits[0]&8 != 0
		if size != 1 && size != 2 && size != 4 && size != 8 {
			return Datatype{}, fmt.Errorf("a %d-byte integer (1, 2, 4 or 8 are read)", size)
		}
	case 1: // floating point
		t.Class, t.BigEndian = Float, bits[0]&1 != 0
		if bits[0]&0x40 != 0 {
			return Datatype{}, errors.New("a VAX-order float")
		}
		if size != 4 && size != 8 {
			return Datatype{}, fmt.Errorf("a %d-byte float (4 or 8 are read)", size)
		}
	case 3: // fixed-length string
		t.Class = String
		if size == 0 || size > 1<<20 {
			return Datatype{}, fmt.Errorf("a string of %d bytes", size)
		}
	case 9: // variable length
		if bits[0]&0xf != 1 {
			return Datatype{}, errors.New("a variable-length sequence (variable-length strings are read)")
		}
		t.Class, t.Variable, t.Size = String, true, 16
	default:
		return Datatype{}, fmt.Errorf("class %d (integers, floats and strings are read)", class)
	}
	return t, nil
}

func parseLayout(b []byte) (layout, error) {
	r := &reader{b: b, what: "layout"}
	version := r.u8()
	if r.err == nil && version != 3 {
		return layout{}, fmt.Errorf("version %d (version 3 is read)", version)
	}
	var l layout
	l.class = int(r.u8())
	switch l.class {
	case 0:
		n := int(r.u16())
		l.compact = r.bytes(n)
	case 1:
		l.addr, l.size = r.u64(), r.u64()
	case 2:
		dims := int(r.u8())
		l.addr = r.u64()
		if r.err == nil && (dims < 1 || dims > MaxRank+1) {
			return layout{}, fmt.Errorf("chunks of %d dimensions", dims)
		}
		for i := 0; i < dims && r.err == nil; i++ {
			v := r.u32()
			if v == 0 {
				return layout{}, fmt.Errorf("chunk dimension %d is 0", i)
			}
			l.chunk = append(l.chunk, int(v))
		}
		if r.err == nil {
			l.chunk = l.chunk[:dims-1] // the last is the element size
		}
	default:
		if r.err == nil {
			return layout{}, fmt.Errorf("class %d (compact, contiguous and chunked are read)", l.class)
		}
	}
	return l, r.err
}

func parseFilters(b []byte) ([]filter, error) {
	r := &reader{b: b, what: "filter pipeline"}
	version := r.u8()
	n := int(r.u8())
	if version == 1 {
		r.skip(6)
	} else if r.err == nil && version != 2 {
		return nil, fmt.Errorf("version %d (1 and 2 are read)", version)
	}
	var fs []filter
	for i := 0; i < n && r.err == nil; i++ {
		var f filter
		f.id = r.u16()
		nameLen := 0
		if version == 1 || f.id >= 256 {
			nameLen = int(r.u16())
		}
		f.flags = r.u16()
		values := int(r.u16())
		if version == 1 {
			nameLen = (nameLen + 7) &^ 7
		}
		r.skip(nameLen)
		if values > 256 {
			return nil, fmt.Errorf("filter %d has %d client values", f.id, values)
		}
		for k := 0; k < values; k++ {
			f.client = append(f.client, r.u32())
		}
		if version == 1 && values%2 == 1 {
			r.skip(4)
		}
		if r.err == nil && f.id != filterDeflate && f.id != filterShuffle {
			if f.flags&1 != 0 { // optional: skipped when it could not run
				continue
			}
			return nil, fmt.Errorf("filter %d (deflate and shuffle are read)", f.id)
		}
		fs = append(fs, f)
	}
	return fs, r.err
}

// raw returns the dataset's bytes, in row-major order.
func (d *Dataset) raw() ([]byte, error) {
	n := d.Len() * d.Type.Size
	l := &d.layout
	switch l.class {
	case 0:
		if len(l.compact) < n {
			return nil, fmt.Errorf("%s: %d compact bytes for %d values of %d bytes", d.Path, len(l.compact), d.Len(), d.Type.Size)
		}
		return l.compact[:n], nil
	case 1:
		if l.addr == undefined {
			return make([]byte, n), nil // never written: the fill value, zeros
		}
		if l.size < uint64(n) {
			return nil, fmt.Errorf("%s: %d contiguous bytes for %d values of %d bytes", d.Path, l.size, d.Len(), d.Type.Size)
		}
		return d.f.span(l.addr, uint64(n), d.Path+": data")
	}
	return d.chunked(n)
}

// chunked assembles a chunked dataset from its B-tree of chunks.
func (d *Dataset) chunked(n int) ([]byte, error) {
	out := make([]byte, n)
	l := &d.layout
	if l.addr == undefined {
		return out, nil
	}
	rank := len(d.Shape)
	es := d.Type.Size
	chunkLen := es
	for _, c := range l.chunk {
		if chunkLen > MaxDatasetBytes/c {
			return nil, fmt.Errorf("%s: chunks of %v are too large", d.Path, l.chunk)
		}
		chunkLen *= c
	}
	seen := map[uint64]bool{}
	var walk func(addr uint64, level int) error
	walk = func(addr uint64, level int) error {
		r, lvl, used, err := d.f.treeNode(addr, 1, level, seen)
		if err != nil {
			return err
		}
		offs := make([]uint64, rank+1)
		for i := 0; i < used; i++ {
			size := r.u32()
			mask := r.u32()
			for k := range offs {
				offs[k] = r.u64()
			}
			child := r.u64()
			if r.err != nil {
				return r.err
			}
			if lvl > 0 {
				if err := walk(child, lvl); err != nil {
					return err
				}
				continue
			}
			if seen[child] {
				return fmt.Errorf("chunk at %d listed twice", child)
			}
			seen[child] = true
			stored, err := d.f.span(child, uint64(size), d.Path+": chunk")
			if err != nil {
				return err
			}
			data, err := d.unfilter(stored, mask, chunkLen)
			if err != nil {
				return fmt.Errorf("chunk at %v: %v", offs[:rank], err)
			}
			if err := d.place(out, data, offs[:rank]); err != nil {
				return err
			}
		}
		return r.skipKey(rank)
	}
	if err := walk(l.addr, -1); err != nil {
		return nil, fmt.Errorf("%s: %v", d.Path, err)
	}
	return out, nil
}

// skipKey skips a chunk B-tree's last key.
func (r *reader) skipKey(rank int) error {
	r.skip(8 + 8*(rank+1))
	return r.err
}

// unfilter undoes the filter pipeline on a stored chunk (in reverse
// order), skipping the filters mask excludes; the result must be want bytes.
func (d *Dataset) unfilter(b []byte, mask uint32, want int) ([]byte, error) {
	fs := d.layout.filters
	for i := len(fs) - 1; i >= 0; i-- {
		if mask&(1<<i) != 0 {
			continue
		}
		switch fs[i].id {
		case filterDeflate:
			zr, err := zlib.NewReader(bytes.NewReader(b))
			if err != nil {
				return nil, fmt.Errorf("deflate: %v", err)
			}
			limit := min(int64(want), int64(len(b))*maxInflate+64)
			out, err := io.ReadAll(io.LimitReader(zr, limit+1))
			if err != nil {
				return nil, fmt.Errorf("deflate: %v", err)
			}
			if int64(len(out)) > limit {
				return nil, fmt.Errorf("deflate: more than the chunk's %d bytes", want)
			}
			b = out
		case filterShuffle:
			es := d.Type.Size
			if len(fs[i].client) > 0 {
				es = int(fs[i].client[0])
			}
			if es > 1 {
				b = unshuffle(b, es)
			}
		}
	}
	if len(b) != want {
		return nil, fmt.Errorf("%d bytes, a chunk holds %d", len(b), want)
	}
	return b, nil
}

// unshuffle undoes HDF5's byte shuffle: the k-th bytes of all elements
// were stored together.
func unshuffle(b []byte, es int) []byte {
	n := len(b) / es
	out := make([]byte, len(b))
	for k := 0; k < es; k++ {
		for i := 0; i < n; i++ {
			out[i*es+k] = b[k*n+i]
		}
	}
	copy(out[n*es:], b[n*es:]) // leftover bytes stay in place
	return out
}

// place copies a chunk at element offsets offs into the dataset's bytes,
// clipping at the dataset's edges.
func (d *Dataset) place(out, chunk []byte, offs []uint64) error {
	rank, es := len(d.Shape), d.Type.Size
	cs := d.layout.chunk
	for k, o := range offs {
		if o >= uint64(max(d.Shape[k], 1)) || o%uint64(cs[k]) != 0 {
			return fmt.Errorf("chunk offset %v outside the dataset's %v or off the chunk grid %v", offs, d.Shape, cs)
		}
	}
	if rank == 0 {
		copy(out, chunk[:es])
		return nil
	}
	// Row by row of the last dimension.
	idx := make([]int, rank-1) // position within the chunk, leading dims
	rowLen := min(cs[rank-1], d.Shape[rank-1]-int(offs[rank-1]))
	for {
		src, dst := 0, 0
		inside := true
		for k := 0; k < rank-1; k++ {
			p := int(offs[k]) + idx[k]
			if p >= d.Shape[k] {
				inside = false
			}
			src = src*cs[k] + idx[k]
			dst = dst*d.Shape[k] + p
		}
		if inside {
			src = src * cs[rank-1] * es
			dst = (dst*d.Shape[rank-1] + int(offs[rank-1])) * es
			copy(out[dst:dst+rowLen*es], chunk[src:src+rowLen*es])
		}
		k := rank - 2
		for ; k >= 0; k-- {
			if idx[k]++; idx[k] < cs[k] {
				break
			}
			idx[k] = 0
		}
		if k < 0 {
			return nil
		}
	}
}

// Float64s returns the dataset's numbers (integers or floats) as float64.
func (d *Dataset) Float64s() ([]float64, error) {
	if d.Type.Class == String {
		return nil, d.f.errorf("%s: strings, not numbers", d.Path)
	}
	b, err := d.raw()
	if err != nil {
		return nil, d.f.errorf("%v", err)
	}
	out := make([]float64, d.Len())
	var order binary.ByteOrder = binary.LittleEndian
	if d.Type.BigEndian {
		order = binary.BigEndian
	}
	es := d.Type.Size
	for i := range out {
		e := b[i*es : (i+1)*es]
		switch {
		case d.Type.Class == Float && es == 4:
			out[i] = float64(math.Float32frombits(order.Uint32(e)))
		case d.Type.Class == Float:
			out[i] = math.Float64frombits(order.Uint64(e))
		default:
			var u uint64
			switch es {
			case 1:
				u = uint64(e[0])
			case 2:
				u = uint64(order.Uint16(e))
			case 4:
				u = uint64(order.Uint32(e))
			default:
				u = order.Uint64(e)
			}
			if d.Type.Signed {
				shift := 64 - 8*es
				out[i] = float64(int64(u<<shift) >> shift)
			} else {
				out[i] = float64(u)
			}
		}
	}
	return out, nil
}

// Strings returns the dataset's strings: fixed-length ones up to their
// first NUL, variable-length ones from the global heap.
func (d *Dataset) Strings() ([]string, error) {
	if d.Type.Class != String {
		return nil, d.f.errorf("%s: %s values, not strings", d.Path, d.Type.Class)
	}
	b, err := d.raw()
	if err != nil {
		return nil, d.f.errorf("%v", err)
	}
	out := make([]string, d.Len())
	es := d.Type.Size
	for i := range out {
		e := b[i*es : (i+1)*es]
		if !d.Type.Variable {
			if z := bytes.IndexByte(e, 0); z >= 0 {
				e = e[:z]
			}
			out[i] = string(e)
			continue
		}
		n := binary.LittleEndian.Uint32(e)
		coll := binary.LittleEndian.Uint64(e[4:])
		index := binary.LittleEndian.Uint32(e[12:])
		s, err := d.f.globalObject(coll, index)
		if err != nil {
			return nil, d.f.errorf("%s: string %d: %v", d.Path, i, err)
		}
		if uint64(n) > uint64(len(s)) {
			return nil, d.f.errorf("%s: string %d of %d bytes, its heap object holds %d", d.Path, i, n, len(s))
		}
		out[i] = string(s[:n])
	}
	return out, nil
}

// globalObject returns object index of the global heap collection at addr.
// A collection is indexed once, when first read: a dataset of many strings
// costs one pass over it, not one per string.
func (f *File) globalObject(addr uint64, index uint32) ([]byte, error) {
	objs, ok := f.heaps[addr]
	if !ok {
		var err error
		if objs, err = f.readCollection(addr); err != nil {
			return nil, err
		}
		f.heaps[addr] = objs
	}
	data, ok := objs[index]
	if !ok {
		return nil, fmt.Errorf("global heap at %d has no object %d", addr, index)
	}
	return data, nil
}

// readCollection reads the objects of the global heap collection at addr.
func (f *File) readCollection(addr uint64) (map[uint32][]byte, error) {
	r, err := f.at(addr, "global heap")
	if err != nil {
		return nil, err
	}
	if sig := r.bytes(4); r.err == nil && string(sig) != "GCOL" {
		return nil, fmt.Errorf("global heap at %d: signature %q, not GCOL", addr, sig)
	}
	r.skip(4)
	size := r.u64()
	if r.err != nil {
		return nil, r.err
	}
	if size < 16 {
		return nil, fmt.Errorf("global heap at %d: size %d", addr, size)
	}
	coll, err := f.span(addr, size, "global heap")
	if err != nil {
		return nil, err
	}
	objs := map[uint32][]byte{}
	cr := &reader{f: f, b: coll, pos: 16, what: "global heap object"}
	for cr.pos+16 <= len(coll) {
		idx := cr.u16()
		cr.skip(6)
		n := cr.u64()
		if cr.err != nil {
			return nil, cr.err
		}
		if idx == 0 {
			break // free space: the rest of the collection
		}
		if n > uint64(len(coll)) {
			return nil, fmt.Errorf("global heap object %d of %d bytes in a collection of %d", idx, n, len(coll))
		}
		data := cr.bytes(int(n))
		if cr.err != nil {
			return nil, cr.err
		}
		if _, dup := objs[uint32(idx)]; !dup {
			objs[uint32(idx)] = data
		}
		if pad := int((8 - n%8) % 8); cr.pos+pad <= len(coll) {
			cr.pos += pad
		} else {
			break
		}
	}
	return objs, nil
}
