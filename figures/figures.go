// Package figures draws the tutorial's pictures with gonum/plot: the input
// spike raster of an image, the output spikes over time, accuracy against
// time step, firing rate and synaptic operations per layer. Each figure
// encodes to PNG and SVG.
package figures

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/snnkit/snnkit/internal/atomicfile"
)

// Figure is a picture ready to encode.
type Figure struct {
	Width, Height vg.Length
	draw          func(c draw.Canvas)
}

// Encode renders the figure as "png" (at 144 dpi) or "svg".
func (f *Figure) Encode(format string) (_ []byte, err error) {
	// gonum/plot panics on some degenerate inputs; a figure that cannot be
	// drawn is an error, not a crash.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("figures: drawing failed: %v", r)
		}
	}()
	var buf bytes.Buffer
	switch format {
	case "png":
		c := vgimg.NewWith(vgimg.UseWH(f.Width, f.Height), vgimg.UseDPI(144))
		f.draw(draw.New(c))
		if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
			return nil, err
		}
	case "svg":
		c := vgsvg.New(f.Width, f.Height)
		f.draw(draw.New(c))
		if _, err := c.WriteTo(&buf); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("figures: unknown format %q (png or svg)", format)
	}
	return buf.Bytes(), nil
}

// Save writes the figure to path (its extension, .png or .svg, selects the
// format) through a temporary file renamed when complete.
func (f *Figure) Save(path string) error {
	ext := filepath.Ext(path)
	if ext == "" {
		return fmt.Errorf("figures: %s has no .png or .svg extension", path)
	}
	b, err := f.Encode(ext[1:])
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, b)
}

func fromPlot(p *plot.Plot, w, h vg.Length) *Figure {
	return &Figure{Width: w, Height: h, draw: func(c draw.Canvas) { p.Draw(c) }}
}

// grid is a plotter.GridXYZ over a row-major matrix.
type grid struct {
	cols, rows int
	z          func(c, r int) float64
	x0, y0     float64
	dx         float64 // width of a column in data units (0: 1)
}

func (g grid) width() float64 {
	if g.dx == 0 {
		return 1
	}
	return g.dx
}

func (g grid) Dims() (int, int)   { return g.cols, g.rows }
func (g grid) Z(c, r int) float64 { return g.z(c, r) }
func (g grid) X(c int) float64    { return g.x0 + float64(c)*g.width() }
func (g grid) Y(r int) float64    { return g.y0 + float64(r) }

// cells draws a grid of unit squares coloured by value. Unlike
// plotter.HeatMap it overlaps neighbouring squares by a hair so that no
// anti-aliasing seams show, and it stays sharp (vector) at any size.
type cells struct {
	g    grid
	cmap palette.ColorMap
}

func (h *cells) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	eps := vg.Points(0.3)
	cols, rows := h.g.Dims()
	for r := 0; r < rows; r++ {
		for col := 0; col < cols; col++ {
			v := h.g.Z(col, r)
			clr, err := h.cmap.At(math.Min(math.Max(v, h.cmap.Min()), h.cmap.Max()))
			if err != nil {
				continue
			}
			half := h.g.width() / 2
			x0, x1 := trX(h.g.X(col)-half)-eps, trX(h.g.X(col)+half)+eps
			y0, y1 := trY(h.g.Y(r)-0.5)-eps, trY(h.g.Y(r)+0.5)+eps
			pts := []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
			c.FillPolygon(clr, c.ClipPolygonXY(pts))
		}
	}
}

func (h *cells) DataRange() (xmin, xmax, ymin, ymax float64) {
	cols, rows := h.g.Dims()
	half := h.g.width() / 2
	return h.g.X(0) - half, h.g.X(cols-1) + half, h.g.Y(0) - 0.5, h.g.Y(rows-1) + 0.5
}

