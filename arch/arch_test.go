package arch

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/snnkit/snnkit/nn"
)

func TestTutorial(t *testing.T) {
	s, err := Lookup("tutorial")
	if err != nil {
		t.Fatal(err)
	}
	shapes, err := s.Shapes()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"[20 24 24]", "[20 24 24]", "[20 12 12]", "[32 8 8]", "[32 8 8]", "[32 4 4]", "[128 2 2]", "[128 2 2]", "[128 1 1]", "[128]", "[500]", "[500]", "[10]"}
	for i, sh := range shapes {
		if got := fmt.Sprint(sh); got != want[i] {
			t.Errorf("layer %d: shape %v, want %s", i, sh, want[i])
		}
	}
	net, err := s.Build(rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, e := range net.StateDict() {
		names = append(names, e.Name)
	}
	if strings.Join(names, " ") != "0.weight 3.weight 6.weight 10.weight 12.weight" {
		t.Errorf("state_dict names %v", names)
	}
	// Round trip through JSON and FromSequential.
	s2, err := Parse(s.JSON())
	if err != nil {
		t.Fatal(err)
	}
	s3, err := FromSequential(net, s.Input)
	if err != nil {
		t.Fatal(err)
	}
	if string(s2.JSON()) != string(s.JSON()) || string(s3.JSON()) != string(s.JSON()) {
		t.Errorf("round trip changed the spec:\n%s\n%s", s.JSON(), s3.JSON())
	}
}

