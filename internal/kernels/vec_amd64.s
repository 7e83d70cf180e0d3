//go:build amd64 && !purego

#include "textflag.h"

// Each function processes 16 floats per step and the last n%16 under a
// mask (K1 = (1<<rem)-1), so it never touches memory past n.

// tailmask sets K1 to the low CX bits.
#define TAILMASK \
	MOVL $1, AX \
	SHLL CX, AX \
	DECL AX \
	KMOVW AX, K1

// IAFFIRE takes the potentials after their input in Z0 (theta in Z4, the
// floor in Z3, zeros in Z2): spikes s = trunc(v/theta) where v > 0 into Z1
// (and added to the per-lane counts in Z7), v - s·theta floored in Z0.
// IAFFIRE_TAIL is the same for the lanes of K1.
#define IAFFIRE \
	VCMPPS $14, Z2, Z0, K2 \
	VDIVPS Z4, Z0, Z5 \
	VRNDSCALEPS.Z $11, Z5, K2, Z1 \
	VADDPS Z1, Z7, Z7 \
	VMULPS Z4, Z1, Z5 \
	VSUBPS Z5, Z0, Z0 \
	VMAXPS Z0, Z3, Z0

#define IAFFIRE_TAIL \
	VCMPPS $14, Z2, Z0, K1, K2 \
	VDIVPS Z4, Z0, Z5 \
	VRNDSCALEPS.Z $11, Z5, K2, Z1 \
	VADDPS Z1, Z7, Z7 \
	VMULPS Z4, Z1, Z5 \
	VSUBPS Z5, Z0, Z0 \
	VMAXPS Z0, Z3, Z0

// IAFSINGLE takes the potentials after their input in Z0 (theta in Z4, the
// floor in Z3, ones in Z8): a spike (1, into Z1, added to the per-lane
// counts in Z7) where v >= theta, and theta off those v; v floored.
// IAFSINGLE_TAIL is the same for the lanes of K1.
#define IAFSINGLE \
	VCMPPS $13, Z4, Z0, K2 \
	VMOVAPS.Z Z8, K2, Z1 \
	VADDPS Z1, Z7, Z7 \
	VSUBPS Z4, Z0, K2, Z0 \
	VMAXPS Z0, Z3, Z0

#define IAFSINGLE_TAIL \
	VCMPPS $13, Z4, Z0, K1, K2 \
	VMOVAPS.Z Z8, K2, Z1 \
	VADDPS Z1, Z7, Z7 \
	VSUBPS Z4, Z0, K2, Z0 \
	VMAXPS Z0, Z3, Z0

// func addAVX512(dst, src *float32, n int)
TEXT ·addAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), DX
add_loop:
	CMPQ DX, $16
	JL add_tail
	VMOVUPS (DI), Z0
	VADDPS (SI), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	SUBQ $16, DX
	JMP add_loop
add_tail:
	TESTQ DX, DX
	JZ add_done
	MOVQ DX, CX
	TAILMASK
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (SI), K1, Z1
	VADDPS Z1, Z0, Z0
	VMOVUPS Z0, K1, (DI)
add_done:
	VZEROUPPER
	RET

// func reluAVX512(dst, src *float32, n int)
TEXT ·reluAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), DX
	VXORPS Z2, Z2, Z2
relu_loop:
	CMPQ DX, $16
	JL relu_tail
	VMOVUPS (SI), Z0
	VMAXPS Z0, Z2, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	SUBQ $16, DX
	JMP relu_loop
relu_tail:
	TESTQ DX, DX
	JZ relu_done
	MOVQ DX, CX
	TAILMASK
	VMOVUPS.Z (SI), K1, Z0
	VMAXPS Z0, Z2, Z0
	VMOVUPS Z0, K1, (DI)
relu_done:
	VZEROUPPER
	RET

// func reluGradAVX512(dst, dy, out *float32, n int)
TEXT ·reluGradAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ out+16(FP), BX
	MOVQ n+24(FP), DX
	VXORPS Z2, Z2, Z2
