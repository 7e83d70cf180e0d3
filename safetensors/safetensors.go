// Package safetensors reads and writes the safetensors format of Hugging
// Face (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length, a JSON header mapping tensor names to dtype, shape and byte
// offsets (plus an optional "__metadata__" object of strings), then the raw
// little-endian tensor bytes.
//
// The reader trusts nothing in a file: it bounds the header size, rejects
// duplicated names, unknown dtypes, offsets that overrun the data, overlap or
// leave holes, and shapes whose element count disagrees with the byte range,
// all before allocating anything sized by the header.
package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/snnkit/snnkit/internal/atomicfile"
)

// MaxHeaderSize is the largest JSON header accepted (as in the reference
// implementation, 100 MB).
const MaxHeaderSize = 100 << 20

// MaxRank is the largest number of dimensions accepted for a tensor.
const MaxRank = 16

// DType is a safetensors element type.
type DType string

// Element types.
const (
	F64  DType = "F64"
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U64  DType = "U64"
	U32  DType = "U32"
	U16  DType = "U16"
	U8   DType = "U8"
	Bool DType = "BOOL"
)

// Size returns the bytes per element, or 0 for an unknown type.
func (d DType) Size() int {
	switch d {
	case F64, I64, U64:
		return 8
	case F32, I32, U32:
		return 4
	case F16, BF16, I16, U16:
		return 2
	case I8, U8, Bool:
		return 1
	}
	return 0
}

// Tensor is one named tensor: its type, shape and raw little-endian bytes.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// File is the content of a safetensors file.
type File struct {
	Metadata map[string]string
	Tensors  []Tensor // in the order of their data in the file
	index    map[string]int
}

