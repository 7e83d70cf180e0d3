package hdf5_test

import (
	"fmt"

	"github.com/snnkit/snnkit/hdf5"
)

// Write a small tree, a group holding a string, an array of float32 and
// an integer, as an HDF5 file, and read it back.
func Example() {
	root := hdf5.NewGroup()
	node := hdf5.NewGroup()
	root.Members["node"] = node
	node.Members["type"] = hdf5.Scalar("IF")
	node.Members["v_threshold"] = hdf5.Array([]float32{1, 1, 0.5}, 3)
	node.Members["groups"] = hdf5.Scalar(int64(1))
	b, err := hdf5.Encode(root)
	if err != nil {
		fmt.Println(err)
		return
	}
	f, err := hdf5.Parse(b, "example.h5")
	if err != nil {
		fmt.Println(err)
		return
	}
	r, _ := f.Root()
	g, _ := r.Group("node")
	fmt.Println(g.Names())
	typ, _ := g.Dataset("type")
	s, _ := typ.Strings()
	th, _ := g.Dataset("v_threshold")
	v, _ := th.Float64s()
	fmt.Println(s, th.Shape, th.Type.Class, v)
	// Output:
	// [groups type v_threshold]
	// [IF] [3] float [1 1 0.5]
}
