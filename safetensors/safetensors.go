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
	"strconv"
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

// MaxTensors is the largest number of tensors a header may declare. It
// bounds the memory the header's bookkeeping takes (models with more tensors
// than this do not exist in practice).
const MaxTensors = 1 << 18

// layout is a checked header: the tensors (without data) sorted by offset,
// tiling [0, dataLen) exactly.
type layout struct {
	meta    map[string]string
	tensors []Tensor // Data not yet attached
	spans   [][2]int64
	dataLen int64
}

// Parse decodes a whole safetensors file held in memory. Tensor data
// aliases b.
func Parse(b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("safetensors: file of %d bytes is too short for the 8-byte header length", len(b))
	}
	n, err := headerLen(b[:8])
	if err != nil {
		return nil, err
	}
	if n > uint64(len(b)-8) {
		return nil, fmt.Errorf("safetensors: header length %d overruns the file (%d bytes after the length)", n, len(b)-8)
	}
	l, err := decodeHeader(b[8 : 8+n])
	if err != nil {
		return nil, err
	}
	data := b[8+n:]
	if l.dataLen != int64(len(data)) {
		return nil, fmt.Errorf("safetensors: tensors cover %d data bytes but the file holds %d", l.dataLen, len(data))
	}
	return l.file(data), nil
}

// headerLen decodes and bounds the 8-byte header length.
func headerLen(b []byte) (uint64, error) {
	n := binary.LittleEndian.Uint64(b)
	if n > MaxHeaderSize {
		return 0, fmt.Errorf("safetensors: header length %d exceeds the limit %d", n, MaxHeaderSize)
	}
	if n < 2 {
		return 0, fmt.Errorf("safetensors: header length %d is too short for a JSON object", n)
	}
	return n, nil
}

// file attaches the data bytes to the layout's tensors.
func (l *layout) file(data []byte) *File {
	f := &File{Metadata: l.meta, Tensors: l.tensors, index: make(map[string]int, len(l.tensors))}
	for i := range f.Tensors {
		begin, end := l.spans[i][0], l.spans[i][1]
		f.Tensors[i].Data = data[begin:end:end]
		f.index[f.Tensors[i].Name] = i
	}
	return f
}

// decodeHeader parses and checks the JSON header: names, dtypes, shapes and
// offsets, which must tile the data without overlap or hole. It allocates
// only in proportion to the header's length.
func decodeHeader(h []byte) (*layout, error) {
	entries, meta, err := parseHeader(h)
	if err != nil {
		return nil, fmt.Errorf("safetensors: header: %w", err)
	}
	l := &layout{meta: meta}
	type span struct {
		i          int
		begin, end int64
	}
	spans := make([]span, 0, len(entries))
	for i, e := range entries {
		name := e.name
		size := e.DType.Size()
		if size == 0 {
			return nil, fmt.Errorf("safetensors: tensor %q: unknown dtype %q", name, e.DType)
		}
		if !e.hasShape {
			return nil, fmt.Errorf("safetensors: tensor %q: missing shape", name)
		}
		if len(e.Shape) > MaxRank {
			return nil, fmt.Errorf("safetensors: tensor %q: %d dimensions, more than %d", name, len(e.Shape), MaxRank)
		}
		if len(e.DataOffsets) != 2 {
			return nil, fmt.Errorf("safetensors: tensor %q: data_offsets must be [begin, end]", name)
		}
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		if begin < 0 || end < begin {
			return nil, fmt.Errorf("safetensors: tensor %q: data_offsets [%d, %d] are not a byte range", name, begin, end)
		}
		// The element count must equal the byte range; compute it without
		// overflow, bounded by the range.
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
		spans = append(spans, span{i, begin, end})
	}
	// Tensors must tile the data exactly: sorted by offset, no overlap, no hole.
	sort.SliceStable(spans, func(a, b int) bool { return spans[a].begin < spans[b].begin })
	var pos int64
	l.tensors = make([]Tensor, len(spans))
	l.spans = make([][2]int64, len(spans))
	for j, s := range spans {
		e := &entries[s.i]
		if s.begin != pos {
			return nil, fmt.Errorf("safetensors: tensor %q starts at byte %d, expected %d (overlapping or missing data)", e.name, s.begin, pos)
		}
		pos = s.end
		shape := make([]int, len(e.Shape))
		for k, d := range e.Shape {
			shape[k] = int(d)
		}
		l.tensors[j] = Tensor{Name: e.name, DType: e.DType, Shape: shape}
		l.spans[j] = [2]int64{s.begin, s.end}
	}
	l.dataLen = pos
	return l, nil
}

// entry is one tensor's header record.
type entry struct {
	name        string
	DType       DType
	Shape       []int64
	hasShape    bool
	DataOffsets []int64
}

