package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.txt")
	if err := WriteBytes(p, []byte("one")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("interrupted")
	if err := Write(p, func(w io.Writer) error { _, _ = w.Write([]byte("partial")); return boom }); !errors.Is(err, boom) {
		t.Fatalf("error %v", err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != "one" {
		t.Fatalf("failed write changed the file to %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("left %d files", len(entries))
	}
}

// TestTargets writes through every kind of target and checks what is left
// at the path afterwards: content, file type and mode.
func TestTargets(t *testing.T) {
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	cases := []struct {
		name    string
		setup   func(dir string) string // returns the -o path
		want    string                  // error substring, "" for success
		check   func(t *testing.T, dir, path string)
		content string // expected content at the resolved path on success
	}{
		{name: "new file honours the umask", setup: func(dir string) string { return filepath.Join(dir, "new") },
			check: func(t *testing.T, dir, path string) { wantMode(t, path, 0o640) }},
		{name: "existing file keeps its mode", setup: func(dir string) string {
			p := filepath.Join(dir, "old")
			_ = os.WriteFile(p, []byte("x"), 0o600)
			_ = os.Chmod(p, 0o604)
			return p
		}, check: func(t *testing.T, dir, path string) { wantMode(t, path, 0o604) }},
		{name: "symlink is followed", setup: func(dir string) string {
			_ = os.WriteFile(filepath.Join(dir, "target"), []byte("x"), 0o644)
			_ = os.Symlink("target", filepath.Join(dir, "link"))
			return filepath.Join(dir, "link")
		}, check: func(t *testing.T, dir, path string) {
			if fi, err := os.Lstat(path); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
				t.Fatalf("the symlink was replaced: %v %v", fi.Mode(), err)
			}
			wantContent(t, filepath.Join(dir, "target"), "data")
		}},
		{name: "dangling symlink creates its target", setup: func(dir string) string {
			_ = os.Symlink("made", filepath.Join(dir, "link"))
			return filepath.Join(dir, "link")
		}, check: func(t *testing.T, dir, path string) { wantContent(t, filepath.Join(dir, "made"), "data") }},
		{name: "read-only target refused", setup: func(dir string) string {
			p := filepath.Join(dir, "ro")
			_ = os.WriteFile(p, []byte("keep"), 0o444)
			return p
		}, want: "read-only", check: func(t *testing.T, dir, path string) { wantContent(t, path, "keep") }},
		{name: "folder refused", setup: func(dir string) string { return dir }, want: "is a folder"},
		{name: "empty path refused", setup: func(dir string) string { return "" }, want: "empty path"},
		{name: "missing folder refused", setup: func(dir string) string { return filepath.Join(dir, "no", "f") }, want: "folder"},
		{name: "symlink loop refused", setup: func(dir string) string {
			_ = os.Symlink("b", filepath.Join(dir, "a"))
			_ = os.Symlink("a", filepath.Join(dir, "b"))
			return filepath.Join(dir, "a")
		}, want: "too many levels"},
		{name: "FIFO written in place", setup: func(dir string) string {
			p := filepath.Join(dir, "fifo")
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Skip("no mkfifo:", err)
			}
			got := make(chan string, 1)
			go func() {
				f, err := os.Open(p)
				if err != nil {
					got <- err.Error()
					return
				}
				b, _ := io.ReadAll(f)
				f.Close()
				got <- string(b)
			}()
			t.Cleanup(func() {
				if s := <-got; s != "data" {
					t.Errorf("the FIFO's reader got %q", s)
				}
			})
			return p
		}, check: func(t *testing.T, dir, path string) {
			if fi, err := os.Lstat(path); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
				t.Fatalf("the FIFO was replaced: %v %v", fi.Mode(), err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := c.setup(dir)
			err := WriteBytes(path, []byte("data"))
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			if c.want == "" && c.check == nil {
				wantContent(t, path, "data")
			}
			if c.check != nil {
				c.check(t, dir, path)
			}
			if entries, _ := os.ReadDir(dir); c.want != "" {
				for _, e := range entries {
					if strings.Contains(e.Name(), ".tmp") {
						t.Errorf("temporary file %s left behind", e.Name())
					}
				}
			}
		})
	}
}

// TestCheckInputs refuses an output that is one of the inputs, under any
// name: the same path, a symlink to it, a hard link.
func TestCheckInputs(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "model")
	_ = os.WriteFile(in, []byte("weights"), 0o644)
	_ = os.Symlink("model", filepath.Join(dir, "alias"))
	_ = os.Link(in, filepath.Join(dir, "hard"))
	for _, out := range []string{in, filepath.Join(dir, "alias"), filepath.Join(dir, "hard"), filepath.Join(dir, ".", "model")} {
		if err := Check(out, "", in); err == nil || !strings.Contains(err.Error(), "is the input") {
			t.Errorf("Check(%s): %v", out, err)
		}
	}
	if err := Check(filepath.Join(dir, "other"), in); err != nil {
		t.Errorf("distinct output refused: %v", err)
	}
	wantContent(t, in, "weights")
}

func wantMode(t *testing.T, path string, mode fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != mode {
		t.Fatalf("%s: mode %v, want %v (%v)", path, fi.Mode().Perm(), mode, err)
	}
}

func wantContent(t *testing.T, path, want string) {
	t.Helper()
	if b, err := os.ReadFile(path); err != nil || string(b) != want {
		t.Fatalf("%s holds %q (%v), want %q", path, b, err, want)
	}
}
