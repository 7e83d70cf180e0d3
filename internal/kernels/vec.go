package kernels

// Elementwise kernels. Each has a pure-Go version (the *Generic functions,
// always built and used by tests as the reference) and, on amd64 with
// AVX-512, an assembly version selected at start-up.

// AddGeneric sets dst[i] += src[i] for i < len(dst).
func AddGeneric(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += v
	}
}

// ReluGeneric sets dst[i] = src[i], or 0 where src[i] < 0 (NaN and -0 pass
// through, as the AVX-512 VMAXPS version does).
func ReluGeneric(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		if v < 0 {
			v = 0
		}
		dst[i] = v
	}
}

// ReluGradGeneric sets dst[i] = dy[i] where out[i] > 0, else 0.
func ReluGradGeneric(dst, dy, out []float32) {
	dy = dy[:len(dst)]
	out = out[:len(dst)]
	for i, g := range dy {
		if !(out[i] > 0) {
			g = 0
		}
		dst[i] = g
	}
}

// Add sets dst[i] += src[i] for i < len(dst); src must be as long.
func Add(dst, src []float32) {
	if len(dst) == 0 {
		return
	}
	_ = src[len(dst)-1]
	vecImpl.add(dst, src)
}

// Relu sets dst[i] = max(src[i], 0) for i < len(dst) (see ReluGeneric).
func Relu(dst, src []float32) {
	if len(dst) == 0 {
		return
	}
	_ = src[len(dst)-1]
	vecImpl.relu(dst, src)
}

// ReluGrad sets dst[i] = dy[i] where out[i] > 0, else 0, for i < len(dst).
func ReluGrad(dst, dy, out []float32) {
	if len(dst) == 0 {
		return
	}
	_ = dy[len(dst)-1]
	_ = out[len(dst)-1]
	vecImpl.reluGrad(dst, dy, out)
}

type vecFuncs struct {
	name     string
	add      func(dst, src []float32)
	relu     func(dst, src []float32)
	reluGrad func(dst, dy, out []float32)
}

var vecGeneric = vecFuncs{name: "generic", add: AddGeneric, relu: ReluGeneric, reluGrad: ReluGradGeneric}

var vecImpl = func() vecFuncs {
	if best.Name == "generic" {
		return vecGeneric
	}
	return vecAsm()
}()