// parseHeader decodes the header object. Keys are matched exactly (Go's
// struct decoding matches them case-insensitively, which would accept
// "dtYpe"), names must be non-empty and unique (a plain map decode would
// silently merge duplicates), and unknown keys are refused.
func parseHeader(h []byte) ([]entry, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(h))
	dec.UseNumber()
	if err := expectDelim(dec, '{'); err != nil {
		return nil, nil, err
	}
	var entries []entry
	var meta map[string]string
	seen := map[string]bool{}
	for dec.More() {
		key, err := stringToken(dec)
		if err != nil {
			return nil, nil, err
		}
		if seen[key] {
			return nil, nil, fmt.Errorf("duplicated name %q", key)
		}
		seen[key] = true
		if key == "__metadata__" {
			if meta, err = parseMetadata(dec); err != nil {
				return nil, nil, fmt.Errorf("__metadata__: %w", err)
			}
			continue
		}
		if key == "" {
			return nil, nil, errors.New("empty tensor name")
		}
		if len(entries) == MaxTensors {
			return nil, nil, fmt.Errorf("more than %d tensors", MaxTensors)
		}
		e, err := parseEntry(dec)
		if err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", key, err)
		}
		e.name = key
		entries = append(entries, e)
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("trailing data after the header object")
	}
	return entries, meta, nil
}

// parseEntry decodes {"dtype": ..., "shape": [...], "data_offsets": [...]}.
func parseEntry(dec *json.Decoder) (entry, error) {
	var e entry
	if err := expectDelim(dec, '{'); err != nil {
		return e, err
	}
	seen := map[string]bool{}
	for dec.More() {
		key, err := stringToken(dec)
		if err != nil {
			return e, err
		}
		if seen[key] {
			return e, fmt.Errorf("duplicated key %q", key)
		}
		seen[key] = true
		switch key {
		case "dtype":
			s, err := stringToken(dec)
			if err != nil {
				return e, fmt.Errorf("dtype: %w", err)
			}
			e.DType = DType(s)
		case "shape":
			if e.Shape, err = intArray(dec, MaxRank+1); err != nil {
				return e, fmt.Errorf("shape: %w", err)
			}
			e.hasShape = true
		case "data_offsets":
			if e.DataOffsets, err = intArray(dec, 3); err != nil {
				return e, fmt.Errorf("data_offsets: %w", err)
			}
		default:
			return e, fmt.Errorf("unknown field %q (want dtype, shape and data_offsets)", key)
		}
	}
	return e, expectDelim(dec, '}')
}

// stringToken reads one JSON string.
func stringToken(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("expected a string, found %v", tok)
	}
	return s, nil
}

// intArray reads an array of at most limit integers (a longer one is
// reported by the caller's length check, so reading stops at limit).
func intArray(dec *json.Decoder, limit int) ([]int64, error) {
	if err := expectDelim(dec, '['); err != nil {
		return nil, err
	}
	out := []int64{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, fmt.Errorf("expected an integer, found %v", tok)
		}
		v, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s is not a 64-bit integer", num)
		}
		if len(out) == limit {
			return nil, fmt.Errorf("more than %d values", limit-1)
		}
		out = append(out, v)
	}
	return out, expectDelim(dec, ']')
}

