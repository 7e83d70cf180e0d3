package figures

import (
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// seriesColors tell the recipes of a comparison apart.
var seriesColors = []color.Color{
	color.RGBA{R: 31, G: 119, B: 180, A: 255},
	color.RGBA{R: 255, G: 127, B: 14, A: 255},
	color.RGBA{R: 44, G: 160, B: 44, A: 255},
	color.RGBA{R: 148, G: 103, B: 189, A: 255},
}

// AccuracyCurve is one network's accuracy after each time step, with the
// accuracy of the ANN it was converted from.
type AccuracyCurve struct {
	Name     string
	Accuracy []float64 // Accuracy[t-1]: from steps 1..t, in [0, 1]
	ANN      float64
}

// AccuracyCompare plots several networks' accuracy (in %) against time
// step on one log time axis, each with its ANN as a dashed line of its
// colour: recipes of different latencies side by side.
func AccuracyCompare(curves []AccuracyCurve) (*Figure, error) {
	if len(curves) == 0 {
		return nil, fmt.Errorf("figures: no curves")
	}
	p := plot.New()
	p.Title.Text = "SNN accuracy against simulated time"
	p.Y.Label.Text = "test accuracy (%)"
	p.Add(plotter.NewGrid())
	lo, hi, steps := 100.0, 0.0, 1
	for i, c := range curves {
		if len(c.Accuracy) == 0 {
			return nil, fmt.Errorf("figures: curve %q has no accuracies", c.Name)
		}
		clr := seriesColors[i%len(seriesColors)]
		pts := make(plotter.XYs, len(c.Accuracy))
		for t, a := range c.Accuracy {
			pts[t] = plotter.XY{X: float64(t + 1), Y: 100 * a}
		}
		// The curves are drawn from t=2 at most a few points below the
		// ANN, so an early step near chance does not flatten the rest.
		for _, a := range c.Accuracy[min(1, len(c.Accuracy)-1):] {
			lo = math.Min(lo, 100*a)
		}
		lo, hi = math.Min(lo, 100*c.ANN), math.Max(hi, math.Max(100*c.ANN, 100*c.Accuracy[len(c.Accuracy)-1]))
		steps = max(steps, len(c.Accuracy))
		line, err := plotter.NewLine(pts)
		if err != nil {
			return nil, err
		}
		line.Color, line.Width = clr, vg.Points(2)
		dots, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, err
		}
		dots.Color, dots.Radius = clr, vg.Points(2)
		p.Add(line)
		if len(c.Accuracy) < 20 {
			p.Add(dots)
		}
		p.Legend.Add(c.Name, line)
		ref := &annLine{y: 100 * c.ANN, style: draw.LineStyle{Color: clr, Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(6), vg.Points(4)}}}
		p.Add(ref)
		p.Legend.Add(fmt.Sprintf("its ANN (%.2f%%)", 100*c.ANN), ref)
	}
	p.Y.Min = math.Max(0, math.Floor(lo-1))
	p.Y.Max = math.Min(100.5, hi+0.5)
	p.Y.Tick.Marker = niceTicks(8)
	p.X.Min, p.X.Max = 1, float64(max(steps, 2))
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.ConstantTicks(timeTicks(max(steps, 2)))
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.XOffs, p.Legend.YOffs = -vg.Points(16), vg.Points(12)
	return withXLabel(p, "time step t, log scale (prediction from steps 1..t)", 7*vg.Inch, 4.5*vg.Inch), nil
}

// withXLabel draws p with an x-axis label centred under the whole figure.
// gonum/plot places its own label at the arithmetic middle of the axis
// range, which on a log axis is near its right end, and shrinks the plot to
// make room for it there.
func withXLabel(p *plot.Plot, label string, w, h vg.Length) *Figure {
	style := p.X.Label.TextStyle
	style.XAlign, style.YAlign = draw.XCenter, draw.YBottom
	room := style.Height(label) + p.X.Label.Padding
	return &Figure{Width: w, Height: h, draw: func(c draw.Canvas) {
		p.Draw(draw.Crop(c, 0, 0, room, 0))
		c.FillText(style, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: c.Min.Y + p.X.Label.Padding/2}, label)
	}}
}

// annLine is a horizontal line across the whole x range, whatever it is.
type annLine struct {
	y     float64
	style draw.LineStyle
}

// Plot implements plot.Plotter.
func (l *annLine) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	y := trY(l.y)
	c.StrokeLines(l.style, c.ClipLinesXY([]vg.Point{{X: trX(p.X.Min), Y: y}, {X: trX(p.X.Max), Y: y}})...)
}

// Thumbnail implements plot.Thumbnailer, for the legend.
func (l *annLine) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(l.style, c.Min.X, y, c.Max.X, y)
}

