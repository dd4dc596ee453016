package oft

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// torchCase is one case of testdata/oft_fixtures.json, written by testdata/make_fixtures.py. Its
// config uses PEFT's OFTConfig field names, so decoding it also checks Config's JSON tags.
type torchCase struct {
	Name          string
	Config        Config
	In, Out, N    int
	W, B, R, X, P []float64 // P weighs the outputs in the loss Σ Y⊙P
	RProjected    []float64 `json:"R_projected"` // R after COFT's in-place projection
	Y             []float64
	Loss          float64
	GradR, GradX  []float64
	WMerged       []float64 `json:"W_merged"`
}

func TestAgreesWithPyTorch(t *testing.T) {
	raw, err := os.ReadFile("testdata/oft_fixtures.json")
	require.NoError(t, err)
	var fixtures struct {
		Cases []torchCase
	}
	require.NoError(t, json.Unmarshal(raw, &fixtures))
	require.NotEmpty(t, fixtures.Cases)
	for _, c := range fixtures.Cases {
		t.Run(c.Name, func(t *testing.T) {
			base := linear.New[float64](c.In, c.Out)
			base.W.SetData(mat.NewDense[float64](mat.WithBacking(c.W)).Data())
			base.B.SetData(mat.NewDense[float64](mat.WithBacking(c.B)).Data())
			m, err := New(base, c.Config, rand.New(rand.NewPCG(0, 0)))
			require.NoError(t, err)
			m.R.SetData(mat.NewDense[float64](mat.WithBacking(c.R)).Data())
			x := mat.NewDense[float64](mat.WithShape(c.N, c.In), mat.WithBacking(c.X), mat.WithGrad(true))
			proj := mat.NewDense[float64](mat.WithShape(c.N, c.Out), mat.WithBacking(c.P))

			y := m.ForwardRows(x)
			loss := ag.Dot(y, proj)
			require.NoError(t, ag.Backward(loss))
			assert.InDeltaSlice(t, c.RProjected, m.R.Value().Data().F64(), 1e-12)
			assert.InDeltaSlice(t, c.Y, y.Value().Data().F64(), 1e-10)
			assert.InDelta(t, c.Loss, loss.Value().Item().F64(), 1e-10)
			assert.InDeltaSlice(t, c.GradR, m.R.Grad().Data().F64(), 1e-9)
			assert.InDeltaSlice(t, c.GradX, x.Grad().Data().F64(), 1e-9)

			require.NoError(t, m.Merge())
			assert.InDeltaSlice(t, c.WMerged, base.W.Data().F64(), 1e-10)
		})
	}
}
