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
	"github.com/spago-peft/spago-peft/peft/internal/adapterkit"
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
	name     string // the layer's path in its model, for error messages
	// maskMu guards maskRNG, which draws the dropout masks from maskSrc: forwards of one adapter
	// may run on several goroutines. gob stores maskSrc's state, so a reloaded adapter draws the
	// masks the original would have drawn next.
	maskMu  sync.Mutex
	maskSrc *rand.PCG
	maskRNG *rand.Rand
}

var (
	_ peft.Adapter      = (*Model)(nil)
	_ peft.InputDropout = (*Model)(nil)
)

// New wraps base with a LoRA adapter configured by c, drawing A and the seed of the adapter's
// dropout masks from rng (a math/rand/v2 generator), and freezes base. It fails if base or rng
// is nil, if c is invalid, and with peft.ErrSharedBase if another adapter in use wraps base. A
// rank above min(in_features, out_features) is accepted, as PEFT accepts it, though it adds
// parameters without adding rank.
func New(base *linear.Model, c Config, rng *rand.Rand) (*Model, error) {
	if err := adapterkit.CheckNewArgs("lora", base, rng); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	out, in := op.Dims(base.W)
	w := base.W.Value().(mat.Matrix)
	a := w.NewMatrix(mat.WithShape(c.R, in))
	a.SetData(float.Make(initialA(in, c, rng)...))
	b := w.NewMatrix(mat.WithShape(out, c.R))
	m := &Model{Base: base, A: nn.NewParam(a), B: nn.NewParam(b), Config: c}
	m.setMaskSource(rand.NewPCG(rng.Uint64(), rng.Uint64()))
	if err := adapterkit.Attach(base, m); err != nil {
		return nil, fmt.Errorf("lora: %w", err)
	}
	return m, nil
}

// setMaskSource makes src the source of the dropout masks.
func (m *Model) setMaskSource(src *rand.PCG) {
	m.maskSrc, m.maskRNG = src, rand.New(src)
}

// SetName sets the layer's path in its model, such as "layers.0.ffn.in", which panics on tokens
// of the wrong width name; peft.Wrap sets it.
func (m *Model) SetName(name string) { m.name = name }

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

// Forward maps each in×1 token to out×1; see adapterkit.ForwardTokens.
func (m *Model) Forward(xs ...mat.Tensor) []mat.Tensor {
	return adapterkit.ForwardTokens(m.ForwardRows, xs)
}

// ForwardRows maps row-stacked tokens X (n×in) to X·Wᵀ + b + s·(dropout(X)·Aᵀ)·Bᵀ; once merged it
// is the base layer alone. The update goes through the n×r product X·Aᵀ, which is also where s
// is applied: the out×in matrix B·A is never formed. Dropout masks come from the adapter's own
// generator; ForwardRowsMasked takes them from the caller's.
func (m *Model) ForwardRows(x mat.Tensor) mat.Tensor { return m.forwardRows(x, nil) }

// ForwardRowsMasked is ForwardRows with the dropout mask drawn from rng, one Float64 per input
// value, row after row (peft.InputDropout).
func (m *Model) ForwardRowsMasked(x mat.Tensor, rng rand.Source) mat.Tensor {
	return m.forwardRows(x, rng)
}

// InputDropoutRate returns Config.Dropout, the probability of zeroing each input value of the
// update in training (peft.InputDropout).
func (m *Model) InputDropoutRate() float64 { return m.Config.Dropout }

func (m *Model) forwardRows(x mat.Tensor, rng rand.Source) mat.Tensor {
	op.MustWidth(x, m.Base.W, "lora", m.name)
	if m.merged {
		return op.Linear(x, m.Base.W, m.Base.B)
	}
	return m.adapted(x, m.inputMask(x, rng))
}

// adapted returns X·Wᵀ + b + (s·Xd·Aᵀ)·Bᵀ, with Xd = X ⊙ mask the adapter's input (X itself when
// mask is nil), as one node. Its values and gradients are those of the composition of Prod,
// Linear, MatMul, ProdScalar and Add, bit for bit, without the intermediate nodes and their
// gradients: with r ≪ in, out that bookkeeping cost more than the update's arithmetic. X is one
// operand even with dropout, so that its gradient is summed here in a fixed order rather than by
// spago from two consumers in whatever order they finish (the encoder keeps its nodes at two
// consumers for bit-reproducible training).
func (m *Model) adapted(x, mask mat.Tensor) mat.Tensor {
	return op.Build(x,
		func() ag.AutoGradFunction { return newAdaptedFn[float32](m, x, mask) },
		func() ag.AutoGradFunction { return newAdaptedFn[float64](m, x, mask) })
}