// heatFigure draws a heat map with a vertical colour bar on its right.
func heatFigure(p *plot.Plot, cmap palette.ColorMap, label string, w, h vg.Length) *Figure {
	bar := plot.New()
	bar.HideX()
	bar.Y.Label.Text = label
	bar.Y.Tick.Marker = niceTicksMin(6, 1)
	bar.Add(&plotter.ColorBar{ColorMap: cmap, Vertical: true})
	return &Figure{Width: w, Height: h, draw: func(c draw.Canvas) {
		split := c.Min.X + (c.Max.X-c.Min.X)*0.82
		left := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{Min: c.Min, Max: vg.Point{X: split, Y: c.Max.Y}}}
		right := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{Min: vg.Point{X: split, Y: c.Min.Y}, Max: c.Max}}
		p.Draw(left)
		bar.Draw(draw.Crop(right, 0, 0, vg.Points(20), -vg.Points(28)))
	}}
}

// niceTicks labels round values (steps of 1, 2 or 5 times a power of ten)
// with at most about n labels, without trailing decimals, and puts unlabelled
// minor ticks between them.
func niceTicks(n int) plot.Ticker { return niceTicksMin(n, 0) }

// niceTicksMin is niceTicks with a step of at least minStep (1 for counts).
func niceTicksMin(n int, minStep float64) plot.Ticker {
	return plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		span := hi - lo
		if !(span > 0) {
			return []plot.Tick{{Value: lo, Label: fmt.Sprint(lo)}}
		}
		step := math.Pow(10, math.Floor(math.Log10(span/float64(n))))
		for _, m := range []float64{1, 2, 5, 10} {
			if span/(step*m) <= float64(n) {
				step *= m
				break
			}
		}
		step = math.Max(step, minStep)
		prec := max(0, -int(math.Floor(math.Log10(step))))
		var ticks []plot.Tick
		minor := step / 2
		if m := step / math.Pow(10, math.Floor(math.Log10(step))); m == 2 {
			minor = step / 4
		}
		for v := math.Ceil(lo/minor) * minor; v <= hi+1e-9*span; v += minor {
			t := plot.Tick{Value: v}
			if r := math.Round(v/step) * step; math.Abs(v-r) < 1e-9*span {
				t.Label = strconv.FormatFloat(r+0, 'f', prec, 64) // +0 turns -0 into 0
			}
			ticks = append(ticks, t)
		}
		return ticks
	})
}

func colorMap(max float64) palette.ColorMap {
	m := moreland.ExtendedBlackBody()
	m.SetMin(0)
	m.SetMax(math.Max(max, 1))
	return m
}

// InputRaster shows counts (rows×cols, e.g. an input spike train summed
// over time) as an image, row 0 at the top, with a colour scale.
func InputRaster(counts []float32, rows, cols int, title string) (*Figure, error) {
	if len(counts) != rows*cols || rows < 1 || cols < 1 {
		return nil, fmt.Errorf("figures: %d counts for a %d×%d image", len(counts), rows, cols)
	}
	mx := 0.0
	for _, v := range counts {
		mx = math.Max(mx, float64(v))
	}
	cmap := colorMap(mx)
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "pixel column"
	p.Y.Label.Text = "pixel row"
	g := grid{cols: cols, rows: rows, z: func(c, r int) float64 { return float64(counts[(rows-1-r)*cols+c]) }}
	p.Add(&cells{g: g, cmap: cmap})
	p.X.Tick.Marker = niceTicks(7)
	// Label rows top-down like an image.
	var ticks []plot.Tick
	for r := 0; r < rows; r += max(1, rows/7) {
		ticks = append(ticks, plot.Tick{Value: float64(rows - 1 - r), Label: fmt.Sprint(r)})
	}
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = -0.5, float64(cols)-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(rows)-0.5
	return heatFigure(p, cmap, "spikes (sum over time)", 6*vg.Inch, 5*vg.Inch), nil
}

// MaxSpikeColumns is the most columns OutputSpikes draws; longer runs are
// binned.
const MaxSpikeColumns = 500

