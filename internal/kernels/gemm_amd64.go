//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

//go:generate sh -c "cd _asm && go run . -out ../gemm_amd64.s"

// sgemm6x16AVX2 is kernelRef(6, 16, kc, a, b, c, ldc, acc) with FMA, using
// AVX2 registers. kc must be at least 1.
//
//go:noescape
func sgemm6x16AVX2(kc int, a, b, c *float32, ldc int, acc bool)

// sgemm8x32AVX512 is kernelRef(8, 32, kc, a, b, c, ldc, acc) with FMA, using
// AVX-512 registers. kc must be at least 1.
//
//go:noescape
func sgemm8x32AVX512(kc int, a, b, c *float32, ldc int, acc bool)

func kernelAVX2(kc int, a, b, c []float32, ldc int, acc bool) {
	_ = a[kc*6-1]
	_ = b[kc*16-1]
	_ = c[5*ldc+15]
	sgemm6x16AVX2(kc, &a[0], &b[0], &c[0], ldc, acc)
}

func kernelAVX512(kc int, a, b, c []float32, ldc int, acc bool) {
	_ = a[kc*8-1]
	_ = b[kc*32-1]
	_ = c[7*ldc+31]
	sgemm8x32AVX512(kc, &a[0], &b[0], &c[0], ldc, acc)
}

func asmImpls() []Impl {
	var impls []Impl
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		impls = append(impls, Impl{Name: "avx2", MR: 6, NR: 16, kernel: kernelAVX2})
	}
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL {
		impls = append(impls, Impl{Name: "avx512", MR: 8, NR: 32, kernel: kernelAVX512})
	}
	return impls
}
