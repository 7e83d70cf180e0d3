//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// addAVX512 is AddGeneric(dst[:n], src[:n]).
//
//go:noescape
func addAVX512(dst, src *float32, n int)

// reluAVX512 is ReluGeneric(dst[:n], src[:n]).
//
//go:noescape
func reluAVX512(dst, src *float32, n int)

// reluGradAVX512 is ReluGradGeneric(dst[:n], dy[:n], out[:n]).
//
//go:noescape
func reluGradAVX512(dst, dy, out *float32, n int)

func vecAsm() vecFuncs {
	if !cpu.X86.HasAVX512F {
		return vecGeneric
	}
	return vecFuncs{
		name:     "avx512",
		add:      func(dst, src []float32) { addAVX512(&dst[0], &src[0], len(dst)) },
		relu:     func(dst, src []float32) { reluAVX512(&dst[0], &src[0], len(dst)) },
		reluGrad: func(dst, dy, out []float32) { reluGradAVX512(&dst[0], &dy[0], &out[0], len(dst)) },
	}
}
