package lora

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

// torchCase is one case of testdata/lora_fixtures.json, written by testdata/make_fixtures.py.
type torchCase struct {
	Name          string
	In, Out, Rank int
	N             int
	Alpha         float64   `json:"lora_alpha"`
	UseRSLoRA     bool      `json:"use_rslora"`
	W, B          []float64 // the base layer
	A             []float64 `json:"lora_A"`
	LoraB         []float64 `json:"lora_B"`
	X, P          []float64 // P weighs the outputs in the loss Σ Y⊙P
	Y             []float64
	Loss          float64
	GradA         []float64 `json:"grad_lora_A"`
	GradB         []float64 `json:"grad_lora_B"`
	GradX         []float64
}

func TestAgreesWithPyTorch(t *testing.T) {
	raw, err := os.ReadFile("testdata/lora_fixtures.json")
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
			m, err := New(base, Config{R: c.Rank, Alpha: c.Alpha, UseRSLoRA: c.UseRSLoRA}, rand.New(rand.NewPCG(0, 0)))
			require.NoError(t, err)
			m.A.SetData(mat.NewDense[float64](mat.WithBacking(c.A)).Data())
			m.B.SetData(mat.NewDense[float64](mat.WithBacking(c.LoraB)).Data())
			x := mat.NewDense[float64](mat.WithShape(c.N, c.In), mat.WithBacking(c.X), mat.WithGrad(true))
			proj := mat.NewDense[float64](mat.WithShape(c.N, c.Out), mat.WithBacking(c.P))

			y := m.ForwardRows(x)
			loss := ag.Dot(y, proj)
			require.NoError(t, ag.Backward(loss))
			assert.InDeltaSlice(t, c.Y, y.Value().Data().F64(), 1e-10)
			assert.InDelta(t, c.Loss, loss.Value().Item().F64(), 1e-10)
			assert.InDeltaSlice(t, c.GradA, m.A.Grad().Data().F64(), 1e-9)
			assert.InDeltaSlice(t, c.GradB, m.B.Grad().Data().F64(), 1e-9)
			assert.InDeltaSlice(t, c.GradX, x.Grad().Data().F64(), 1e-9)
		})
	}
}