grad_loop:
	CMPQ DX, $16
	JL grad_tail
	VMOVUPS (BX), Z1
	VCMPPS $14, Z2, Z1, K2
	VMOVUPS.Z (SI), K2, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, BX
	SUBQ $16, DX
	JMP grad_loop
grad_tail:
	TESTQ DX, DX
	JZ grad_done
	MOVQ DX, CX
	TAILMASK
	VMOVUPS.Z (BX), K1, Z1
	VCMPPS $14, Z2, Z1, K1, K2
	VMOVUPS.Z (SI), K2, Z0
	VMOVUPS Z0, K1, (DI)
grad_done:
	VZEROUPPER
	RET

// func sumAVX512(x *float32, n int) float32
// The sum of x[:n] in 64 lanes (4 registers of 16) added pairwise at the end.
TEXT ·sumAVX512(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), BX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
sum_loop64:
	CMPQ BX, $64
	JL sum_loop16
	VADDPS (SI), Z0, Z0
	VADDPS 64(SI), Z1, Z1
	VADDPS 128(SI), Z2, Z2
	VADDPS 192(SI), Z3, Z3
	ADDQ $256, SI
	SUBQ $64, BX
	JMP sum_loop64
sum_loop16:
	CMPQ BX, $16
	JL sum_tail
	VADDPS (SI), Z0, Z0
	ADDQ $64, SI
	SUBQ $16, BX
	JMP sum_loop16
sum_tail:
	TESTQ BX, BX
	JZ sum_reduce
	MOVQ BX, CX
	TAILMASK
	VMOVUPS.Z (SI), K1, Z4
	VADDPS Z4, Z1, Z1
sum_reduce:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	VEXTRACTF32X8 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X1, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	MOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

// func pool2x2AVX512(out, r0, r1 *float32, ow, c int, scale float32)
// For each output x < ow and channel j < c (channels-last rows):
// out[x*c+j] = (((r0[2x*c+j] + r0[(2x+1)*c+j]) + r1[2x*c+j]) + r1[(2x+1)*c+j]) * scale
TEXT ·pool2x2AVX512(SB), NOSPLIT, $0-44
	MOVQ out+0(FP), DI
	MOVQ r0+8(FP), SI
	MOVQ r1+16(FP), DX
	MOVQ ow+24(FP), R8
	MOVQ c+32(FP), R9
	VBROADCASTSS scale+40(FP), Z5
	MOVQ R9, R10
	SHLQ $2, R10 // c in bytes
	MOVQ R9, CX
	ANDQ $15, CX
	TAILMASK
pool_x:
	TESTQ R8, R8
	JZ pool_done
	MOVQ R9, R11 // channels left
	XORQ BX, BX  // byte offset within the channel block
pool_c:
	CMPQ R11, $16
	JL pool_ctail
	VMOVUPS (SI)(BX*1), Z0
	LEAQ (SI)(R10*1), R12
	VADDPS (R12)(BX*1), Z0, Z0
	VADDPS (DX)(BX*1), Z0, Z0
	LEAQ (DX)(R10*1), R12
	VADDPS (R12)(BX*1), Z0, Z0
	VMULPS Z5, Z0, Z0
	VMOVUPS Z0, (DI)(BX*1)
	ADDQ $64, BX
	SUBQ $16, R11
	JMP pool_c
pool_ctail:
	TESTQ R11, R11
	JZ pool_next
	VMOVUPS.Z (SI)(BX*1), K1, Z0
	LEAQ (SI)(R10*1), R12
	VMOVUPS.Z (R12)(BX*1), K1, Z1
	VADDPS Z1, Z0, Z0
	VMOVUPS.Z (DX)(BX*1), K1, Z1
	VADDPS Z1, Z0, Z0
	LEAQ (DX)(R10*1), R12
	VMOVUPS.Z (R12)(BX*1), K1, Z1
	VADDPS Z1, Z0, Z0
	VMULPS Z5, Z0, Z0
	VMOVUPS Z0, K1, (DI)(BX*1)
pool_next:
	ADDQ R10, DI
	LEAQ (SI)(R10*2), SI
	LEAQ (DX)(R10*2), DX
	DECQ R8
	JMP pool_x
pool_done:
	VZEROUPPER
	RET

