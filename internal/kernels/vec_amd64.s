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
