package peft_test

import (
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/losses"
	"github.com/nlpodyssey/spago/mat"
	"github.com/spago-peft/spago-peft/internal/adaptertest"
)

// The two training paths the package doc names give the same gradients: column vectors through
// Forward with losses.MSESeq, and row-stacked tokens through ForwardRows with the sum of squares
// ag.Dot(d, d) (spago's ag.ReduceSum would break the backward pass on a matrix).
func TestColumnAndRowLossesAgree(t *testing.T) {
	const n = 5
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			a, err := k.cfg.New(adaptertest.Layer[float64](rng, layerIn, layerOut), rng)
			if err != nil {
				t.Fatal(err)
			}
			a.SetTraining(false)
			adaptertest.Randomize(rng, 0.3, a.TrainableParams()...)
			x := adaptertest.Rows[float64](rng, n, layerIn)
			target := adaptertest.Rows[float64](rng, n, layerOut)
			gradients := func(loss mat.Tensor) [][]float64 {
				if err := ag.Backward(loss); err != nil {
					t.Fatal(err)
				}
				var gs [][]float64
				for _, p := range a.TrainableParams() {
					if p.Grad() == nil {
						t.Fatal("no gradient")
					}
					gs = append(gs, p.Grad().Data().F64())
					p.ZeroGrad()
				}
				return gs
			}
			var xs, ts []mat.Tensor
			for i := range n {
				xs = append(xs, ag.T(ag.RowView(x, i)).Value())
				ts = append(ts, ag.T(ag.RowView(target, i)).Value())
			}
			columns := gradients(losses.MSESeq(a.Forward(xs...), ts, true))
			d := ag.Sub(a.ForwardRows(x), target)
			rows := gradients(ag.ProdScalar(ag.Dot(d, d), mat.Scalar(0.5/n)))
			for i := range columns {
				if diff := adaptertest.MaxAbsDiff(columns[i], rows[i]); diff > 1e-12 {
					t.Errorf("parameter %d: gradients differ by %g", i, diff)
				}
			}
		})
	}
}