// timeTicks labels 1, 2, 5, 10, 20, ... up to n, and n.
func timeTicks(n int) []plot.Tick {
	var xt []plot.Tick
	for _, d := range []float64{1, 2, 5} {
		for m := 1.0; m <= float64(n); m *= 10 {
			if v := d * m; v <= float64(n) {
				xt = append(xt, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
			}
		}
	}
	sort.Slice(xt, func(i, j int) bool { return xt[i].Value < xt[j].Value })
	if last := float64(n); len(xt) == 0 || xt[len(xt)-1].Value != last {
		xt = append(xt, plot.Tick{Value: last, Label: strconv.Itoa(n)})
	}
	return xt
}

// ParetoCurve is one conversion's accuracy against its cost over T: a
// point per simulated time budget, and its ANN's point.
type ParetoCurve struct {
	Name     string
	Steps    []int     // T of each point
	Ops      []float64 // synaptic operations per image at each T
	Accuracy []float64 // accuracy at each T, in [0, 1]
	ANNOps   float64   // the ANN's multiply-accumulates per image
	ANN      float64   // the ANN's accuracy
}

// Pareto plots accuracy (in %) against operations per image on a log axis:
// each conversion's points over T joined in order and labelled with their
// T, and its ANN as a diamond of the same colour. Up and to the left is
// better.
func Pareto(curves []ParetoCurve) (*Figure, error) {
	if len(curves) == 0 {
		return nil, fmt.Errorf("figures: no curves")
	}
	p := plot.New()
	p.Title.Text = "Accuracy against synaptic operations"
	p.Y.Label.Text = "test accuracy (%)"
	p.Add(plotter.NewGrid())
	xlo, xhi, ylo, yhi := math.Inf(1), 0.0, 100.0, 0.0
	for i, c := range curves {
		n := len(c.Steps)
		if n == 0 || len(c.Ops) != n || len(c.Accuracy) != n {
			return nil, fmt.Errorf("figures: curve %q: %d steps, %d operation counts, %d accuracies", c.Name, n, len(c.Ops), len(c.Accuracy))
		}
		if !(c.ANNOps > 0) {
			return nil, fmt.Errorf("figures: curve %q: ANN operations %v", c.Name, c.ANNOps)
		}
		clr := seriesColors[i%len(seriesColors)]
		pts := make(plotter.XYs, n)
		labels := make([]string, n)
		for j := range pts {
			if !(c.Ops[j] > 0) || math.IsInf(c.Ops[j], 0) {
				return nil, fmt.Errorf("figures: curve %q: %v operations at T=%d (a log axis needs a positive count)", c.Name, c.Ops[j], c.Steps[j])
			}
			pts[j] = plotter.XY{X: c.Ops[j], Y: 100 * c.Accuracy[j]}
			labels[j] = "T=" + strconv.Itoa(c.Steps[j])
			xlo, xhi = math.Min(xlo, c.Ops[j]), math.Max(xhi, c.Ops[j])
			ylo, yhi = math.Min(ylo, pts[j].Y), math.Max(yhi, pts[j].Y)
		}
		ann := plotter.XYs{{X: c.ANNOps, Y: 100 * c.ANN}}
		xlo, xhi = math.Min(xlo, c.ANNOps), math.Max(xhi, c.ANNOps)
		ylo, yhi = math.Min(ylo, 100*c.ANN), math.Max(yhi, 100*c.ANN)
		line, err := plotter.NewLine(pts)
		if err != nil {
			return nil, err
		}
		line.Color, line.Width = clr, vg.Points(1.5)
		dots, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, err
		}
		dots.Color, dots.Radius = clr, vg.Points(3)
		dots.Shape = draw.CircleGlyph{}
		annDot, err := plotter.NewScatter(ann)
		if err != nil {
			return nil, err
		}
		annDot.Color, annDot.Radius, annDot.Shape = clr, vg.Points(5), draw.PyramidGlyph{}
		tl, err := plotter.NewLabels(plotter.XYLabels{XYs: pts, Labels: labels})
		if err != nil {
			return nil, err
		}
		for k := range tl.TextStyle {
			tl.TextStyle[k].Color = clr
			tl.TextStyle[k].Font.Size = vg.Points(8)
		}
		tl.Offset = vg.Point{X: vg.Points(4), Y: -vg.Points(10)}
		al, err := plotter.NewLabels(plotter.XYLabels{XYs: ann, Labels: []string{"ANN"}})
		if err != nil {
			return nil, err
		}
		al.TextStyle[0].Color, al.TextStyle[0].Font.Size = clr, vg.Points(8)
		al.Offset = vg.Point{X: vg.Points(6), Y: vg.Points(2)}
		p.Add(line, dots, annDot, tl, al)
		p.Legend.Add(c.Name+" SNN over T", line, dots)
		p.Legend.Add(fmt.Sprintf("its ANN (%.2f%%)", 100*c.ANN), annDot)
	}
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.X.Min, p.X.Max = xlo/2, xhi*3
	p.Y.Min = math.Max(0, math.Floor(ylo-1))
	p.Y.Max = math.Min(101, yhi+0.6)
	p.Y.Tick.Marker = niceTicks(8)
	// Good points are up and left; the bottom right stays empty.
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.XOffs, p.Legend.YOffs = -vg.Points(16), vg.Points(12)
	return withXLabel(p, "operations per image, log scale (SNN: synops over T steps, ANN: MACs)", 7*vg.Inch, 4.5*vg.Inch), nil
}
