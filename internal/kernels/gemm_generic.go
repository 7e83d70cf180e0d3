package kernels

// kernelGeneric4x16 is the pure-Go micro-kernel: a 4×16 tile (n ≤ 16 valid
// columns) accumulated over kc steps in the order p = 0, 1, ..., kc-1, then
// stored or added to c.
func kernelGeneric4x16(kc int, a, b []float32, ldb int, c []float32, ldc, n int, acc bool) {
	const mr, nr = 4, 16
	var t [mr][nr]float32
	a = a[:kc*mr]
	if n == nr {
		for p := 0; p < kc; p++ {
			bp := (*[nr]float32)(b[p*ldb:])
			ap := (*[mr]float32)(a[p*mr:])
			for i := 0; i < mr; i++ {
				ai := ap[i]
				ti := &t[i]
				for j := 0; j < nr; j++ {
					ti[j] += ai * bp[j]
				}
			}
		}
	} else {
		for p := 0; p < kc; p++ {
			bp := b[p*ldb : p*ldb+n]
			ap := (*[mr]float32)(a[p*mr:])
			for i := 0; i < mr; i++ {
				ai := ap[i]
				ti := &t[i]
				for j, bv := range bp {
					ti[j] += ai * bv
				}
			}
		}
	}
	for i := 0; i < mr; i++ {
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