// func countNonzeroAVX512(x *float32, n int, limit int) int
// Counts elements != 0 (NaN counts) in x[:n], stopping once the count
// exceeds limit (the result is then some value > limit).
TEXT ·countNonzeroAVX512(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), BX
	MOVQ limit+16(FP), R8
	XORQ DX, DX
	VXORPS Z2, Z2, Z2
cnt_loop:
	CMPQ BX, $64
	JL cnt_16
	VCMPPS $4, (SI), Z2, K1
	VCMPPS $4, 64(SI), Z2, K2
	VCMPPS $4, 128(SI), Z2, K3
	VCMPPS $4, 192(SI), Z2, K4
	KMOVW K1, AX
	POPCNTL AX, AX
	ADDQ AX, DX
	KMOVW K2, AX
	POPCNTL AX, AX
	ADDQ AX, DX
	KMOVW K3, AX
	POPCNTL AX, AX
	ADDQ AX, DX
	KMOVW K4, AX
	POPCNTL AX, AX
	ADDQ AX, DX
	ADDQ $256, SI
	SUBQ $64, BX
	CMPQ DX, R8
	JG cnt_done
	JMP cnt_loop
cnt_16:
	CMPQ BX, $16
	JL cnt_tail
	VCMPPS $4, (SI), Z2, K1
	KMOVW K1, AX
	POPCNTL AX, AX
	ADDQ AX, DX
	ADDQ $64, SI
	SUBQ $16, BX
	JMP cnt_16
cnt_tail:
	TESTQ BX, BX
	JZ cnt_done
	MOVQ BX, CX
	TAILMASK
	VMOVUPS.Z (SI), K1, Z0
	VCMPPS $4, Z2, Z0, K1, K2
	KMOVW K2, AX
	POPCNTL AX, AX
	ADDQ AX, DX
cnt_done:
	MOVQ DX, ret+24(FP)
	VZEROUPPER
	RET

// func compressNonzeroAVX512(x *float32, n int, iota *int32, idx *int32, vals *float32) int
// Writes the indices and values of the non-zero elements of x[:n] to idx
// and vals (which need room for n+16 elements) and returns their count.
TEXT ·compressNonzeroAVX512(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), BX
	MOVQ iota+16(FP), AX
	VMOVDQU32 (AX), Z3
	MOVQ idx+24(FP), DI
	MOVQ vals+32(FP), R8
	XORQ DX, DX
	VXORPS Z2, Z2, Z2
	MOVL $16, AX
	VPBROADCASTD AX, Z4
cmp_loop:
	CMPQ BX, $16
	JL cmp_tail
	VMOVUPS (SI), Z0
	VCMPPS $4, Z2, Z0, K1
	VPCOMPRESSD Z3, K1, (DI)(DX*4)
	VCOMPRESSPS Z0, K1, (R8)(DX*4)
	KMOVW K1, AX
	POPCNTL AX, AX
	ADDQ AX, DX
	VPADDD Z4, Z3, Z3
	ADDQ $64, SI
	SUBQ $16, BX
	JMP cmp_loop
cmp_tail:
	TESTQ BX, BX
	JZ cmp_done
	MOVQ BX, CX
	TAILMASK
	VMOVUPS.Z (SI), K1, Z0
	VCMPPS $4, Z2, Z0, K1, K2
	VPCOMPRESSD Z3, K2, (DI)(DX*4)
	VCOMPRESSPS Z0, K2, (R8)(DX*4)
	KMOVW K2, AX
	POPCNTL AX, AX
	ADDQ AX, DX
cmp_done:
	MOVQ DX, ret+40(FP)
	VZEROUPPER
	RET

