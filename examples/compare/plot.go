package main

import (
	"fmt"
	"io"

	"github.com/spago-peft/spago-peft/integration/finetune"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Size and resolution of curves.png (1430×550 pixels), and the width of the legend on the right.
const (
	plotWidth   = 13 * vg.Inch
	plotHeight  = 5 * vg.Inch
	plotDPI     = 110
	legendWidth = 2.7 * vg.Inch
)

// writePlot draws curves.png: dev accuracy (left) and the training loss (middle) against steps,
// one colour per method, and the legend (right), outside the panels so that it hides no curve.
// The loss is averaged over the last lossWindow steps, or a twentieth of the run if longer, so
// that long runs show trends rather than batch-to-batch noise.
func (rep *report) writePlot(w io.Writer) error {
	window := max(lossWindow, rep.Budget.Steps/20)
	acc := plot.New()
	acc.Title.Text = "Dev accuracy"
	acc.Y.Label.Text = "accuracy"
	loss := plot.New()
	loss.Title.Text = fmt.Sprintf("Training loss (mean of the last %d steps)", window)
	loss.Y.Label.Text = "cross-entropy"
	for _, p := range []*plot.Plot{acc, loss} {
		p.X.Label.Text = "step"
		p.X.Min = 0
		p.Add(plotter.NewGrid())
	}
	legend := plot.NewLegend()
	legend.Top, legend.Left = true, true
	legend.TextStyle.Font.Size = vg.Points(11)

	for i, r := range rep.Methods {
		color := plotutil.Color(i)
		name := label(r)

		points := make(plotter.XYs, len(r.Evals))
		for j, e := range r.Evals {
			points[j] = plotter.XY{X: float64(e.Step), Y: e.Accuracy}
		}
		line, marks, err := plotter.NewLinePoints(points)
		if err != nil {
			return fmt.Errorf("plotting %s's dev accuracy: %w", r.Method, err)
		}
		line.Color, line.Width = color, vg.Points(1.5)
		marks.Color, marks.Shape = color, plotutil.Shape(i)
		acc.Add(line, marks)
		legend.Add(name, line, marks)

		smoothed := make(plotter.XYs, len(r.TrainLoss))
		for j := range r.TrainLoss {
			smoothed[j] = plotter.XY{X: float64(j + 1), Y: trailingMean(r.TrainLoss[:j+1], window)}
		}
		curve, err := plotter.NewLine(smoothed)
		if err != nil {
			return fmt.Errorf("plotting %s's training loss: %w", r.Method, err)
		}
		curve.Color, curve.Width = color, vg.Points(1.5)
		loss.Add(curve)
	}

	img := vgimg.NewWith(vgimg.UseWH(plotWidth, plotHeight), vgimg.UseDPI(plotDPI))
	dc := draw.New(img)
	panels := draw.Crop(dc, 0, -legendWidth, 0, 0)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadTop: 0.5 * vg.Inch, PadX: 0.3 * vg.Inch,
		PadLeft: 0.1 * vg.Inch, PadBottom: 0.1 * vg.Inch}
	acc.Draw(tiles.At(panels, 0, 0))
	loss.Draw(tiles.At(panels, 1, 0))
	legend.Draw(draw.Crop(dc, plotWidth-legendWidth+0.2*vg.Inch, 0, 0, -0.85*vg.Inch))

	title := acc.Title.TextStyle
	title.Font.Size = vg.Points(13)
	title.XAlign, title.YAlign = draw.XCenter, draw.YTop
	dc.FillText(title, vg.Point{X: plotWidth / 2, Y: plotHeight - 0.12*vg.Inch}, plotTitle(rep))

	_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}

// plotTitle names the base and the budget above both panels.
func plotTitle(rep *report) string {
	base := rep.Base
	if rep.RandomBase {
		base = "offline RANDOM base (not pretrained)"
	}
	return fmt.Sprintf("%s · %d training examples · %d steps × batch %d, max length %d, seed %d",
		base, rep.TrainExamples, rep.Budget.Steps, rep.Budget.BatchSize, rep.Budget.MaxLen, rep.Budget.Seed)
}

// label names a method in the legend: its name, and its configuration for the adapters.
func label(r row) string {
	if r.Method == finetune.KindHead || r.Method == finetune.KindFull {
		return fmt.Sprintf("%s (lr %g)", displayName(r.Method), r.LR)
	}
	return fmt.Sprintf("%s %s (lr %g)", displayName(r.Method), r.Config, r.LR)
}
