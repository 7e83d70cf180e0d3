package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// The slice of the ONNX schema (onnx/onnx.proto) snnkit reads, with the
// field numbers of the spec. Unknown fields are skipped, as protobuf
// requires; every length is checked against the bytes that remain, so a
// truncated or lying message is an error, never a large allocation.

// Model is an ONNX ModelProto.
type Model struct {
	IRVersion int64
	Opsets    map[string]int64 // domain ("" is the default ai.onnx) to version
	Producer  string
	Graph     *Graph
}

// Graph is an ONNX GraphProto.
type Graph struct {
	Name         string
	Nodes        []Node
	Initializers []Tensor
	Inputs       []ValueInfo
	Outputs      []ValueInfo
}

// Node is an ONNX NodeProto.
type Node struct {
	Name, OpType, Domain string
	Inputs, Outputs      []string
	Attrs                []Attribute
}

// Attribute is an ONNX AttributeProto: one of its value fields is set,
// as Type says.
type Attribute struct {
	Name    string
	Type    int32 // AttrFloat, AttrInt, ...
	F       float32
	I       int64
	S       []byte
	T       *Tensor
	Floats  []float32
	Ints    []int64
	Strings [][]byte
	Graph   bool // holds a subgraph (not read)
}

// Attribute types (AttributeProto.AttributeType).
const (
	AttrFloat   = 1
	AttrInt     = 2
	AttrString  = 3
	AttrTensor  = 4
	AttrGraph   = 5
	AttrFloats  = 6
	AttrInts    = 7
	AttrStrings = 8
)

// Tensor is an ONNX TensorProto: dims, element type and data in one of
// the typed fields or raw little-endian bytes.
type Tensor struct {
	Name     string
	Dims     []int64
	DataType int32 // Float, Int64, ...
	Raw      []byte
	Floats   []float32
	Int32s   []int32
	Int64s   []int64
	Doubles  []float64
	External bool // data_location EXTERNAL: stored in another file
}

// Tensor element types (TensorProto.DataType).
const (
	Float  = 1
	Uint8  = 2
	Int8   = 3
	Int32  = 6
	Int64  = 7
	Bool   = 9
	Double = 11
)

// ValueInfo is an ONNX ValueInfoProto of a tensor type: name, element type
// and dimensions (a dimension is a value, or a parameter name such as
// "batch" when dynamic).
type ValueInfo struct {
	Name     string
	ElemType int32
	Dims     []Dim
	HasShape bool
}

// Dim is one dimension of a ValueInfo.
type Dim struct {
	Value int64
	Param string
}

// maxDepth bounds message nesting (a TensorProto in an attribute of a node
// of a graph is depth 4), so that deeply nested input cannot exhaust the
// stack.
const maxDepth = 16

// fields calls fn for every field of a message, giving the field number,
// wire type and, for length-delimited fields, the payload, for varints
// the value. It stops at the first error.
func fields(b []byte, fn func(num protowire.Number, typ protowire.Type, payload []byte, v uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("bad field tag: %w", protowire.ParseError(n))
		}
		b = b[n:]
		var payload []byte
		var v uint64
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var x uint32
			x, n = protowire.ConsumeFixed32(b)
			v = uint64(x)
		case protowire.Fixed64Type:
			v, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			payload, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, typ, payload, v); err != nil {
			return err
		}
	}
	return nil
}

func wantType(num protowire.Number, typ, want protowire.Type) error {
	if typ != want {
		return fmt.Errorf("field %d has wire type %d, want %d", num, typ, want)
	}
	return nil
}