// func scatterEventsAVX512(out, wt *float32, vals *float32, idx *int32, nidx int, tapIdx *int32, taps *int32, nv int, mask uint16)
// For each event k < nidx with input e = idx[k] and value v = vals[k], and
// each tap t in [tapIdx[e], tapIdx[e+1]): out[taps[2t]+j] += v*wt[taps[2t+1]+j]
// for j < 16*nv + popcount(mask).
TEXT ·scatterEventsAVX512(SB), NOSPLIT, $0-66
	MOVQ out+0(FP), DI
	MOVQ wt+8(FP), SI
	MOVQ vals+16(FP), R12
	MOVQ idx+24(FP), R13
	MOVQ nidx+32(FP), R14
	MOVQ tapIdx+40(FP), R15
	MOVQ taps+48(FP), DX
	MOVQ nv+56(FP), R8
	MOVWLZX mask+64(FP), AX
	KMOVW AX, K1
	TESTQ R14, R14
	JZ ev_done
ev_event:
	VBROADCASTSS (R12), Z0
	MOVLQSX (R13), AX
	MOVLQSX (R15)(AX*4), BX   // first tap
	MOVLQSX 4(R15)(AX*4), CX  // end tap
	SUBQ BX, CX
	JZ ev_next
	LEAQ (DX)(BX*8), BX       // &taps[2*first]
ev_tap:
	MOVLQSX (BX), R9
	MOVLQSX 4(BX), R10
	LEAQ (DI)(R9*4), R9
	LEAQ (SI)(R10*4), R10
	MOVQ R8, R11
	TESTQ R11, R11
	JZ ev_last
ev_vec:
	VMOVUPS (R9), Z1
	VFMADD231PS (R10), Z0, Z1
	VMOVUPS Z1, (R9)
	ADDQ $64, R9
	ADDQ $64, R10
	DECQ R11
	JNZ ev_vec
ev_last:
	KORTESTW K1, K1
	JZ ev_tapnext
	VMOVUPS.Z (R9), K1, Z1
	VMOVUPS.Z (R10), K1, Z2
	VFMADD231PS Z2, Z0, Z1
	VMOVUPS Z1, K1, (R9)
ev_tapnext:
	ADDQ $8, BX
	DECQ CX
	JNZ ev_tap
ev_next:
	ADDQ $4, R12
	ADDQ $4, R13
	DECQ R14
	JNZ ev_event
ev_done:
	VZEROUPPER
	RET

// AVX2 versions: they process n rounded down to a multiple of 8; the Go
// callers finish the rest with the generic code.

// func addAVX2(dst, src *float32, n int)
TEXT ·addAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), DX
	SHRQ $3, DX
	JZ add2_done
add2_loop:
	VMOVUPS (DI), Y0
	VADDPS (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	DECQ DX
	JNZ add2_loop
add2_done:
	VZEROUPPER
	RET

// func reluAVX2(dst, src *float32, n int)
TEXT ·reluAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), DX
	VXORPS Y2, Y2, Y2
	SHRQ $3, DX
	JZ relu2_done
relu2_loop:
	VMOVUPS (SI), Y0
	VMAXPS Y0, Y2, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	DECQ DX
	JNZ relu2_loop
relu2_done:
	VZEROUPPER
	RET

// func reluGradAVX2(dst, dy, out *float32, n int)
TEXT ·reluGradAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ out+16(FP), BX
	MOVQ n+24(FP), DX
	VXORPS Y2, Y2, Y2
	SHRQ $3, DX
	JZ grad2_done
grad2_loop:
	VMOVUPS (BX), Y1
	VCMPPS $14, Y2, Y1, Y1
	VANDPS (SI), Y1, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, BX
	DECQ DX
	JNZ grad2_loop
grad2_done:
	VZEROUPPER
	RET

// func iafAVX2(v, x, out *float32, n int, theta, minV float32)
TEXT ·iafAVX2(SB), NOSPLIT, $0-40
	MOVQ v+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ out+16(FP), DX
	MOVQ n+24(FP), BX
	VBROADCASTSS theta+32(FP), Y4
	VBROADCASTSS minV+36(FP), Y3
	VXORPS Y2, Y2, Y2
	SHRQ $3, BX
	JZ iaf2_done
iaf2_loop:
	VMOVUPS (DI), Y0
	VADDPS (SI), Y0, Y0
	VCMPPS $14, Y2, Y0, Y6
	VDIVPS Y4, Y0, Y5
	VROUNDPS $3, Y5, Y1
	VANDPS Y6, Y1, Y1
	VMULPS Y4, Y1, Y5
	VSUBPS Y5, Y0, Y0
	VMAXPS Y0, Y3, Y0
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, (DX)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	DECQ BX
	JNZ iaf2_loop