func TestParseErrors(t *testing.T) {
	head := `{"format":"snnkit.arch/v1","input":[1,8,8],"layers":[`
	cases := []struct{ name, json, want string }{
		{"unknown type", head + `{"type":"Conv3d"}]}`, `unknown layer type "Conv3d"`},
		{"unknown field", head + `{"type":"ReLU","inplace":true}]}`, `unknown field "inplace"`},
		{"field of another type", head + `{"type":"Conv2d","in_channels":1,"out_channels":2,"kernel_size":3,"p":0.5}]}`, `unknown field "p"`},
		{"channel mismatch", head + `{"type":"Conv2d","in_channels":3,"out_channels":2,"kernel_size":3}]}`, "layer 0 (Conv2d): Conv2d(3, 2"},
		{"kernel too big", head + `{"type":"Conv2d","in_channels":1,"out_channels":2,"kernel_size":9}]}`, "does not fit"},
		{"linear mismatch", head + `{"type":"Flatten"},{"type":"Linear","in_features":63,"out_features":2}]}`, "layer 1 (Linear)"},
		{"linear on image", head + `{"type":"Linear","in_features":64,"out_features":2}]}`, "want [64]"},
		{"zero channels", head + `{"type":"Conv2d","in_channels":1,"out_channels":0,"kernel_size":3}]}`, "out_channels 0"},
		{"absurd size", head + `{"type":"Conv2d","in_channels":1,"out_channels":100000000,"kernel_size":3}]}`, "outside"},
		{"too many params", head + `{"type":"Flatten"},{"type":"Linear","in_features":64,"out_features":60000},{"type":"Linear","in_features":60000,"out_features":60000}]}`, "parameters"},
		{"bad pair", head + `{"type":"AvgPool2d","kernel_size":[1,2,3]}]}`, "pair"},
		{"bad dropout", head + `{"type":"Dropout","p":1.5}]}`, "p 1.5"},
		{"no layers", head + `]}`, "no layers"},
		{"bad format", `{"format":"x","input":[1],"layers":[]}`, "format"},
		{"bad input", `{"format":"snnkit.arch/v1","input":[0,8,8],"layers":[{"type":"ReLU"}]}`, "input shape"},
		{"top-level unknown", `{"format":"snnkit.arch/v1","input":[1],"layers":[{"type":"ReLU"}],"extra":1}`, "unknown field"},
		{"no type", head + `{"kernel_size":2}]}`, "no \"type\""},
		{"zero stride", head + `{"type":"Conv2d","in_channels":1,"out_channels":2,"kernel_size":3,"stride":0}]}`, "stride [0 0] must be at least 1"},
		{"zero pool stride", head + `{"type":"AvgPool2d","kernel_size":2,"stride":[2,0]}]}`, "stride [2 0] must be at least 1"},
		{"key case top", `{"format":"snnkit.arch/v1","Input":[1],"layers":[{"type":"ReLU"}]}`, `unknown field "Input"`},
		{"key case layer", head + `{"type":"Conv2d","In_channels":1,"out_channels":2,"kernel_size":3}]}`, `unknown field "In_channels"`},
		{"qcfs no levels", head + `{"type":"QCFS"}]}`, "levels 0"},
		{"qcfs lambda", head + `{"type":"QCFS","levels":4,"lambda":-1}]}`, "lambda -1"},
		{"qcfs channels", head + `{"type":"QCFS","levels":4,"num_features":3}]}`, "3 channels"},
		{"qcfs field", head + `{"type":"QCFS","levels":4,"p":0.5}]}`, `unknown field "p"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.json))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestLookupUnknown(t *testing.T) {
	if _, err := Lookup("lenet"); err == nil || !strings.Contains(err.Error(), "tutorial") {
		t.Fatalf("error %v should list presets", err)
	}
	if _, err := Lookup("/nonexistent/a.json"); err == nil {
		t.Fatal("missing file accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(Tutorial))
	f.Add([]byte(`{"format":"snnkit.arch/v1","input":[2,9,9],"layers":[{"type":"Conv2d","in_channels":2,"out_channels":3,"kernel_size":[3,2],"stride":[2,1],"padding":[1,0]},{"type":"BatchNorm2d","num_features":3},{"type":"MaxPool2d","kernel_size":2},{"type":"Dropout","p":0.1},{"type":"Flatten"},{"type":"Linear","in_features":36,"out_features":4}]}`))
	f.Add([]byte(`{"format":"snnkit.arch/v1","input":[1],"layers":[{"type":"Linear","in_features":1,"out_features":65536}]}`))
	f.Add([]byte(`{"format":"snnkit.arch/v1","input":[2,4,4],"layers":[{"type":"QCFS","levels":4,"lambda":2,"num_features":2},{"type":"QCFS","levels":8}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			return
		}
		shapes, err := s.StateShapes()
		if err != nil {
			t.Fatalf("parsed spec has no state shapes: %v", err)
		}
		params := 0
		for _, ts := range shapes {
			n := 1
			for _, d := range ts.Shape {
				n *= d
			}
			params += n
		}
		if params < 1<<20 { // building allocates what the spec declares
			net, err := s.Build(nil)
			if err != nil {
				t.Fatalf("parsed spec does not build: %v", err)
			}
			checkStateShapes(t, shapes, net)
		}
		if _, err := Parse(s.JSON()); err != nil {
			t.Fatalf("re-parsing: %v", err)
		}
	})
}

// TestStateShapes checks that the state_dict listed from the spec alone is
// the one the built network has, name for name and shape for shape.
func TestStateShapes(t *testing.T) {
	for _, js := range []string{Tutorial, `{"format":"snnkit.arch/v1","input":[2,9,9],"layers":[{"type":"Conv2d","in_channels":2,"out_channels":3,"kernel_size":[3,2],"stride":[2,1],"padding":[1,0],"bias":false},{"type":"BatchNorm2d","num_features":3},{"type":"MaxPool2d","kernel_size":2},{"type":"Dropout","p":0.1},{"type":"Flatten"},{"type":"Linear","in_features":24,"out_features":4}]}`,
		`{"format":"snnkit.arch/v1","input":[2,4,4],"layers":[{"type":"QCFS","levels":4,"lambda":2,"num_features":2},{"type":"QCFS","levels":8}]}`} {
		s, err := Parse([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		shapes, err := s.StateShapes()
		if err != nil {
			t.Fatal(err)
		}
		net, err := s.Build(nil)
		if err != nil {
			t.Fatal(err)
		}
		checkStateShapes(t, shapes, net)
	}
}

func checkStateShapes(t *testing.T, shapes []TensorShape, net interface{ StateDict() []nn.NamedTensor }) {
	t.Helper()
	sd := net.StateDict()
	if len(sd) != len(shapes) {
		t.Fatalf("%d state shapes, the network has %d tensors", len(shapes), len(sd))
	}
	for i, e := range sd {
		if e.Name != shapes[i].Name || fmt.Sprint(e.Param.Value.Shape) != fmt.Sprint(shapes[i].Shape) {
			t.Fatalf("tensor %d: %s %v listed, %s %v built", i, shapes[i].Name, shapes[i].Shape, e.Name, e.Param.Value.Shape)
		}
	}
}

func TestActivationLimit(t *testing.T) {
	big := `{"format":"snnkit.arch/v1","input":[1,65536,65536],"layers":[{"type":"ReLU"}]}`
	if _, err := Parse([]byte(big)); err == nil || !strings.Contains(err.Error(), "values per sample") {
		t.Fatalf("huge input accepted: %v", err)
	}
	wide := `{"format":"snnkit.arch/v1","input":[1,8192,8192],"layers":[{"type":"Conv2d","in_channels":1,"out_channels":64,"kernel_size":1}]}`
	if _, err := Parse([]byte(wide)); err == nil {
		t.Fatal("huge activation accepted")
	}
}

// TestQCFSDescribe checks that a QCFS layer's description builds it again
// with its settings, and defaults λ to DefaultQCFSLambda.
func TestQCFSDescribe(t *testing.T) {
	for _, js := range []string{`{"type":"QCFS","levels":4,"lambda":2.5,"num_features":3}`, `{"type":"QCFS","levels":8}`} {
		var l Layer
		if err := json.Unmarshal([]byte(js), &l); err != nil {
			t.Fatal(err)
		}
		built, err := l.Build(nil)
		if err != nil {
			t.Fatal(err)
		}
		d, err := Describe(built)
		if err != nil {
			t.Fatal(err)
		}
		if want := l.withDefaults(); !reflect.DeepEqual(d, want) {
			t.Fatalf("%s described as %+v, want %+v", js, d, want)
		}
		if q := built.(*nn.QCFS); float64(q.Lambda.Value.Data[0]) != *d.Lambda || (l.Lambda == nil && *d.Lambda != DefaultQCFSLambda) {
			t.Fatalf("%s: λ %v", js, q.Lambda.Value.Data)
		}
	}
}
