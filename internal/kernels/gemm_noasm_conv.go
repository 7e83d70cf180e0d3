//go:build !amd64 || purego

package kernels

func convAsm() (convTile, func(out, wt []float32, taps []int32, v float32, n int)) {
	return convTileGeneric, ScatterGeneric
}