// Get returns the tensor with the given name.
func (f *File) Get(name string) (*Tensor, bool) {
	i, ok := f.index[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// Names returns the tensor names in file order.
func (f *File) Names() []string {
	n := make([]string, len(f.Tensors))
	for i, t := range f.Tensors {
		n[i] = t.Name
	}
	return n
}

type entry struct {
	DType       DType   `json:"dtype"`
	Shape       []int64 `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

// Parse decodes a whole safetensors file held in memory. Tensor data
// aliases b.
func Parse(b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("safetensors: file of %d bytes is too short for the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if n > MaxHeaderSize {
		return nil, fmt.Errorf("safetensors: header length %d exceeds the limit %d", n, MaxHeaderSize)
	}
	if n > uint64(len(b)-8) {
		return nil, fmt.Errorf("safetensors: header length %d overruns the file (%d bytes after the length)", n, len(b)-8)
	}
	header := b[8 : 8+n]
	data := b[8+n:]
	entries, order, meta, err := parseHeader(header)
	if err != nil {
		return nil, fmt.Errorf("safetensors: header: %w", err)
	}
	f := &File{Metadata: meta, index: make(map[string]int, len(order))}
	type span struct {
		name       string
		begin, end int64
	}
	spans := make([]span, 0, len(order))
	for _, name := range order {
		e := entries[name]
		size := e.DType.Size()
		if size == 0 {
			return nil, fmt.Errorf("safetensors: tensor %q: unknown dtype %q", name, e.DType)
		}
		if e.Shape == nil {
			return nil, fmt.Errorf("safetensors: tensor %q: missing shape", name)
		}
		if len(e.Shape) > MaxRank {
			return nil, fmt.Errorf("safetensors: tensor %q: %d dimensions, more than %d", name, len(e.Shape), MaxRank)
		}
		if len(e.DataOffsets) != 2 {
			return nil, fmt.Errorf("safetensors: tensor %q: data_offsets must be [begin, end]", name)
		}
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		if begin < 0 || end < begin || end > int64(len(data)) {
			return nil, fmt.Errorf("safetensors: tensor %q: data_offsets [%d, %d] outside the %d data bytes", name, begin, end, len(data))
		}
		// The element count must equal the byte range; compute it without
		// overflow, bounded by the data actually present.
		numel := int64(1)
		for _, d := range e.Shape {
			if d < 0 {
				return nil, fmt.Errorf("safetensors: tensor %q: negative dimension in shape %v", name, e.Shape)
			}
			if d != 0 && numel > (end-begin)/int64(size)/d+1 {
				return nil, fmt.Errorf("safetensors: tensor %q: shape %v does not fit its %d bytes", name, e.Shape, end-begin)
			}
			numel *= d
		}
		if numel*int64(size) != end-begin {
			return nil, fmt.Errorf("safetensors: tensor %q: shape %v of %s needs %d bytes, data_offsets give %d", name, e.Shape, e.DType, numel*int64(size), end-begin)
		}
		shape := make([]int, len(e.Shape))
		for i, d := range e.Shape {
			shape[i] = int(d)
		}
		spans = append(spans, span{name, begin, end})
		f.Tensors = append(f.Tensors, Tensor{Name: name, DType: e.DType, Shape: shape, Data: data[begin:end:end]})
	}
	// Tensors must tile the data exactly: sorted by offset, no overlap, no hole.
	idx := make([]int, len(spans))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return spans[idx[a]].begin < spans[idx[b]].begin })
	var pos int64
	for _, i := range idx {
		s := spans[i]
		if s.begin != pos {
			return nil, fmt.Errorf("safetensors: tensor %q starts at byte %d, expected %d (overlapping or missing data)", s.name, s.begin, pos)
		}
		pos = s.end
	}
	if pos != int64(len(data)) {
		return nil, fmt.Errorf("safetensors: tensors cover %d data bytes but the file holds %d", pos, len(data))
	}
	sorted := make([]Tensor, len(idx))
	for j, i := range idx {
		sorted[j] = f.Tensors[i]
		f.index[sorted[j].Name] = j
	}
	f.Tensors = sorted
	return f, nil
}

// parseHeader decodes the header object, rejecting duplicated keys, which a
// plain map decode would silently merge.
func parseHeader(h []byte) (map[string]entry, []string, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(h))
	if err := expectDelim(dec, '{'); err != nil {
		return nil, nil, nil, err
	}
	entries := map[string]entry{}
	var order []string
	var meta map[string]string
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, nil, err
		}
		key := tok.(string)
		if seen[key] {
			return nil, nil, nil, fmt.Errorf("duplicated name %q", key)
		}
		seen[key] = true
		if key == "__metadata__" {
			if meta, err = parseMetadata(dec); err != nil {
				return nil, nil, nil, fmt.Errorf("__metadata__: %w", err)
			}
			continue
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, nil, fmt.Errorf("tensor %q: %w", key, err)
		}
		var e entry
		d := json.NewDecoder(bytes.NewReader(raw))
		d.DisallowUnknownFields()
		if err := d.Decode(&e); err != nil {
			return nil, nil, nil, fmt.Errorf("tensor %q: %w", key, err)
		}
		entries[key] = e
		order = append(order, key)
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, nil, nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, nil, errors.New("trailing data after the header object")
	}
	return entries, order, meta, nil
}

func parseMetadata(dec *json.Decoder) (map[string]string, error) {
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	meta := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string)
		if _, dup := meta[key]; dup {
			return nil, fmt.Errorf("duplicated key %q", key)
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("key %q: values must be strings: %w", key, err)
		}
		meta[key] = v
	}
	return meta, expectDelim(dec, '}')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("expected %q, found %v", want, tok)
	}
	return nil
}

// ReadFile reads and parses a safetensors file; errors name the file.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Write encodes tensors (data laid out in the given order) and metadata.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	var h bytes.Buffer
	h.WriteByte('{')
	first := true
	if len(metadata) > 0 {
		m, err := json.Marshal(metadata)
		if err != nil {
			return err
		}
		h.WriteString(`"__metadata__":`)
		h.Write(m)
		first = false
	}
	seen := map[string]bool{}
	var off int64
	for _, t := range tensors {
		if t.Name == "__metadata__" || t.Name == "" {
			return fmt.Errorf("safetensors: invalid tensor name %q", t.Name)
		}
		if seen[t.Name] {
			return fmt.Errorf("safetensors: duplicated tensor name %q", t.Name)
		}
		seen[t.Name] = true
		size := t.DType.Size()
		if size == 0 {
			return fmt.Errorf("safetensors: tensor %q: unknown dtype %q", t.Name, t.DType)
		}
		numel := 1
		for _, d := range t.Shape {
			numel *= d
		}
		if numel*size != len(t.Data) {
			return fmt.Errorf("safetensors: tensor %q: shape %v of %s needs %d bytes, have %d", t.Name, t.Shape, t.DType, numel*size, len(t.Data))
		}
		if !first {
			h.WriteByte(',')
		}
		first = false
		name, _ := json.Marshal(t.Name)
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		e, _ := json.Marshal(map[string]any{"dtype": t.DType, "shape": shape, "data_offsets": []int64{off, off + int64(len(t.Data))}})
		h.Write(name)
		h.WriteByte(':')
		h.Write(e)
		off += int64(len(t.Data))
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(h.Len()))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(h.Bytes()); err != nil {
		return err
	}
	for _, t := range tensors {
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}

// WriteFile writes a safetensors file atomically: to a temporary file in the
// same folder, renamed to path only when complete, so an interrupted write
// never leaves a half-written file under the final name.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) error {
	err := atomicfile.Write(path, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		if err := Write(bw, tensors, metadata); err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// F32Tensor makes an F32 tensor from float32 values.
func F32Tensor(name string, shape []int, v []float32) Tensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return Tensor{Name: name, DType: F32, Shape: append([]int{}, shape...), Data: b}
}

// U8Tensor makes a U8 tensor.
func U8Tensor(name string, shape []int, v []byte) Tensor {
	return Tensor{Name: name, DType: U8, Shape: append([]int{}, shape...), Data: v}
}

// I64Tensor makes an I64 tensor.
func I64Tensor(name string, shape []int, v []int64) Tensor {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return Tensor{Name: name, DType: I64, Shape: append([]int{}, shape...), Data: b}
}

// Numel returns the number of elements.
func (t *Tensor) Numel() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Float32 converts the tensor's elements to float32 (exactly for F32, F16,
// BF16, 8- and 16-bit integers and BOOL; rounded for F64 and wider integers).
// It rejects NaN and infinite values unless allowNonFinite is set.
func (t *Tensor) Float32(allowNonFinite bool) ([]float32, error) {
	n := t.Numel()
	out := make([]float32, n)
	d := t.Data
	for i := 0; i < n; i++ {
		var v float32
		switch t.DType {
		case F32:
			v = math.Float32frombits(binary.LittleEndian.Uint32(d[4*i:]))
		case F64:
			v = float32(math.Float64frombits(binary.LittleEndian.Uint64(d[8*i:])))
		case F16:
			v = halfToFloat(binary.LittleEndian.Uint16(d[2*i:]))
		case BF16:
			v = math.Float32frombits(uint32(binary.LittleEndian.Uint16(d[2*i:])) << 16)
		case I64:
			v = float32(int64(binary.LittleEndian.Uint64(d[8*i:])))
		case U64:
			v = float32(binary.LittleEndian.Uint64(d[8*i:]))
		case I32:
			v = float32(int32(binary.LittleEndian.Uint32(d[4*i:])))
		case U32:
			v = float32(binary.LittleEndian.Uint32(d[4*i:]))
		case I16:
			v = float32(int16(binary.LittleEndian.Uint16(d[2*i:])))
		case U16:
			v = float32(binary.LittleEndian.Uint16(d[2*i:]))
		case I8:
			v = float32(int8(d[i]))
		case U8, Bool:
			v = float32(d[i])
		default:
			return nil, fmt.Errorf("tensor %q: unknown dtype %q", t.Name, t.DType)
		}
		if !allowNonFinite && (math.IsNaN(float64(v)) || math.IsInf(float64(v), 0)) {
			return nil, fmt.Errorf("tensor %q: element %d is %v", t.Name, i, v)
		}
		out[i] = v
	}
	return out, nil
}

func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := int(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		f := float32(mant) / 1024 / 16384
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | uint32(exp-15+127)<<23 | mant<<13)
}

// ShapeString formats a shape as [a, b, c].
func ShapeString(s []int) string {
	p := make([]string, len(s))
	for i, d := range s {
		p[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(p, ", ") + "]"
}
