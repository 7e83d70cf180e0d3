//go:build !unix

package atomicfile

import "io/fs"

func chownLike(string, fs.FileInfo) {}
