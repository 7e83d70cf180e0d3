//go:build !amd64 || purego

package kernels

func convAsm() []convKernel { return nil }

func eventsAsm() (func(x []float32, idx []int32, vals []float32) int, func(out, wt []float32, vals []float32, idx []int32, tapIdx, taps []int32, n int)) {
	return CompressNonzeroGeneric, ScatterEventsGeneric
}

func scatterPosAsm() func(out, w, vals []float32, woffs, taps []int32, n int) {
	return ScatterPosGeneric
}

func compressPosAsm() func(x []float32, cs int, chOff, offs []int32, vals []float32, cnt []int32, slot int) {
	return CompressPositionsGeneric
}

func gatherAsm(out, w []float32, gtaps, offs []int32, vals []float32, cnt []int32, n, nout, zero int, lst []int32, lvals []float32) {
	GatherPositionsGeneric(out, w, gtaps, offs, vals, cnt, n, nout)
}
