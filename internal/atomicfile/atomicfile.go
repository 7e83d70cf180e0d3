// Package atomicfile writes output files so that an interrupted write never
// leaves a partial file under the final name, and so that writing an output
// never destroys what the user did not mean to replace.
//
// A regular file (new or existing) is written to a temporary file in the
// same folder, which is renamed over the target when complete. The rules
// around that rename are the ones a careful user expects of `cp` or a shell
// redirection:
//
//   - a symlink is followed: its target is replaced, the link stays;
//   - device files and FIFOs (/dev/null, /dev/stdout, a named pipe) are
//     written in place, never replaced by a regular file: the content is
//     spooled to a temporary file and copied to the target on Commit, so a
//     File is always seekable (io.WriterAt) whatever the target;
//   - an existing file keeps its permission bits (and, for root, its owner);
//     a new file gets 0666 less the umask, as the shell would create it;
//   - a read-only target, a folder, an empty path or a missing folder is
//     refused with an error naming the path;
//   - Check refuses an output that is the same file as one of the inputs, so
//     `convert -m x -o x` cannot truncate its input before reading it.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// maxLinks bounds how many symlinks are followed when resolving a path, as
// the kernel does (ELOOP).
const maxLinks = 40

// resolve follows symlinks at path, also dangling ones (writing through a
// dangling link creates its target, as the shell does). It returns the final
// path and its FileInfo, nil when nothing exists there.
func resolve(path string) (string, fs.FileInfo, error) {
	for range maxLinks {
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return path, nil, nil
		}
		if err != nil {
			return "", nil, err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return path, fi, nil
		}
		target, err := os.Readlink(path)
		if err != nil {
			return "", nil, err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(path), target)
		}
		path = target
	}
	return "", nil, fmt.Errorf("%s: too many levels of symbolic links", path)
}

// cause strips the path an *fs.PathError repeats, so messages name the path
// once.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Check reports whether path can be written as an output, before any work
// is done: it must not be empty, a folder, read-only or in a missing folder,
// and it must not be the same file as any of inputs (paths that do not
// exist are ignored). Errors name path.
func Check(path string, inputs ...string) error {
	if path == "" {
		return errors.New("empty path")
	}
	real, fi, err := resolve(path)
	if err != nil {
		return err
	}
	if fi == nil {
		dir := filepath.Dir(real)
		st, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("%s: folder %s: %w", path, dir, cause(err))
		}
		if !st.IsDir() {
			return fmt.Errorf("%s: %s is not a folder", path, dir)
		}
		return nil
	}
	switch {
	case fi.IsDir():
		return fmt.Errorf("%s is a folder, not a file", path)
	case fi.Mode().IsRegular():
		if fi.Mode().Perm()&0o222 == 0 {
			return fmt.Errorf("%s is read-only (mode %v): not replaced", path, fi.Mode().Perm())
		}
		// Permission bits alone do not say whether this user may write.
		f, err := os.OpenFile(real, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("%s is not writable: %w", path, cause(err))
		}
		f.Close()
	}
	for _, in := range inputs {
		if in == "" {
			continue
		}
		ist, err := os.Stat(in)
		if err != nil {
			continue
		}
		if ost, err := os.Stat(real); err == nil && os.SameFile(ist, ost) && ost.Mode().IsRegular() {
			return fmt.Errorf("%s is the input %s: writing it would destroy the input", path, in)
		}
	}
	return nil
}

// File is an output being written: a temporary file renamed over the target
// by Commit, or, when the target is a device or a FIFO, a spool copied into
// it by Commit.
type File struct {
	*os.File
	target string      // the resolved final path
	mode   fs.FileMode // permission bits to give the temporary file, 0: the umask's
	owner  *fs.FileInfo
	direct bool // the target is written in place (from the spool)
	done   bool
}

// Create opens an output for path (see the package doc for the rules).
// Write to the returned file, then Commit it; Abort (safe after Commit)
// discards it.
func Create(path string) (*File, error) {
	if err := Check(path); err != nil {
		return nil, err
	}
	real, fi, err := resolve(path)
	if err != nil {
		return nil, err
	}
	if fi != nil && !fi.Mode().IsRegular() {
		// A device or FIFO is written in place (renaming over it would
		// replace /dev/null with a regular file), from a spool so that the
		// File stays seekable.
		f, err := os.CreateTemp("", "snnkit-spool-*")
		if err != nil {
			return nil, fmt.Errorf("%s: spool: %w", path, err)
		}
		return &File{File: f, target: real, direct: true}, nil
	}
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	tmp := filepath.Join(filepath.Dir(real), "."+filepath.Base(real)+".tmp"+hex.EncodeToString(suffix[:]))
	// 0666 is reduced by the umask, as for any file the shell creates.
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, cause(err))
	}
	out := &File{File: f, target: real}
	if fi != nil {
		out.mode = fi.Mode().Perm()
		out.owner = &fi
	}
	return out, nil
}

// Commit closes the file and, unless it was written in place, gives it the
// replaced file's mode and renames it over the target.
func (f *File) Commit() error {
	if f.done {
		return errors.New("atomicfile: Commit after Commit or Abort")
	}
	f.done = true
	tmp := f.Name()
	if f.direct {
		defer os.Remove(tmp)
		defer f.File.Close()
		if _, err := f.File.Seek(0, io.SeekStart); err != nil {
			return err
		}
		dst, err := os.OpenFile(f.target, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		if _, err := io.Copy(dst, f.File); err != nil {
			dst.Close()
			return err
		}
		return dst.Close()
	}
	err := f.File.Close()
	if err == nil && f.mode != 0 {
		err = os.Chmod(tmp, f.mode)
		if f.owner != nil && os.Geteuid() == 0 {
			chownLike(tmp, *f.owner)
		}
	}
	if err == nil {
		err = os.Rename(tmp, f.target)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// Abort discards the file: the temporary file is removed and the target left
// as it was. It does nothing after Commit.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	os.Remove(f.Name())
}

// Write calls fill with an output for path and commits it if fill succeeds;
// otherwise the output is discarded and the target left as it was.
func Write(path string, fill func(w io.Writer) error) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	if err := fill(f); err != nil {
		f.Abort()
		return err
	}
	return f.Commit()
}

// WriteBytes writes data to path atomically.
func WriteBytes(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
