package anonymity

import (
	"fmt"
	"image/color"
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

var palette = []color.Color{
	color.RGBA{0x1f, 0x77, 0xb4, 0xff}, color.RGBA{0xd6, 0x27, 0x28, 0xff}, color.RGBA{0x2c, 0xa0, 0x2c, 0xff},
	color.RGBA{0x94, 0x67, 0xbd, 0xff}, color.RGBA{0xff, 0x7f, 0x0e, 0xff}, color.RGBA{0x8c, 0x56, 0x4b, 0xff},
}

// PlotVsN draws mean entropy against N (log scale) per condition, simulated
// as lines and measured as points, with log2 N, into a PNG.
func PlotVsN(rows []Row, path string) error {
	p := plot.New()
	p.Title.Text = "Sender entropy of messages at the exit"
	p.X.Label.Text = "clients N"
	p.Y.Label.Text = "entropy (bits)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top, p.Legend.Left = true, true
	var ns []float64
	seen := map[int]bool{}
	for _, r := range rows {
		if !seen[r.N] {
			seen[r.N] = true
			ns = append(ns, float64(r.N))
		}
	}
	sort.Float64s(ns)
	if len(ns) == 0 {
		return fmt.Errorf("anonymity: nothing to plot")
	}
	ideal := make(plotter.XYs, len(ns))
	for i, n := range ns {
		ideal[i] = plotter.XY{X: n, Y: math.Log2(n)}
	}
	if err := addLine(p, ideal, "log2 N", color.Gray{0x60}, true); err != nil {
		return err
	}
	for ci, c := range conditionNames(rows) {
		col := palette[ci%len(palette)]
		var sim, meas plotter.XYs
		for _, r := range rows {
			if r.Condition != c {
				continue
			}
			pt := plotter.XY{X: float64(r.N), Y: r.Result.Mean}
			if r.Source == "measured" {
				meas = append(meas, pt)
			} else {
				sim = append(sim, pt)
			}
		}
		sort.Slice(sim, func(i, j int) bool { return sim[i].X < sim[j].X })
		if len(sim) > 0 {
			if err := addLine(p, sim, c+" (simulated)", col, false); err != nil {
				return err
			}
		}
		if len(meas) > 0 {
			if err := addPoints(p, meas, c+" (measured)", col); err != nil {
				return err
			}
		}
	}
	return p.Save(8*vg.Inch, 5*vg.Inch, path)
}

// DelayPoint is one entropy at one per-hop delay.
type DelayPoint struct {
	Label    string // the series
	Delay    float64
	Entropy  float64
	Measured bool
}

// PlotVsDelay draws mean entropy against the mean per-hop delay in ms.
func PlotVsDelay(points []DelayPoint, path string) error {
	p := plot.New()
	p.Title.Text = "Sender entropy against the per-hop delay"
	p.X.Label.Text = "mean delay per hop (ms)"
	p.Y.Label.Text = "entropy (bits)"
	p.Legend.Top, p.Legend.Left = false, false
	var labels []string
	series := map[string]plotter.XYs{}
	measured := map[string]bool{}
	for _, pt := range points {
		if _, ok := series[pt.Label]; !ok {
			labels = append(labels, pt.Label)
		}
		series[pt.Label] = append(series[pt.Label], plotter.XY{X: pt.Delay * 1000, Y: pt.Entropy})
		measured[pt.Label] = pt.Measured
	}
	for i, l := range labels {
		xy := series[l]
		sort.Slice(xy, func(a, b int) bool { return xy[a].X < xy[b].X })
		var err error
		if measured[l] {
			err = addPoints(p, xy, l, palette[i%len(palette)])
		} else {
			err = addLine(p, xy, l, palette[i%len(palette)], false)
		}
		if err != nil {
			return err
		}
	}
	return p.Save(8*vg.Inch, 5*vg.Inch, path)
}

func addLine(p *plot.Plot, xy plotter.XYs, name string, c color.Color, dashed bool) error {
	l, err := plotter.NewLine(xy)
	if err != nil {
		return err
	}
	l.Color = c
	l.Width = vg.Points(1.5)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

func addPoints(p *plot.Plot, xy plotter.XYs, name string, c color.Color) error {
	s, err := plotter.NewScatter(xy)
	if err != nil {
		return err
	}
	s.Color = c
	s.Radius = vg.Points(4)
	p.Add(s)
	p.Legend.Add(name, s)
	return nil
}

func conditionNames(rows []Row) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range rows {
		if !seen[r.Condition] {
			seen[r.Condition] = true
			out = append(out, r.Condition)
		}
	}
	return out
}