iaf2_done:
	VZEROUPPER
	RET

// func sumAVX2(x *float32, n int, tailMask *int32) float32
// SumGeneric's order on AVX2 registers: lanes 0-63 in Y0-Y7 (8 each), the
// 16-float loop into lanes 0-15 (Y0, Y1), the last n%16 into lanes 16-31
// (Y2, Y3) under masks, then the same pairwise reduction. tailMask points at
// 32 int32: n%16 ones (-1) followed by zeros.
TEXT ·sumAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), BX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
sum2_loop64:
	CMPQ BX, $64
	JL sum2_loop16
	VADDPS (SI), Y0, Y0
	VADDPS 32(SI), Y1, Y1
	VADDPS 64(SI), Y2, Y2
	VADDPS 96(SI), Y3, Y3
	VADDPS 128(SI), Y4, Y4
	VADDPS 160(SI), Y5, Y5
	VADDPS 192(SI), Y6, Y6
	VADDPS 224(SI), Y7, Y7
	ADDQ $256, SI
	SUBQ $64, BX
	JMP sum2_loop64
sum2_loop16:
	CMPQ BX, $16
	JL sum2_tail
	VADDPS (SI), Y0, Y0
	VADDPS 32(SI), Y1, Y1
	ADDQ $64, SI
	SUBQ $16, BX
	JMP sum2_loop16
sum2_tail:
	TESTQ BX, BX
	JZ sum2_reduce
	MOVQ tailMask+16(FP), AX
	VMOVDQU (AX), Y8
	VMOVDQU 32(AX), Y9
	VMASKMOVPS (SI), Y8, Y10
	VMASKMOVPS 32(SI), Y9, Y11
	VADDPS Y10, Y2, Y2
	VADDPS Y11, Y3, Y3
sum2_reduce:
	// r[l] = (lanes[l] + lanes[16+l]) + (lanes[32+l] + lanes[48+l])
	VADDPS Y2, Y0, Y0
	VADDPS Y6, Y4, Y4
	VADDPS Y4, Y0, Y0
	VADDPS Y3, Y1, Y1
	VADDPS Y7, Y5, Y5
	VADDPS Y5, Y1, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X1, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	MOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func countNonzeroAVX2(x *float32, n8 int, limit int) int
// countNonzeroAVX512 for the first n8·8 elements, 8 at a time, checking the
// limit every 64.
TEXT ·countNonzeroAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n8+8(FP), BX
	MOVQ limit+16(FP), R8
	XORQ DX, DX
	VXORPS Y2, Y2, Y2
cnt2_loop:
	CMPQ BX, $8
	JL cnt2_8
	VCMPPS $4, (SI), Y2, Y0
	VMOVMSKPS Y0, AX
	POPCNTL AX, AX
	ADDQ AX, DX
	VCMPPS $4, 32(SI), Y2, Y0
	VMOVMSKPS Y0, AX
	POPCNTL AX, AX
	ADDQ AX, DX
	VCMPPS $4, 64(SI), Y2, Y0
	VMOVMSKPS Y0, AX
	POPCNTL AX, AX
	ADDQ AX, DX
	VCMPPS $4, 96(SI), Y2, Y0
	VMOVMSKPS Y0, AX
	POPCNTL AX, AX
	ADDQ AX, DX
	VCMPPS $4, 128(SI), Y2, Y0
	VMOVMSKPS Y0, AX
	POPCNTL AX, AX
	ADDQ AX, DX
	VCMPPS $4, 160(SI), Y2, Y0
	VMOVMSKPS Y0, AX
	POPCNTL AX, AX
	ADDQ AX, DX
	VCMPPS $4, 192(SI), Y2, Y0
	VMOVMSKPS Y0, AX
	POPCNTL AX, AX
	ADDQ AX, DX
	VCMPPS $4, 224(SI), Y2, Y0
	VMOVMSKPS Y0, AX
	POPCNTL AX, AX
	ADDQ AX, DX
	ADDQ $256, SI
	SUBQ $8, BX
	CMPQ DX, R8
	JG cnt2_done
	JMP cnt2_loop