func parseMetadata(dec *json.Decoder) (map[string]string, error) {
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	meta := map[string]string{}
	for dec.More() {
		key, err := stringToken(dec)
		if err != nil {
			return nil, err
		}
		if _, dup := meta[key]; dup {
			return nil, fmt.Errorf("duplicated key %q", key)
		}
		v, err := stringToken(dec)
		if err != nil {
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

// ReadFile reads and parses a safetensors file; errors name the file. It
// reads the 8-byte length, then the header (bounded by MaxHeaderSize), and
// then exactly the data bytes the header describes, checked against the
// file's size first: a lying header or an endless stream such as /dev/zero
// cannot make it read or allocate more than the file holds.
func ReadFile(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	f, err := read(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// read decodes a safetensors file from an open file (regular or not).
func read(fh *os.File) (*File, error) {
	size := int64(-1) // unknown for pipes and devices
	if st, err := fh.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	var lenBuf [8]byte
	if _, err := io.ReadFull(fh, lenBuf[:]); err != nil {
		return nil, fmt.Errorf("safetensors: reading the 8-byte header length: %w", noEOF(err))
	}
	n, err := headerLen(lenBuf[:])
	if err != nil {
		return nil, err
	}
	if size >= 0 && n > uint64(size-8) {
		return nil, fmt.Errorf("safetensors: header length %d overruns the file (%d bytes after the length)", n, size-8)
	}
	header, err := readN(fh, int64(n), size >= 0)
	if err != nil {
		return nil, fmt.Errorf("safetensors: reading the %d-byte header: %w", n, err)
	}
	l, err := decodeHeader(header)
	if err != nil {
		return nil, err
	}
	if size >= 0 && l.dataLen != size-8-int64(n) {
		return nil, fmt.Errorf("safetensors: tensors cover %d data bytes but the file holds %d", l.dataLen, size-8-int64(n))
	}
	data, err := readN(fh, l.dataLen, size >= 0)
	if err != nil {
		return nil, fmt.Errorf("safetensors: reading %d data bytes: %w", l.dataLen, err)
	}
	var one [1]byte
	if k, _ := io.ReadFull(fh, one[:]); k > 0 {
		return nil, fmt.Errorf("safetensors: tensors cover %d data bytes but the file holds more", l.dataLen)
	}
	return l.file(data), nil
}

// readN reads exactly n bytes. When n was checked against the file's size
// (known) it allocates them at once; from a stream it grows its buffer only
// as data arrives, so a short stream costs no more memory than it holds.
func readN(r io.Reader, n int64, known bool) ([]byte, error) {
	if known {
		buf := make([]byte, n)
		if k, err := io.ReadFull(r, buf); err != nil {
			return nil, fmt.Errorf("truncated after %d of %d bytes: %w", k, n, noEOF(err))
		}
		return buf, nil
	}
	var buf bytes.Buffer
	k, err := io.Copy(&buf, io.LimitReader(r, n))
	if err != nil {
		return nil, err
	}
	if k < n {
		return nil, fmt.Errorf("truncated after %d of %d bytes", k, n)
	}
	return buf.Bytes(), nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Write encodes tensors (data laid out in the given order) and metadata.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	for _, t := range tensors {
		if n, ok := t.byteLen(); ok && n != len(t.Data) {
			return fmt.Errorf("safetensors: tensor %q: shape %v of %s needs %d bytes, have %d", t.Name, t.Shape, t.DType, n, len(t.Data))
		}
	}
	h, _, err := encodeHeader(tensors, metadata)
	if err != nil {
		return err
	}
	if _, err := w.Write(h); err != nil {
		return err
	}
	for _, t := range tensors {
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}

// byteLen returns the bytes the tensor's shape needs (false for an unknown
// dtype or a negative dimension).
func (t *Tensor) byteLen() (int, bool) {
	size := t.DType.Size()
	if size == 0 {
		return 0, false
	}
	n := size
	for _, d := range t.Shape {
		if d < 0 {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// encodeHeader returns the 8-byte length and the JSON header for tensors
// laid out in order (their sizes taken from their shapes), padded so the data
// starts 8-byte aligned, and each tensor's data offset.
func encodeHeader(tensors []Tensor, metadata map[string]string) ([]byte, []int64, error) {
	var h bytes.Buffer
	h.WriteByte('{')
	first := true
	if len(metadata) > 0 {
		m, err := json.Marshal(metadata)
		if err != nil {
			return nil, nil, err
		}
		h.WriteString(`"__metadata__":`)
		h.Write(m)
		first = false
	}
	seen := map[string]bool{}
	var off int64
	offsets := make([]int64, len(tensors))
	for i, t := range tensors {
		if t.Name == "__metadata__" || t.Name == "" {
			return nil, nil, fmt.Errorf("safetensors: invalid tensor name %q", t.Name)
		}
		if seen[t.Name] {
			return nil, nil, fmt.Errorf("safetensors: duplicated tensor name %q", t.Name)
		}
		seen[t.Name] = true
		n, ok := t.byteLen()
		if !ok {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: unknown dtype %q or negative shape %v", t.Name, t.DType, t.Shape)
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
		e, _ := json.Marshal(map[string]any{"dtype": t.DType, "shape": shape, "data_offsets": []int64{off, off + int64(n)}})
		h.Write(name)
		h.WriteByte(':')
		h.Write(e)
		offsets[i] = off
		off += int64(n)
	}
	h.WriteByte('}')
	for (h.Len()+8)%8 != 0 {
		h.WriteByte(' ')
	}
	out := make([]byte, 8, 8+h.Len())
	binary.LittleEndian.PutUint64(out, uint64(h.Len()))
	return append(out, h.Bytes()...), offsets, nil
}

// Writer writes a safetensors file piece by piece at known offsets, so that
// tensors larger than memory can be produced in chunks: NewWriter writes the
// header for tensors given by name, dtype and shape (their Data unused), and
// WriteAt fills byte ranges of each tensor's data in any order. Every byte
// of every tensor must be written.
type Writer struct {
	w       io.WriterAt
	start   int64
	offsets map[string][2]int64 // name -> data offset, byte length
}

// NewWriter writes the header to w.
func NewWriter(w io.WriterAt, tensors []Tensor, metadata map[string]string) (*Writer, error) {
	h, offs, err := encodeHeader(tensors, metadata)
	if err != nil {
		return nil, err
	}
	if _, err := w.WriteAt(h, 0); err != nil {
		return nil, err
	}
	sw := &Writer{w: w, start: int64(len(h)), offsets: map[string][2]int64{}}
	for i, t := range tensors {
		n, _ := t.byteLen()
		sw.offsets[t.Name] = [2]int64{offs[i], int64(n)}
	}
	return sw, nil
}

// WriteAt writes b at byte offset off of tensor name's data.
func (w *Writer) WriteAt(name string, off int64, b []byte) error {
	o, ok := w.offsets[name]
	if !ok {
		return fmt.Errorf("safetensors: no tensor %q in the header", name)
	}
	if off < 0 || off+int64(len(b)) > o[1] {
		return fmt.Errorf("safetensors: tensor %q: bytes [%d, %d) outside its %d", name, off, off+int64(len(b)), o[1])
	}
	_, err := w.w.WriteAt(b, w.start+o[0]+off)
	return err
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
