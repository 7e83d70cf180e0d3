package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestLinesAndBar(t *testing.T) {
	var b bytes.Buffer
	r := New(&b, 100, "train", "img", false)
	r.Update(50, "loss 0.5")
	r.Update(100, "loss 0.4")
	r.Finish()
	if out := b.String(); !strings.Contains(out, "train 100/100 img") {
		t.Fatalf("plain lines: %q", out)
	}
	b.Reset()
	br := &bar{w: &b, total: 10, title: "sim", unit: "img", start: time.Now().Add(-time.Second), width: 80}
	br.Update(5, "")
	br.Update(10, "")
	br.Finish()
	if out := b.String(); !strings.Contains(out, "\r") || !strings.Contains(out, "100%") || !strings.HasSuffix(out, "\n") {
		t.Fatalf("bar: %q", out)
	}
	if _, ok := New(&b, 10, "x", "y", true).(nop); !ok {
		t.Fatal("quiet reporter is not silent")
	}
}
