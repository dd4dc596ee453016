package hra

import (
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
)

// gramSchmidt returns Q (in×r), the columns of U orthonormalised in order by classical
// Gram–Schmidt as PEFT's apply_GS does, built from autograd operators so gradients reach U.
func gramSchmidt(u mat.Tensor) mat.Tensor {
	r := u.Value().Shape()[1]
	qs := make([]mat.Tensor, r)
	for i := 0; i < r; i++ {
		v := ag.ColView(u, i)
		for j := 0; j < i; j++ {
			v = ag.Sub(v, ag.ProdScalar(qs[j], ag.Dot(qs[j], v)))
		}
		qs[i] = ag.DivScalar(v, ag.Sqrt(ag.Dot(v, v)))
	}
	return ag.T(ag.Stack(qs...))
}