// ParseModel decodes a ModelProto.
func ParseModel(b []byte) (*Model, error) {
	m := &Model{Opsets: map[string]int64{}}
	err := fields(b, func(num protowire.Number, typ protowire.Type, p []byte, v uint64) error {
		switch num {
		case 1: // ir_version
			m.IRVersion = int64(v)
		case 2: // producer_name
			m.Producer = string(p)
		case 7: // graph
			if err := wantType(num, typ, protowire.BytesType); err != nil {
				return err
			}
			if m.Graph != nil {
				return errors.New("more than one graph")
			}
			g, err := parseGraph(p, 1)
			if err != nil {
				return fmt.Errorf("graph: %w", err)
			}
			m.Graph = g
		case 8: // opset_import
			if err := wantType(num, typ, protowire.BytesType); err != nil {
				return err
			}
			var domain string
			var version int64
			if err := fields(p, func(num protowire.Number, typ protowire.Type, p []byte, v uint64) error {
				switch num {
				case 1:
					domain = string(p)
				case 2:
					version = int64(v)
				}
				return nil
			}); err != nil {
				return fmt.Errorf("opset_import: %w", err)
			}
			m.Opsets[domain] = version
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	if m.Graph == nil {
		return nil, errors.New("onnx: the model has no graph (not an ONNX model?)")
	}
	return m, nil
}

func parseGraph(b []byte, depth int) (*Graph, error) {
	if depth > maxDepth {
		return nil, errors.New("nested too deeply")
	}
	g := &Graph{}
	err := fields(b, func(num protowire.Number, typ protowire.Type, p []byte, v uint64) error {
		if num != 2 && num != 1 && num != 5 && num != 11 && num != 12 {
			return nil
		}
		if err := wantType(num, typ, protowire.BytesType); err != nil {
			return err
		}
		switch num {
		case 1: // node
			n, err := parseNode(p, depth+1)
			if err != nil {
				return fmt.Errorf("node %d: %w", len(g.Nodes), err)
			}
			g.Nodes = append(g.Nodes, n)
		case 2: // name
			g.Name = string(p)
		case 5: // initializer
			t, err := parseTensor(p)
			if err != nil {
				return fmt.Errorf("initializer %d: %w", len(g.Initializers), err)
			}
			g.Initializers = append(g.Initializers, *t)
		case 11, 12: // input, output
			vi, err := parseValueInfo(p)
			if err != nil {
				return fmt.Errorf("value info: %w", err)
			}
			if num == 11 {
				g.Inputs = append(g.Inputs, vi)
			} else {
				g.Outputs = append(g.Outputs, vi)
			}
		}
		return nil
	})
	return g, err
}

func parseNode(b []byte, depth int) (Node, error) {
	var n Node
	err := fields(b, func(num protowire.Number, typ protowire.Type, p []byte, v uint64) error {
		switch num {
		case 1, 2, 3, 4, 5, 7:
			if err := wantType(num, typ, protowire.BytesType); err != nil {
				return err
			}
		}
		switch num {
		case 1:
			n.Inputs = append(n.Inputs, string(p))
		case 2:
			n.Outputs = append(n.Outputs, string(p))
		case 3:
			n.Name = string(p)
		case 4:
			n.OpType = string(p)
		case 7:
			n.Domain = string(p)
		case 5:
			a, err := parseAttribute(p, depth+1)
			if err != nil {
				return fmt.Errorf("attribute %d: %w", len(n.Attrs), err)
			}
			n.Attrs = append(n.Attrs, a)
		}
		return nil
	})
	if err != nil && n.Name != "" {
		err = fmt.Errorf("%s (%s): %w", n.Name, n.OpType, err)
	}
	return n, err
}

func parseAttribute(b []byte, depth int) (Attribute, error) {
	var a Attribute
	err := fields(b, func(num protowire.Number, typ protowire.Type, p []byte, v uint64) error {
		switch num {
		case 1:
			a.Name = string(p)
		case 20:
			a.Type = int32(v)
		case 2:
			if err := wantType(num, typ, protowire.Fixed32Type); err != nil {
				return err
			}
			a.F = math.Float32frombits(uint32(v))
		case 3:
			a.I = int64(v)
		case 4:
			a.S = p
		case 5:
			t, err := parseTensor(p)
			if err != nil {
				return fmt.Errorf("tensor: %w", err)
			}
			a.T = t
		case 6, 11:
			a.Graph = true
		case 7: // floats, packed or not
			fs, err := appendFloats(a.Floats, typ, p, v)
			if err != nil {
				return err
			}
			a.Floats = fs
		case 8: // ints, packed or not
			is, err := appendVarints(a.Ints, typ, p, v)
			if err != nil {
				return err
			}
			a.Ints = is
		case 9:
			a.Strings = append(a.Strings, p)
		}
		return nil
	})
	if err != nil && a.Name != "" {
		err = fmt.Errorf("%s: %w", a.Name, err)
	}
	return a, err
}

// appendFloats reads a repeated float field: one fixed32 value, or a packed
// run of them.
func appendFloats(dst []float32, typ protowire.Type, p []byte, v uint64) ([]float32, error) {
	switch typ {
	case protowire.Fixed32Type:
		return append(dst, math.Float32frombits(uint32(v))), nil
	case protowire.BytesType:
		if len(p)%4 != 0 {
			return nil, fmt.Errorf("packed floats of %d bytes", len(p))
		}
		for i := 0; i < len(p); i += 4 {
			dst = append(dst, math.Float32frombits(binary.LittleEndian.Uint32(p[i:])))
		}
		return dst, nil
	}
	return nil, fmt.Errorf("floats with wire type %d", typ)
}

// appendVarints reads a repeated varint field: one value, or a packed run.
func appendVarints(dst []int64, typ protowire.Type, p []byte, v uint64) ([]int64, error) {
	switch typ {
	case protowire.VarintType:
		return append(dst, int64(v)), nil
	case protowire.BytesType:
		for len(p) > 0 {
			x, n := protowire.ConsumeVarint(p)
			if n < 0 {
				return nil, fmt.Errorf("packed varints: %w", protowire.ParseError(n))
			}
			dst = append(dst, int64(x))
			p = p[n:]
		}
		return dst, nil
	}
	return nil, fmt.Errorf("varints with wire type %d", typ)
}

func parseTensor(b []byte) (*Tensor, error) {
	t := &Tensor{}
	err := fields(b, func(num protowire.Number, typ protowire.Type, p []byte, v uint64) error {
		var err error
		switch num {
		case 1:
			t.Dims, err = appendVarints(t.Dims, typ, p, v)
		case 2:
			t.DataType = int32(v)
		case 4:
			t.Floats, err = appendFloats(t.Floats, typ, p, v)
		case 5: // int32_data (also holds small types)
			var is []int64
			if is, err = appendVarints(nil, typ, p, v); err == nil {
				for _, x := range is {
					t.Int32s = append(t.Int32s, int32(x))
				}
			}
		case 7:
			t.Int64s, err = appendVarints(t.Int64s, typ, p, v)
		case 8:
			t.Name = string(p)
		case 9:
			t.Raw = p
		case 10:
			switch typ {
			case protowire.Fixed64Type:
				t.Doubles = append(t.Doubles, math.Float64frombits(v))
			case protowire.BytesType:
				if len(p)%8 != 0 {
					return fmt.Errorf("packed doubles of %d bytes", len(p))
				}
				for i := 0; i < len(p); i += 8 {
					t.Doubles = append(t.Doubles, math.Float64frombits(binary.LittleEndian.Uint64(p[i:])))
				}
			}
		case 14:
			t.External = v == 1
		}
		return err
	})
	if err != nil && t.Name != "" {
		err = fmt.Errorf("%s: %w", t.Name, err)
	}
	return t, err
}

func parseValueInfo(b []byte) (ValueInfo, error) {
	var vi ValueInfo
	err := fields(b, func(num protowire.Number, typ protowire.Type, p []byte, v uint64) error {
		switch num {
		case 1:
			vi.Name = string(p)
		case 2: // type: TypeProto
			return fields(p, func(num protowire.Number, typ protowire.Type, p []byte, v uint64) error {
				if num != 1 { // tensor_type
					return nil
				}
				return fields(p, func(num protowire.Number, typ protowire.Type, p []byte, v uint64) error {
					switch num {
					case 1:
						vi.ElemType = int32(v)
					case 2: // shape: TensorShapeProto
						vi.HasShape = true
						return fields(p, func(num protowire.Number, typ protowire.Type, p []byte, v uint64) error {
							if num != 1 {
								return nil
							}
							var d Dim
							err := fields(p, func(num protowire.Number, typ protowire.Type, p []byte, v uint64) error {
								switch num {
								case 1:
									d.Value = int64(v)
								case 2:
									d.Param = string(p)
								}
								return nil
							})
							vi.Dims = append(vi.Dims, d)
							return err
						})
					}
					return nil
				})
			})
		}
		return nil
	})
	return vi, err
}