cnt2_8:
	TESTQ BX, BX
	JZ cnt2_done
	VCMPPS $4, (SI), Y2, Y0
	VMOVMSKPS Y0, AX
	POPCNTL AX, AX
	ADDQ AX, DX
	ADDQ $32, SI
	DECQ BX
	JMP cnt2_8
cnt2_done:
	MOVQ DX, ret+24(FP)
	VZEROUPPER
	RET

// func pool2x2AVX2(out, r0, r1 *float32, ow, c int, scale float32, tailMask *int32)
// pool2x2AVX512 on AVX2 registers: 8 channels at a time, the last c%8 under
// masked loads and stores (tailMask: c%8 ones, then zeros).
TEXT ·pool2x2AVX2(SB), NOSPLIT, $0-56
	MOVQ out+0(FP), DI
	MOVQ r0+8(FP), SI
	MOVQ r1+16(FP), DX
	MOVQ ow+24(FP), R8
	MOVQ c+32(FP), R9
	VBROADCASTSS scale+40(FP), Y5
	MOVQ tailMask+48(FP), AX
	VMOVDQU (AX), Y6
	MOVQ R9, R10
	SHLQ $2, R10 // c in bytes
pool2_x:
	TESTQ R8, R8
	JZ pool2_done
	MOVQ R9, R11 // channels left
	XORQ BX, BX  // byte offset within the channel block
pool2_c:
	CMPQ R11, $8
	JL pool2_ctail
	VMOVUPS (SI)(BX*1), Y0
	LEAQ (SI)(R10*1), R12
	VADDPS (R12)(BX*1), Y0, Y0
	VADDPS (DX)(BX*1), Y0, Y0
	LEAQ (DX)(R10*1), R12
	VADDPS (R12)(BX*1), Y0, Y0
	VMULPS Y5, Y0, Y0
	VMOVUPS Y0, (DI)(BX*1)
	ADDQ $32, BX
	SUBQ $8, R11
	JMP pool2_c
pool2_ctail:
	TESTQ R11, R11
	JZ pool2_next
	VMASKMOVPS (SI)(BX*1), Y6, Y0
	LEAQ (SI)(R10*1), R12
	VMASKMOVPS (R12)(BX*1), Y6, Y1
	VADDPS Y1, Y0, Y0
	VMASKMOVPS (DX)(BX*1), Y6, Y1
	VADDPS Y1, Y0, Y0
	LEAQ (DX)(R10*1), R12
	VMASKMOVPS (R12)(BX*1), Y6, Y1
	VADDPS Y1, Y0, Y0
	VMULPS Y5, Y0, Y0
	VMASKMOVPS Y0, Y6, (DI)(BX*1)
pool2_next:
	ADDQ R10, DI
	LEAQ (SI)(R10*2), SI
	LEAQ (DX)(R10*2), DX
	DECQ R8
	JMP pool2_x
pool2_done:
	VZEROUPPER
	RET

// func scaleAVX512(dst, src *float32, n int, f float32)
TEXT ·scaleAVX512(SB), NOSPLIT, $0-28
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), DX
	VBROADCASTSS f+24(FP), Z2
scale_loop:
	CMPQ DX, $16
	JL scale_tail
	VMULPS (SI), Z2, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	SUBQ $16, DX
	JMP scale_loop
scale_tail:
	TESTQ DX, DX
	JZ scale_done
	MOVQ DX, CX
	TAILMASK
	VMOVUPS.Z (SI), K1, Z1
	VMULPS Z1, Z2, Z0
	VMOVUPS Z0, K1, (DI)
scale_done:
	VZEROUPPER
	RET

// func sum2AVX512(dst, a, b *float32, n int)
TEXT ·sum2AVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), R8
	MOVQ n+24(FP), DX
sum2_loop:
	CMPQ DX, $16
	JL sum2_tail
	VMOVUPS (SI), Z0
	VADDPS (R8), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, R8
	SUBQ $16, DX
	JMP sum2_loop
