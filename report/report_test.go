package report

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func tinyPNG(t *testing.T, c color.Color) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := 0; i < 64; i++ {
		img.Set(i%8, i/8, c)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func samplePage(t *testing.T) *Page {
	return &Page{
		Title:   "Report <test>",
		Summary: []string{"ANN 97.5%, SNN 97.4%"},
		Network: "Sequential(\n  (1): IAF(spike_threshold=1.0)\n)",
		Tables:  []Table{{Title: "Accuracy", Header: Row{"t", "acc"}, Rows: []Row{{"5", "96.8%"}, {"100", "97.4%"}}}},
		Figures: []Figure{{Title: "Input raster", Caption: "a", PNG: tinyPNG(t, color.White)}, {Title: "Output spikes", Caption: "b", PNG: tinyPNG(t, color.Black)}},
	}
}

func TestRender(t *testing.T) {
	b, err := Render(samplePage(t))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"Report &lt;test&gt;", "data:image/png;base64,", "<td>96.8%</td>", "IAF(spike_threshold=1.0)", `data-figures="2"`} {
		if !strings.Contains(s, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Count(s, "data:image/png;base64,") != 2 {
		t.Errorf("want 2 embedded images")
	}
	if strings.Contains(s, "http://") || strings.Contains(s, "https://") || strings.Contains(s, "<link") {
		t.Errorf("page refers to outside resources")
	}
}

func chromium(t *testing.T) string {
	for _, name := range []string{os.Getenv("SNNKIT_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium not installed (apt-get install chromium); skipping the browser check")
	return ""
}

// TestOpensInChromium loads a report in headless Chromium and checks from
// the rendered DOM that every embedded image decoded.
func TestOpensInChromium(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	if err := Write(path, samplePage(t)); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--virtual-time-budget=5000", "--dump-dom", "file://"+path)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	dom := string(out)
	if !strings.Contains(dom, `data-images-loaded="2"`) {
		t.Fatalf("not all images loaded; body: %.300s", dom[strings.Index(dom, "<body"):])
	}
	if strings.Contains(dom, "data-image-error") {
		t.Fatal("an image failed to load")
	}
}
