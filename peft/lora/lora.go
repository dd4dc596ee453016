package lora

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/internal/gemm"
	"github.com/spago-peft/spago-peft/internal/op"
	"github.com/spago-peft/spago-peft/peft"
)

// Model is a linear layer adapted by LoRA: y = W·x + b + s·B·A·x.
type Model struct {
	nn.Module
	// Base is the frozen layer; after Merge its W holds W + s·B·A.
	Base *linear.Model
	// A projects the input down to r values, r×in_features: PEFT's lora_A.weight.
	A *nn.Param
	// B projects back up, out_features×r: PEFT's lora_B.weight. It starts at zero.
	B *nn.Param
	// Config is the configuration the adapter was built with.
	Config Config

	merged   bool
	training bool
	// maskMu guards maskRNG, which draws the dropout masks: forwards of one adapter may run on
	// several goroutines.
	maskMu  sync.Mutex
	maskRNG *rand.Rand
}

var _ peft.Adapter = (*Model)(nil)

// New wraps base with a LoRA adapter configured by c, drawing A and the seed of the adapter's
// dropout masks from rng, and freezes base. It fails if c is invalid or its rank exceeds the
// smaller dimension of the layer, where a low-rank update stops being low-rank.
func New(base *linear.Model, c Config, rng *rand.Rand) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	out, in := op.Dims(base.W)
	if c.R > min(in, out) {
		return nil, fmt.Errorf("%w: lora: r = %d exceeds min(in_features, out_features) = min(%d, %d)", peft.ErrInvalidConfig, c.R, in, out)
	}
	w := base.W.Value().(mat.Matrix)
	a := w.NewMatrix(mat.WithShape(c.R, in))
	a.SetData(float.Make(initialA(in, c, rng)...))
	b := w.NewMatrix(mat.WithShape(out, c.R))
	peft.Freeze(base)
	return &Model{
		Base:    base,
		A:       nn.NewParam(a),
		B:       nn.NewParam(b),
		Config:  c,
		maskRNG: rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())),
	}, nil
}

// initialA returns A (r×in, row-major) drawn as PEFT does. Kaiming-uniform with a = √5 has gain
// √(2/(1+5)) and bound gain·√3/√fan_in, which is 1/√in.
func initialA(in int, c Config, rng *rand.Rand) []float64 {
	a := make([]float64, c.R*in)
	switch c.Init {
	case GaussianInit:
		std := 1 / float64(c.R)
		for i := range a {
			a[i] = rng.NormFloat64() * std
		}
	default:
		bound := 1 / math.Sqrt(float64(in))
		for i := range a {
			a[i] = (rng.Float64()*2 - 1) * bound
		}
	}
	return a
}

// Forward maps each in×1 token to out×1; see peft.ForwardTokens.
func (m *Model) Forward(xs ...mat.Tensor) []mat.Tensor {
	return peft.ForwardTokens(m.ForwardRows, xs)
}

// ForwardRows maps row-stacked tokens X (n×in) to X·Wᵀ + b + s·(dropout(X)·Aᵀ)·Bᵀ; once merged it
// is the base layer alone. The update goes through the n×r product X·Aᵀ, which is also where s
// is applied: the out×in matrix B·A is never formed.
func (m *Model) ForwardRows(x mat.Tensor) mat.Tensor {
	y := op.Linear(x, m.Base.W, m.Base.B)
	if m.merged {
		return y
	}
	h := op.MatMul(m.dropout(x), m.A, true)
	h = ag.ProdScalar(h, h.Value().(mat.Matrix).NewScalar(m.Config.Scale()))
	return ag.Add(y, op.MatMul(h, m.B, true))
}

// BaseLayer returns the wrapped layer.
func (m *Model) BaseLayer() *linear.Model { return m.Base }

// TrainableParams returns A and B.
func (m *Model) TrainableParams() []*nn.Param { return []*nn.Param{m.A, m.B} }

// Regularization returns nil: LoRA has no penalty term.
func (m *Model) Regularization() mat.Tensor { return nil }

// SetTraining turns dropout of the adapter's input on or off.
func (m *Model) SetTraining(on bool) { m.training = on }

// Merged reports whether s·B·A is folded into the base weights.
func (m *Model) Merged() bool { return m.merged }

// Merge sets W ← W + s·B·A, after which the forward is the base layer's.
func (m *Model) Merge() error {
	if m.merged {
		return fmt.Errorf("%w: lora: already merged", peft.ErrMerged)
	}
	if err := m.Validate(); err != nil {
		return err
	}
	m.addUpdate(1)
	m.merged = true
	return nil
}

// Unmerge sets W ← W − s·B·A, undoing Merge up to floating-point rounding.
func (m *Model) Unmerge() error {
	if !m.merged {
		return fmt.Errorf("%w: lora: not merged", peft.ErrMerged)
	}
	m.addUpdate(-1)
	m.merged = false
	return nil
}

// addUpdate sets W ← W + sign·s·B·A on the weight values alone.
func (m *Model) addUpdate(sign float64) {
	switch m.Base.W.Value().Data().BitSize() {
	case 32:
		addUpdate[float32](m, sign)
	default:
		addUpdate[float64](m, sign)
	}
}

func addUpdate[T float.DType](m *Model, sign float64) {
	out, in := op.Dims(m.Base.W)
	r := m.Config.R
	gemm.Gemm(false, false, out, in, r, T(sign*m.Config.Scale()), op.Values[T](m.B), r, op.Values[T](m.A), in, 1, op.Values[T](m.Base.W), in)
}

// Validate reports NaN or infinite values in A or B.
func (m *Model) Validate() error {
	for _, p := range []struct {
		name  string
		param *nn.Param
	}{{"A", m.A}, {"B", m.B}} {
		_, cols := op.Dims(p.param)
		for i, v := range p.param.Value().Data().F64() {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%w: lora: %s[%d, %d] is %v", peft.ErrInvalidParams, p.name, i/cols, i%cols, v)
			}
		}
	}
	return nil
}