type adaptedFn[T float.DType] struct {
	x, w, b, a, bm mat.Tensor // bm is the adapter's B
	mask           []T        // the dropout mask of x, or nil
	scale          T
	xd             []T // X ⊙ mask, or X's values
	h              []T // s·Xd·Aᵀ, n×r
}

func newAdaptedFn[T float.DType](m *Model, x, mask mat.Tensor) *adaptedFn[T] {
	f := &adaptedFn[T]{x: x, w: m.Base.W, b: m.Base.B, a: m.A, bm: m.B, scale: T(m.Config.Scale())}
	if mask != nil {
		f.mask = op.Values[T](mask)
	}
	return f
}

func (f *adaptedFn[T]) Operands() []mat.Tensor { return []mat.Tensor{f.x, f.w, f.b, f.a, f.bm} }

func (f *adaptedFn[T]) Forward() (mat.Tensor, error) {
	n, in := op.Dims(f.x)
	out, r := op.Dims(f.bm)
	y := make([]T, n*out)
	bias := op.Values[T](f.b)
	for i := 0; i < n; i++ {
		copy(y[i*out:(i+1)*out], bias)
	}
	x := op.Values[T](f.x)
	op.WeightProduct(false, true, n, out, in, x, in, f.w, 1, y, out)
	f.xd = x
	if f.mask != nil {
		f.xd = make([]T, n*in)
		for i, v := range x {
			f.xd[i] = v * f.mask[i]
		}
	}
	f.h = make([]T, n*r)
	gemm.Gemm(false, true, n, r, in, 1, f.xd, in, op.Values[T](f.a), in, 0, f.h, r)
	for i := range f.h {
		f.h[i] *= f.scale
	}
	gemm.Gemm(false, true, n, out, r, 1, f.h, r, op.Values[T](f.bm), r, 1, y, out)
	return op.NewDense(n, out, y), nil
}

// Backward: with G the upstream gradient and Gh = s·G·B, ∂L/∂B = Gᵀ·(s·Xd·Aᵀ), ∂L/∂A = Ghᵀ·Xd,
// ∂L/∂Xd = Gh·A and, through the base layer and the mask, ∂L/∂X = G·W + (Gh·A) ⊙ mask,
// ∂L/∂W = Gᵀ·X, ∂L/∂b = Σ_rows G.
func (f *adaptedFn[T]) Backward(gy mat.Tensor) error {
	n, in := op.Dims(f.x)
	out, r := op.Dims(f.bm)
	g := op.Values[T](gy)
	if f.bm.RequiresGrad() {
		gb := make([]T, out*r)
		gemm.Gemm(true, false, out, r, n, 1, g, out, f.h, r, 0, gb, r)
		f.bm.AccGrad(op.NewDense(out, r, gb))
	}
	var gh []T
	if f.a.RequiresGrad() || f.x.RequiresGrad() {
		gh = make([]T, n*r)
		gemm.Gemm(false, false, n, r, out, 1, g, out, op.Values[T](f.bm), r, 0, gh, r)
		for i := range gh {
			gh[i] *= f.scale
		}
	}
	if f.a.RequiresGrad() {
		ga := make([]T, r*in)
		gemm.Gemm(true, false, r, in, n, 1, gh, r, f.xd, in, 0, ga, in)
		f.a.AccGrad(op.NewDense(r, in, ga))
	}
	if f.x.RequiresGrad() {
		gx := make([]T, n*in)
		op.WeightProduct(false, false, n, in, out, g, out, f.w, 0, gx, in)
		if f.mask == nil {
			gemm.Gemm(false, false, n, in, r, 1, gh, r, op.Values[T](f.a), in, 1, gx, in)
		} else {
			gxd := make([]T, n*in)
			gemm.Gemm(false, false, n, in, r, 1, gh, r, op.Values[T](f.a), in, 0, gxd, in)
			for i, v := range gxd {
				gx[i] += v * f.mask[i]
			}
		}
		f.x.AccGrad(op.NewDense(n, in, gx))
	}
	if f.w.RequiresGrad() {
		gw := make([]T, out*in)
		gemm.Gemm(true, false, out, in, n, 1, g, out, op.Values[T](f.x), in, 0, gw, in)
		f.w.AccGrad(op.NewDense(out, in, gw))
	}
	if f.b.RequiresGrad() {
		gb := make([]T, out)
		for i := 0; i < n; i++ {
			for j, v := range g[i*out : (i+1)*out] {
				gb[j] += v
			}
		}
		bs := f.b.Value().Shape()
		f.b.AccGrad(op.NewDense(bs[0], bs[1], gb))
	}
	return nil
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
