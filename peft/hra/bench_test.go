package hra

import (
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/spago-peft/spago-peft/internal/adaptertest"
	"github.com/spago-peft/spago-peft/internal/op"
)

// The benchmarks run a 768×768 float32 layer on 32 tokens with r = 8, the shapes of a BERT-base
// projection, so benchstat can set HRA's cost beside the bare layer's and beside the dense form
// that PEFT computes (H built as a d×d matrix, then W·H, then the layer).
const benchIn, benchOut, benchTokens, benchR = 768, 768, 32, 8

func benchSetup(b *testing.B) (*Model, *mat.Dense[float32]) {
	rng := rand.New(rand.NewPCG(1, 2))
	m, err := New(adaptertest.Layer[float32](rng, benchIn, benchOut), Config{R: benchR, Init: RandomInit}, rng)
	if err != nil {
		b.Fatal(err)
	}
	return m, adaptertest.Rows[float32](rng, benchTokens, benchIn)
}

// denseForward is the dense-H form: H from reflecting the identity's rows (which gives Hᵀ),
// then W·H, then the layer.
func (m *Model) denseForward(x mat.Tensor) mat.Tensor {
	in := m.U.Value().Shape()[0]
	eye := mat.NewDense[float32](mat.WithShape(in, in), mat.WithBacking(mat.CreateIdentityMatrix[float32](in)))
	ht := reflect(eye, unitColumns(m.U))
	return op.Linear(x, op.MatMul(m.Base.W, ht, true), m.Base.B)
}

func BenchmarkForward(b *testing.B) {
	m, x := benchSetup(b)
	forwards := []struct {
		name string
		f    func(mat.Tensor) mat.Tensor
	}{
		{"base", func(x mat.Tensor) mat.Tensor { return op.Linear(x, m.Base.W, m.Base.B) }},
		{"hra", m.ForwardRows},
		{"hra-dense", m.denseForward},
	}
	for _, f := range forwards {
		b.Run(f.name, func(b *testing.B) {
			for b.Loop() {
				f.f(x).Value()
			}
		})
	}
}

func BenchmarkForwardBackward(b *testing.B) {
	m, x := benchSetup(b)
	x.SetRequiresGrad(true) // as inside a network, the input needs its gradient too
	forwards := []struct {
		name string
		f    func(mat.Tensor) mat.Tensor
	}{
		{"base", func(x mat.Tensor) mat.Tensor { return op.Linear(x, m.Base.W, m.Base.B) }},
		{"hra", m.ForwardRows},
		{"hra-dense", m.denseForward},
	}
	for _, f := range forwards {
		b.Run(f.name, func(b *testing.B) {
			for b.Loop() {
				y := f.f(x)
				y.AccGrad(y.Value().(mat.Matrix).OnesLike())
				if err := ag.Backward(y); err != nil {
					b.Fatal(err)
				}
				x.ZeroGrad()
				m.U.ZeroGrad()
			}
		})
	}
}
