// Package atomicfile writes files so that an interrupted write never leaves
// a partial file under the final name: the content goes to a temporary file
// in the same folder, which is renamed over the target when complete.
package atomicfile

import (
	"io"
	"os"
	"path/filepath"
)

// Write calls fill with a temporary file next to path and renames it to
// path (mode 0644) if fill and closing succeed; otherwise the temporary file
// is removed.
func Write(path string, fill func(w io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := fill(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	// CreateTemp makes the file private (0600); give it the usual mode.
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// WriteBytes writes data to path atomically.
func WriteBytes(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