sum2_tail:
	TESTQ DX, DX
	JZ sum2_done
	MOVQ DX, CX
	TAILMASK
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z (R8), K1, Z1
	VADDPS Z1, Z0, Z0
	VMOVUPS Z0, K1, (DI)
sum2_done:
	VZEROUPPER
	RET

// func addFramesAVX512(acc, x *float32, n, frames int)
TEXT ·addFramesAVX512(SB), NOSPLIT, $0-32
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), DX
	MOVQ frames+24(FP), R9
	LEAQ (DX*4), R10
addf_loop:
	CMPQ DX, $16
	JL addf_tail
	VMOVUPS (DI), Z0
	MOVQ SI, R8
	MOVQ R9, BX
addf_frame:
	VADDPS (R8), Z0, Z0
	ADDQ R10, R8
	DECQ BX
	JNZ addf_frame
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	SUBQ $16, DX
	JMP addf_loop
addf_tail:
	TESTQ DX, DX
	JZ addf_done
	MOVQ DX, CX
	TAILMASK
	VMOVUPS.Z (DI), K1, Z0
	MOVQ SI, R8
	MOVQ R9, BX
addf_tframe:
	VMOVUPS.Z (R8), K1, Z1
	VADDPS Z1, Z0, Z0
	ADDQ R10, R8
	DECQ BX
	JNZ addf_tframe
	VMOVUPS Z0, K1, (DI)
addf_done:
	VZEROUPPER
	RET

// func iafCountAVX512(v, x, out *float32, n int, theta, minV float32, lanes *float32)
// (lanes: the spikes emitted, summed per lane of 16)
// v += x; s = trunc(v/theta) where v > 0, else 0; v -= s*theta;
// v = max(minV, v) (NaN stays NaN; pass -Inf for no floor); out = s.
TEXT ·iafCountAVX512(SB), NOSPLIT, $0-48
	MOVQ v+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ out+16(FP), DX
	MOVQ n+24(FP), BX
	VBROADCASTSS theta+32(FP), Z4
	VBROADCASTSS minV+36(FP), Z3
	VXORPS Z2, Z2, Z2
	VXORPS Z7, Z7, Z7
iafc_loop:
	CMPQ BX, $16
	JL iafc_tail
	VMOVUPS (DI), Z0
	VADDPS (SI), Z0, Z0
	IAFFIRE
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, (DX)
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, DX
	SUBQ $16, BX
	JMP iafc_loop
iafc_tail:
	TESTQ BX, BX
	JZ iafc_done
	MOVQ BX, CX
	TAILMASK
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (SI), K1, Z6
	VADDPS Z6, Z0, Z0
	IAFFIRE_TAIL
	VMOVUPS Z0, K1, (DI)
	VMOVUPS Z1, K1, (DX)
iafc_done:
	MOVQ lanes+40(FP), AX
	VMOVUPS Z7, (AX)
	VZEROUPPER
	RET

// func iafSum2CountAVX512(v, a, b, out *float32, n int, theta, minV, f float32, lanes *float32)
// iafCountAVX512 with input x = a + f·b (rounded after the product and
// after the sum, as a Scale and an Add give it).
TEXT ·iafSum2CountAVX512(SB), NOSPLIT, $0-64
	MOVQ v+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), R8
	MOVQ out+24(FP), DX
	MOVQ n+32(FP), BX
	VBROADCASTSS theta+40(FP), Z4
	VBROADCASTSS minV+44(FP), Z3
	VBROADCASTSS f+48(FP), Z8
	VXORPS Z2, Z2, Z2
	VXORPS Z7, Z7, Z7
iafs_loop:
	CMPQ BX, $16
	JL iafs_tail
	VMULPS (R8), Z8, Z6
	VADDPS (SI), Z6, Z6
	VMOVUPS (DI), Z0
	VADDPS Z6, Z0, Z0
	IAFFIRE
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, (DX)
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, R8
	ADDQ $64, DX
	SUBQ $16, BX
	JMP iafs_loop
