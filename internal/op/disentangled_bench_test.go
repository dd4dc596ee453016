package op

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
)

// BenchmarkDisentangledAttention times the forward and backward pass of DeBERTa-v3-base's
// attention (12 heads, hidden 768, 256 position buckets, c2p and p2c) on a batch of 8 sequences
// against BERT's (Attention) on the same q, k, v: the ratio of the two in one run is the cost of
// the relative terms. The inputs require gradients, as they do under adapters.
func BenchmarkDisentangledAttention(b *testing.B) {
	const heads, d, span = 12, 768, 256
	for _, l := range []int{32, 128} {
		lengths := make([]int, 8)
		for i := range lengths {
			lengths[i] = l - i // unequal lengths, as a padded batch has
		}
		n := 0
		for _, x := range lengths {
			n += x
		}
		rng := rand.New(rand.NewPCG(1, uint64(l)))
		random := func(rows int) *mat.Dense[float32] {
			data := make([]float32, rows*d)
			for i := range data {
				data[i] = float32(rng.NormFloat64())
			}
			m := NewDense(rows, d, data)
			m.SetRequiresGrad(true)
			return m
		}
		q, k, v, pq, pk, upstream := random(n), random(n), random(n), random(2*span), random(2*span), random(n)
		c := Disentangled{Heads: heads, Lengths: lengths, C2P: true, P2C: true, Buckets: span, MaxRelative: 512}
		for _, run := range []struct {
			name    string
			forward func() mat.Tensor
		}{
			{"bert", func() mat.Tensor { return Attention(q, k, v, heads, lengths) }},
			{"deberta", func() mat.Tensor { return DisentangledAttention(q, k, v, pq, pk, c) }},
		} {
			b.Run(fmt.Sprintf("len=%d/%s", l, run.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					y := run.forward()
					y.AccGrad(upstream)
					if err := ag.Backward(y); err != nil {
						b.Fatal(err)
					}
					for _, x := range []*mat.Dense[float32]{q, k, v, pq, pk} {
						x.ZeroGrad()
					}
				}
			})
		}
	}
}