// OutputSpikes shows the output spike counts of one sample over time:
// neuron (class) ID against time step, one row per class, as the tutorial's
// pcolormesh does. spikes is [steps × classes].
func OutputSpikes(spikes []float32, steps, classes, label, pred int) (*Figure, error) {
	if len(spikes) != steps*classes || steps < 1 || classes < 1 {
		return nil, fmt.Errorf("figures: %d values for %d steps of %d classes", len(spikes), steps, classes)
	}
	// Long runs are drawn in at most MaxSpikeColumns columns, each summing
	// the spikes of k consecutive steps: a million cells would make an SVG
	// of hundreds of megabytes and show nothing more.
	k := (steps + MaxSpikeColumns - 1) / MaxSpikeColumns
	cols := (steps + k - 1) / k
	binned := spikes
	if k > 1 {
		binned = make([]float32, cols*classes)
		for t := 0; t < steps; t++ {
			for c := 0; c < classes; c++ {
				binned[t/k*classes+c] += spikes[t*classes+c]
			}
		}
	}
	mx := 0.0
	for _, v := range binned {
		mx = math.Max(mx, float64(v))
	}
	cmap := colorMap(mx)
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Output spikes over time (true class %d, predicted %d)", label, pred)
	p.X.Label.Text = "time step"
	unit := "spikes per step"
	if k > 1 {
		unit = fmt.Sprintf("spikes per %d steps", k)
	}
	p.Y.Label.Text = "output neuron ID (class)"
	g := grid{cols: cols, rows: classes, x0: 0.5 + float64(k)/2, dx: float64(k), z: func(c, r int) float64 { return float64(binned[c*classes+r]) }}
	p.Add(&cells{g: g, cmap: cmap})
	p.X.Tick.Marker = niceTicks(10)
	var ticks []plot.Tick
	for c := 0; c < classes; c++ {
		ticks = append(ticks, plot.Tick{Value: float64(c), Label: fmt.Sprint(c)})
	}
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = 0.5, float64(cols*k)+0.5
	p.Y.Min, p.Y.Max = -0.5, float64(classes)-0.5
	return heatFigure(p, cmap, unit, 8*vg.Inch, 4*vg.Inch), nil
}

// AccuracyByT plots accuracy (in %) against time step, with the ANN's
// accuracy as a dashed reference line.
func AccuracyByT(acc []float64, ann float64) (*Figure, error) {
	if len(acc) == 0 {
		return nil, fmt.Errorf("figures: no accuracies")
	}
	p := plot.New()
	p.Title.Text = "SNN accuracy against simulated time"
	p.X.Label.Text = "time step t (prediction from spikes in steps 1..t)"
	p.Y.Label.Text = "test accuracy (%)"
	pts := make(plotter.XYs, len(acc))
	lo := 100 * ann
	for i, a := range acc {
		pts[i] = plotter.XY{X: float64(i + 1), Y: 100 * a}
		lo = math.Min(lo, 100*a)
	}
	line, err := plotter.NewLine(pts)
	if err != nil {
		return nil, err
	}
	line.Color = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	line.Width = vg.Points(2)
	ref, err := plotter.NewLine(plotter.XYs{{X: 1, Y: 100 * ann}, {X: float64(len(acc)), Y: 100 * ann}})
	if err != nil {
		return nil, err
	}
	ref.Color = color.RGBA{R: 214, G: 39, B: 40, A: 255}
	ref.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
	ref.Width = vg.Points(1.5)
	p.Add(plotter.NewGrid(), line, ref)
	p.Legend.Add("SNN", line)
	p.Legend.Add(fmt.Sprintf("ANN (%.2f%%)", 100*ann), ref)
	p.Legend.Top = false
	p.Legend.Left = false
	p.Legend.XOffs = -vg.Points(12)
	p.Legend.YOffs = vg.Points(12)
	p.Y.Min = math.Max(0, math.Floor(lo-2))
	p.Y.Max = math.Min(100, 100*math.Max(ann, acc[len(acc)-1])+1)
	p.Y.Tick.Marker = niceTicks(8)
	if len(acc) < 10 {
		// Too short for a log axis (one step would make its range empty):
		// a linear axis with a dot per step.
		dots, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, err
		}
		dots.Color = line.Color
		p.Add(dots)
		p.X.Min, p.X.Max = 0.5, float64(len(acc))+0.5
		var xt []plot.Tick
		for t := 1; t <= len(acc); t++ {
			xt = append(xt, plot.Tick{Value: float64(t), Label: strconv.Itoa(t)})
		}
		p.X.Tick.Marker = plot.ConstantTicks(xt)
		return fromPlot(p, 7*vg.Inch, 4.5*vg.Inch), nil
	}
	p.X.Min = 1
	// A log time axis shows both the first steps, where accuracy climbs,
	// and the long plateau.
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.ConstantTicks(timeTicks(len(acc)))
	p.X.Label.Text = "time step t, log scale (prediction from spikes in steps 1..t)"
	return fromPlot(p, 7*vg.Inch, 4.5*vg.Inch), nil
}

