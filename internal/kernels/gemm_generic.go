package kernels

// kernelGeneric4x4 is the pure-Go micro-kernel: a 4×4 tile (n ≤ 4 valid
// columns) held in sixteen local variables, which the compiler keeps in
// registers, accumulated over kc steps in order p = 0, 1, ..., kc-1.
func kernelGeneric4x4(kc int, a, b []float32, ldb int, c []float32, ldc, n int, acc bool) {
	var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 float32
	a = a[:kc*4]
	if n == 4 {
		for p := 0; p < kc; p++ {
			ap := (*[4]float32)(a[p*4:])
			bp := (*[4]float32)(b[p*ldb:])
			a0, a1, a2, a3 := ap[0], ap[1], ap[2], ap[3]
			b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
			c00 += a0 * b0
			c01 += a0 * b1
			c02 += a0 * b2
			c03 += a0 * b3
			c10 += a1 * b0
			c11 += a1 * b1
			c12 += a1 * b2
			c13 += a1 * b3
			c20 += a2 * b0
			c21 += a2 * b1
			c22 += a2 * b2
			c23 += a2 * b3
			c30 += a3 * b0
			c31 += a3 * b1
			c32 += a3 * b2
			c33 += a3 * b3
		}
	} else {
		var bp [4]float32
		for p := 0; p < kc; p++ {
			ap := (*[4]float32)(a[p*4:])
			copy(bp[:], b[p*ldb:p*ldb+n])
			a0, a1, a2, a3 := ap[0], ap[1], ap[2], ap[3]
			b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
			c00 += a0 * b0
			c01 += a0 * b1
			c02 += a0 * b2
			c03 += a0 * b3
			c10 += a1 * b0
			c11 += a1 * b1
			c12 += a1 * b2
			c13 += a1 * b3
			c20 += a2 * b0
			c21 += a2 * b1
			c22 += a2 * b2
			c23 += a2 * b3
			c30 += a3 * b0
			c31 += a3 * b1
			c32 += a3 * b2
			c33 += a3 * b3
		}
	}
	t := [4][4]float32{{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}, {c30, c31, c32, c33}}
	for i := 0; i < 4; i++ {
		row := c[i*ldc : i*ldc+n]
		if acc {
			for j := range row {
				row[j] += t[i][j]
			}
		} else {
			copy(row, t[i][:n])
		}
	}
}

// kernelRef is the textbook version of any MR×NR micro-kernel, used by tests
// to check the assembly kernels one tile at a time.
func kernelRef(mr, n, kc int, a, b []float32, ldb int, c []float32, ldc int, acc bool) {
	for i := 0; i < mr; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < kc; p++ {
				s += a[p*mr+i] * b[p*ldb+j]
			}
			if acc {
				c[i*ldc+j] += s
			} else {
				c[i*ldc+j] = s
			}
		}
	}
}