iafs_tail:
	TESTQ BX, BX
	JZ iafs_done
	MOVQ BX, CX
	TAILMASK
	VMOVUPS.Z (R8), K1, Z6
	VMULPS Z6, Z8, Z6
	VMOVUPS.Z (SI), K1, Z9
	VADDPS Z9, Z6, Z6
	VMOVUPS.Z (DI), K1, Z0
	VADDPS Z6, Z0, Z0
	IAFFIRE_TAIL
	VMOVUPS Z0, K1, (DI)
	VMOVUPS Z1, K1, (DX)
iafs_done:
	MOVQ lanes+56(FP), AX
	VMOVUPS Z7, (AX)
	VZEROUPPER
	RET

// func iafSingleCountAVX512(v, x, out *float32, n int, theta, minV float32, lanes *float32)
// v += x; s = 1 where v >= theta, else 0; v -= s*theta; v = max(minV, v);
// out = s (lanes: the spikes emitted, summed per lane of 16).
TEXT ·iafSingleCountAVX512(SB), NOSPLIT, $0-48
	MOVQ v+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ out+16(FP), DX
	MOVQ n+24(FP), BX
	VBROADCASTSS theta+32(FP), Z4
	VBROADCASTSS minV+36(FP), Z3
	MOVL $0x3f800000, AX
	VPBROADCASTD AX, Z8
	VXORPS Z7, Z7, Z7
iafsc_loop:
	CMPQ BX, $16
	JL iafsc_tail
	VMOVUPS (DI), Z0
	VADDPS (SI), Z0, Z0
	IAFSINGLE
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, (DX)
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, DX
	SUBQ $16, BX
	JMP iafsc_loop
iafsc_tail:
	TESTQ BX, BX
	JZ iafsc_done
	MOVQ BX, CX
	TAILMASK
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (SI), K1, Z6
	VADDPS Z6, Z0, Z0
	IAFSINGLE_TAIL
	VMOVUPS Z0, K1, (DI)
	VMOVUPS Z1, K1, (DX)
iafsc_done:
	MOVQ lanes+40(FP), AX
	VMOVUPS Z7, (AX)
	VZEROUPPER
	RET

// func channelSumsAVX512(acc *float64, x *float32, n, stride, plane int)
// Channels in groups of 32 (four accumulators of 8 float64: four chains of
// dependent adds in flight), then of 8; each channel adds its positions
// in order, as ChannelSumsGeneric does.
TEXT ·channelSumsAVX512(SB), NOSPLIT, $0-40
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), DX
	MOVQ stride+24(FP), R10
chs_group4:
	CMPQ DX, $32
	JL chs_group1
	VXORPD Z0, Z0, Z0
	VXORPD Z1, Z1, Z1
	VXORPD Z2, Z2, Z2
	VXORPD Z3, Z3, Z3
	MOVQ SI, R8
	MOVQ plane+32(FP), BX
chs_pos4:
	VCVTPS2PD (R8), Z4
	VCVTPS2PD 32(R8), Z5
	VCVTPS2PD 64(R8), Z6
	VCVTPS2PD 96(R8), Z7
	VADDPD Z4, Z0, Z0
	VADDPD Z5, Z1, Z1
	VADDPD Z6, Z2, Z2
	VADDPD Z7, Z3, Z3
	ADDQ R10, R8
	DECQ BX
	JNZ chs_pos4
	VMOVUPD Z0, (DI)
	VMOVUPD Z1, 64(DI)
	VMOVUPD Z2, 128(DI)
	VMOVUPD Z3, 192(DI)
	ADDQ $256, DI
	ADDQ $128, SI
	SUBQ $32, DX
	JMP chs_group4
chs_group1:
	TESTQ DX, DX
	JZ chs_done
	VXORPD Z0, Z0, Z0
	MOVQ SI, R8
	MOVQ plane+32(FP), BX
chs_pos1:
	VCVTPS2PD (R8), Z4
	VADDPD Z4, Z0, Z0
	ADDQ R10, R8
	DECQ BX
	JNZ chs_pos1
	VMOVUPD Z0, (DI)
	ADDQ $64, DI
	ADDQ $32, SI
	SUBQ $8, DX
	JMP chs_group1
chs_done:
	VZEROUPPER
	RET
