package hra

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/internal/op"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/internal/adapterkit"
)

// Model is a linear layer adapted by HRA: y = W·H·x + b.
type Model struct {
	nn.Module
	// Base is the frozen layer; after Merge its W holds W·H.
	Base *linear.Model
	// U holds the reflection vectors as columns, in_features×r: PEFT's hra_u.
	U *nn.Param
	// Config is the configuration the adapter was built with.
	Config Config
	merged bool
	name   string // the layer's path in its model, for error messages
}

var _ peft.Adapter = (*Model)(nil)

// New wraps base with an HRA adapter configured by c, drawing the initial vectors from rng (a
// math/rand/v2 generator), and freezes base. It fails if base or rng is nil, if c is invalid or
// asks for more reflections than base has inputs, and with peft.ErrSharedBase if another adapter
// in use wraps base.
func New(base *linear.Model, c Config, rng *rand.Rand) (*Model, error) {
	if err := adapterkit.CheckNewArgs("hra", base, rng); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	_, in := op.Dims(base.W)
	if c.R > in {
		return nil, fmt.Errorf("%w: hra: r = %d exceeds the layer's %d input features", peft.ErrInvalidConfig, c.R, in)
	}
	u := base.W.Value().(mat.Matrix).NewMatrix(mat.WithShape(in, c.R))
	u.SetData(float.Make(initialVectors(in, c, rng)...))
	m := &Model{Base: base, U: nn.NewParam(u), Config: c}
	if err := adapterkit.Attach(base, m); err != nil {
		return nil, fmt.Errorf("hra: %w", err)
	}
	return m, nil
}

// initialVectors returns U (in×r, row-major) drawn as PEFT does: Kaiming-uniform with a = √5, so
// uniform in ±1/√fan_in where fan_in is the number of independent columns.
func initialVectors(in int, c Config, rng *rand.Rand) []float64 {
	cols, repeat := c.R, 1
	if c.Init == PairedInit {
		cols, repeat = c.R/2, 2
	}
	bound := 1 / math.Sqrt(float64(cols))
	u := make([]float64, in*c.R)
	for i := 0; i < in; i++ {
		for j := 0; j < cols; j++ {
			v := (rng.Float64()*2 - 1) * bound
			for k := 0; k < repeat; k++ {
				u[i*c.R+j*repeat+k] = v
			}
		}
	}
	return u
}

// Forward maps each in×1 token to out×1; see adapterkit.ForwardTokens.
func (m *Model) Forward(xs ...mat.Tensor) []mat.Tensor {
	return adapterkit.ForwardTokens(m.ForwardRows, xs)
}

// ForwardRows maps row-stacked tokens X (n×in) to X·(W·H)ᵀ + b by reflecting the tokens and then
// applying the base layer; once merged it is the base layer alone.
func (m *Model) ForwardRows(x mat.Tensor) mat.Tensor {
	op.MustWidth(x, m.Base.W, "hra", m.name)
	if !m.merged {
		x = m.transform(x)
	}
	return op.Linear(x, m.Base.W, m.Base.B)
}

// transform returns the rows of x mapped by H.
func (m *Model) transform(x mat.Tensor) mat.Tensor {
	if m.Config.GS {
		q := gramSchmidt(m.U)
		return ag.Sub(x, ag.ProdScalar(op.MatMul(op.MatMul(x, q, false), q, true), x.Value().(mat.Matrix).NewScalar(2)))
	}
	return reflect(x, unitColumns(m.U))
}

// SetName sets the layer's path in its model, such as "layers.0.ffn.in", which panics on tokens
// of the wrong width name; peft.Wrap sets it.
func (m *Model) SetName(name string) { m.name = name }

// BaseLayer returns the wrapped layer.
func (m *Model) BaseLayer() *linear.Model { return m.Base }

// TrainableParams returns U.
func (m *Model) TrainableParams() []*nn.Param { return []*nn.Param{m.U} }

// Regularization returns λ·‖I − ÛᵀÛ‖²_F, or nil when λ is 0 or GS makes the vectors orthonormal.
func (m *Model) Regularization() mat.Tensor {
	if m.Config.Lambda == 0 || m.Config.GS {
		return nil
	}
	p := orthoPenalty(unitColumns(m.U))
	return ag.ProdScalar(p, p.Value().(mat.Matrix).NewScalar(m.Config.Lambda))
}

// SetTraining does nothing: HRA behaves the same in training and inference.
func (m *Model) SetTraining(bool) {}

// Merged reports whether H is folded into the base weights.
func (m *Model) Merged() bool { return m.merged }

// Merge sets W ← W·H, after which the forward is the base layer's.
func (m *Model) Merge() error {
	if m.merged {
		return fmt.Errorf("%w: hra: already merged", peft.ErrMerged)
	}
	if err := m.Validate(); err != nil {
		return err
	}
	m.multiplyWeights(false)
	m.merged = true
	return nil
}

// Unmerge sets W ← W·Hᵀ, undoing Merge (H is orthogonal, so Hᵀ = H⁻¹).
func (m *Model) Unmerge() error {
	if !m.merged {
		return fmt.Errorf("%w: hra: not merged", peft.ErrMerged)
	}
	m.multiplyWeights(true)
	m.merged = false
	return nil
}

// multiplyWeights sets W ← W·H, or W ← W·Hᵀ when inverse is set, on the weight values alone.
func (m *Model) multiplyWeights(inverse bool) {
	w := m.Base.W.Value().(mat.Matrix)
	switch w.Data().BitSize() {
	case 32:
		multiplyWeights[float32](m, inverse)
	default:
		multiplyWeights[float64](m, inverse)
	}
}

func multiplyWeights[T float.DType](m *Model, inverse bool) {
	out, in := op.Dims(m.Base.W)
	w := op.Values[T](m.Base.W)
	if m.Config.GS {
		// H = I − 2·Q·Qᵀ is symmetric, so merging and unmerging are the same product.
		q := op.Values[T](gramSchmidt(m.U))
		wq := make([]T, out*m.Config.R)
		for i := 0; i < out; i++ {
			for k := 0; k < in; k++ {
				for j := 0; j < m.Config.R; j++ {
					wq[i*m.Config.R+j] += w[i*in+k] * q[k*m.Config.R+j]
				}
			}
		}
		for i := 0; i < out; i++ {
			for k := 0; k < in; k++ {
				var s T
				for j := 0; j < m.Config.R; j++ {
					s += wq[i*m.Config.R+j] * q[k*m.Config.R+j]
				}
				w[i*in+k] -= 2 * s
			}
		}
		return
	}
	// Row w becomes w·H on merge and w·Hᵀ on unmerge.
	newWY(op.Values[T](unitColumns(m.U)), in, m.Config.R, true).apply(w, out, inverse)
}

// Validate reports NaN or infinite values in U and columns too short to normalise.
func (m *Model) Validate() error {
	in, r := op.Dims(m.U)
	u := m.U.Value().Data().F64()
	norms := columnNorms(u, in, r)
	for j, n := range norms {
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return fmt.Errorf("%w: hra: column %d of U has NaN or infinite values", peft.ErrInvalidParams, j)
		}
		if n < 1e-12 {
			return fmt.Errorf("%w: hra: column %d of U has norm %g, too small to define a reflection", peft.ErrInvalidParams, j, n)
		}
	}
	return nil
}
