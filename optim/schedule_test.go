package optim

import (
	"math"
	"testing"
)

func TestSchedules(t *testing.T) {
	const base, total, per = 1.0, 1000, 100
	cases := []struct {
		spec string
		step int
		want float64
	}{
		{"constant", 500, 1},
		{"cosine", 0, 1},
		{"cosine", 500, 0.5},
		{"cosine", 1000, 0},
		{"onecycle", 0, 0.04},
		{"onecycle", 299, 1},
		{"onecycle", 999, 0.04 / 1e4},
		{"step:3:0.5", 299, 1},
		{"step:3:0.5", 300, 0.5},
		{"step:3:0.5", 650, 0.25},
	}
	for _, c := range cases {
		s, err := ParseSchedule(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Rate(base, c.step, total, per); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s at step %d: %v, want %v", c.spec, c.step, got, c.want)
		}
		if s.String() != c.spec {
			t.Errorf("%s prints as %s", c.spec, s)
		}
	}
	for _, bad := range []string{"linear", "step:0:0.5", "step:2:2", "step:x"} {
		if _, err := ParseSchedule(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
