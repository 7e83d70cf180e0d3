package arch

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/snnkit/snnkit/tensor"
)

func TestResNetSmall(t *testing.T) {
	s := ResNetSmall()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	g, err := s.Build(rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if out := g.OutputShape(); tensor.ShapeString(out) != "[10]" {
		t.Fatalf("output %v", out)
	}
	shapes, err := s.StateShapes()
	if err != nil {
		t.Fatal(err)
	}
	checkStateShapes(t, shapes, g)
	// JSON round trip.
	back, err := ParseGraph(s.JSON())
	if err != nil {
		t.Fatalf("%v\n%s", err, s.JSON())
	}
	if string(back.JSON()) != string(s.JSON()) {
		t.Fatal("JSON round trip changed the spec")
	}
	d, err := DescribeGraph(g)
	if err != nil || string(d.JSON()) != string(s.JSON()) {
		t.Fatalf("DescribeGraph: %v", err)
	}
}

func TestParseGraphErrors(t *testing.T) {
	head := `{"format":"snnkit.graph/v1","input":[1,8,8],"nodes":[`
	cases := []struct{ name, json, want string }{
		{"later input", head + `{"name":"a","inputs":["b"],"type":"ReLU"},{"name":"b","inputs":["input"],"type":"ReLU"}]}`, "comes later"},
		{"unknown join field", head + `{"name":"a","inputs":["input","input"],"type":"Add","alpha":1}]}`, `unknown field "alpha"`},
		{"layer with two inputs", head + `{"name":"a","inputs":["input","input"],"type":"ReLU"}]}`, "a layer takes one input"},
		{"unknown type", head + `{"name":"a","inputs":["input"],"type":"Softmax"}]}`, `unknown layer type "Softmax"`},
		{"bad output", head + `{"name":"a","inputs":["input"],"type":"ReLU"}],"output":"z"}`, `output "z"`},
		{"unknown top", head + `{"name":"a","inputs":["input"],"type":"ReLU"}],"extra":1}`, `unknown field "extra"`},
		{"shape", head + `{"name":"a","inputs":["input"],"type":"Linear","in_features":3,"out_features":2}]}`, `node "a"`},
		{"absurd", head + `{"name":"a","inputs":["input"],"type":"Conv2d","in_channels":1,"out_channels":65536,"kernel_size":1},{"name":"b","inputs":["a"],"type":"Conv2d","in_channels":65536,"out_channels":65536,"kernel_size":1}]}`, "parameters"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := ParseGraph([]byte(c.json)); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

func FuzzParseGraph(f *testing.F) {
	f.Add(ResNetSmall().JSON())
	f.Add([]byte(`{"format":"snnkit.graph/v1","input":[2,4,4],"nodes":[{"name":"a","inputs":["input"],"type":"Conv2d","in_channels":2,"out_channels":2,"kernel_size":3,"padding":1},{"name":"s","inputs":["a","input"],"type":"Add"},{"name":"c","inputs":["s","a"],"type":"Concat"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseGraph(b)
		if err != nil {
			return
		}
		shapes, err := s.StateShapes()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ts := range shapes {
			n += tensor.Numel(ts.Shape)
		}
		if n < 1<<20 {
			if _, err := s.Build(nil); err != nil {
				t.Fatalf("a parsed spec does not build: %v", err)
			}
		}
		if _, err := ParseGraph(s.JSON()); err != nil {
			t.Fatalf("re-parsing: %v\n%s", err, s.JSON())
		}
	})
}