func barFigure(title, xlabel, ylabel string, names []string, sets [][]float64, legend []string, logY bool) (*Figure, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Add(plotter.NewGrid())
	top := 0.0
	colors := []color.Color{color.RGBA{R: 31, G: 119, B: 180, A: 255}, color.RGBA{R: 255, G: 127, B: 14, A: 255}}
	w := vg.Points(28)
	for i, vals := range sets {
		v := make(plotter.Values, len(vals))
		copy(v, vals)
		for _, x := range vals {
			top = math.Max(top, x)
		}
		var base *plotter.BarChart
		if logY {
			// A log axis has no 0: bars stand on an invisible base of height 1.
			ones := make(plotter.Values, len(v))
			for j := range v {
				v[j] = math.Max(v[j], 1) - 1
				ones[j] = 1
			}
			var err error
			if base, err = plotter.NewBarChart(ones, w); err != nil {
				return nil, err
			}
		}
		bars, err := plotter.NewBarChart(v, w)
		if err != nil {
			return nil, err
		}
		if base != nil {
			bars.StackOn(base)
		}
		bars.Color = colors[i%len(colors)]
		bars.LineStyle.Width = 0
		bars.Offset = w * vg.Length(float64(i)-float64(len(sets)-1)/2)
		p.Add(bars)
		if len(legend) > i {
			p.Legend.Add(legend[i], bars)
		}
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.7, float64(len(names))-0.3
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Y.Min = 1
		p.Y.Max = math.Max(top, 10) * 3
	} else {
		p.Y.Min = 0
		p.Y.Max = math.Max(top, 1e-9) * 1.12
		p.Y.Tick.Marker = niceTicks(6)
	}
	p.Legend.Top = true
	return fromPlot(p, 7*vg.Inch, 4.5*vg.Inch), nil
}

// FiringRates draws spikes per neuron per time step for each spiking layer.
func FiringRates(names []string, rates []float64) (*Figure, error) {
	if len(names) != len(rates) || len(names) == 0 {
		return nil, fmt.Errorf("figures: %d names for %d rates", len(names), len(rates))
	}
	return barFigure("Firing rate per spiking layer", "spiking layer (index of the ReLU it replaced)", "spikes per neuron per time step", names, [][]float64{rates}, nil, false)
}

// SynOps draws synaptic operations per image of each weighted layer next to
// the ANN's multiply-accumulates per image, on a log scale.
func SynOps(names []string, synops, macs []float64, steps int) (*Figure, error) {
	if len(names) != len(synops) || len(names) != len(macs) || len(names) == 0 {
		return nil, fmt.Errorf("figures: %d names, %d synops, %d MACs", len(names), len(synops), len(macs))
	}
	return barFigure("Synaptic operations per image", "weighted layer (index in the ANN)", "operations per image (log scale)", names,
		[][]float64{synops, macs}, []string{fmt.Sprintf("SNN synops (T=%d)", steps), "ANN MACs (one pass)"}, true)
}
