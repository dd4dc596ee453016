package oft

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/internal/op"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/internal/adapterkit"
)

// Model is a linear layer adapted by OFT: y = W·blockdiag(A_1ᵀ, …, A_rᵀ)·x + b, with A_j PEFT's
// rotation of block j (see the package doc).
type Model struct {
	nn.Module
	// Base is the frozen layer; after Merge its W holds the rotated weights.
	Base *linear.Model
	// R holds the packed strict upper triangles of the skew-symmetric generators, one block per
	// row: blocks×b(b−1)/2, or 1×b(b−1)/2 with BlockShare. It is PEFT's oft_R.weight, and zero at
	// start, so that every rotation is I.
	R *nn.Param
	// Config is the configuration the adapter was built with.
	Config Config

	form     form
	merged   bool
	training bool
	name     string // the layer's path in its model, for error messages

	mu         sync.Mutex // guards dropout, the in-place COFT projection and rotation
	rotation   any        // the *rotation of R's last value seen by ForwardRows, reused while R is unchanged
	dropout    *rand.Rand // nil unless Config.ModuleDropout > 0
	dropoutSrc *rand.PCG  // dropout's source, whose state gob stores
}

var _ peft.Adapter = (*Model)(nil)

// New wraps base with an OFT adapter configured by c and freezes base. R starts at zero, so the
// adapted layer equals base exactly. rng, a math/rand/v2 generator, seeds the adapter's own
// module-dropout generator when c.ModuleDropout > 0 and is not used otherwise. New fails if base
// or rng is nil, if c is invalid or if neither r nor the block size divides base's input features
// (the error names the nearest valid values), and with peft.ErrSharedBase if another adapter in
// use wraps base.
func New(base *linear.Model, c Config, rng *rand.Rand) (*Model, error) {
	if err := adapterkit.CheckNewArgs("oft", base, rng); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	_, in := op.Dims(base.W)
	b, err := c.blockSize(in)
	if err != nil {
		return nil, err
	}
	rows := in / b
	if c.BlockShare {
		rows = 1
	}
	r := base.W.Value().(mat.Matrix).NewMatrix(mat.WithShape(rows, pairs(b)))
	m := &Model{Base: base, R: nn.NewParam(r), Config: c, form: newForm(b, c)}
	if c.ModuleDropout > 0 {
		m.setDropoutSource(rand.NewPCG(rng.Uint64(), rng.Uint64()))
	}
	if err := adapterkit.Attach(base, m); err != nil {
		return nil, fmt.Errorf("oft: %w", err)
	}
	return m, nil
}

// setDropoutSource makes src the source of module dropout.
func (m *Model) setDropoutSource(src *rand.PCG) {
	m.dropoutSrc, m.dropout = src, rand.New(src)
}

// SetName sets the layer's path in its model, such as "layers.0.ffn.in", which panics on tokens
// of the wrong width name; peft.Wrap sets it.
func (m *Model) SetName(name string) { m.name = name }

// BlockSize returns the side b of the diagonal blocks.
func (m *Model) BlockSize() int { return m.form.b }

// Forward maps each in×1 token to out×1; see adapterkit.ForwardTokens.
func (m *Model) Forward(xs ...mat.Tensor) []mat.Tensor {
	return adapterkit.ForwardTokens(m.ForwardRows, xs)
}

// ForwardRows maps row-stacked tokens X (n×in) to the adapted layer's outputs (n×out) by rotating
// each token block by block and then applying the base layer; once merged it is the base layer
// alone. With COFT it first projects R in place, as PEFT does; in training mode it drops blocks
// with probability Config.ModuleDropout.
func (m *Model) ForwardRows(x mat.Tensor) mat.Tensor {
	op.MustWidth(x, m.Base.W, "oft", m.name)
	if !m.merged {
		m.mu.Lock()
		m.project()
		dropped := m.dropMask()
		var rot any
		switch m.R.Value().Data().BitSize() {
		case 32:
			rot = cachedRotation[float32](m)
		default:
			rot = cachedRotation[float64](m)
		}
		m.mu.Unlock()
		x = rotate(x, m.R, m.form, dropped, rot)
	}
	return op.Linear(x, m.Base.W, m.Base.B)
}

// dropMask draws which blocks a training forward leaves unrotated, or returns nil outside training.
// Each block is dropped independently with probability p. PEFT 0.21 never applies its
// MultiplicativeDropoutLayer (which would replace exactly ⌊p·blocks⌋ blocks, none when blocks are
// shared): see Config.ModuleDropout.
func (m *Model) dropMask() []bool {
	if !m.training || m.dropout == nil {
		return nil
	}
	_, in := op.Dims(m.Base.W)
	mask := make([]bool, in/m.form.b)
	for k := range mask {
		mask[k] = m.dropout.Float64() < m.Config.ModuleDropout
	}
	return mask
}

// project applies COFT when configured: each row of R whose Q = S − Sᵀ has Frobenius norm above
// ε' = Eps/√rows is scaled onto that sphere, in place and outside the graph, as PEFT's
// _project_batch does (‖Q‖_F = √2·‖row‖).
func (m *Model) project() {
	if !m.Config.COFT {
		return
	}
	switch m.R.Value().Data().BitSize() {
	case 32:
		projectRows(op.Values[float32](m.R), m.R, m.Config.Eps)
	default:
		projectRows(op.Values[float64](m.R), m.R, m.Config.Eps)
	}
}

func projectRows[T float.DType](data []T, r mat.Tensor, eps float64) {
	rows, cols := op.Dims(r)
	radius := eps / math.Sqrt(float64(rows))
	for j := 0; j < rows; j++ {
		row := data[j*cols : (j+1)*cols]
		var sq float64
		for _, v := range row {
			sq += float64(v) * float64(v)
		}
		norm := math.Sqrt(2 * sq)
		if norm <= radius {
			continue
		}
		for i, v := range row {
			row[i] = T(float64(v) * radius / norm)
		}
	}
}

// BaseLayer returns the wrapped layer.
func (m *Model) BaseLayer() *linear.Model { return m.Base }

// TrainableParams returns R.
func (m *Model) TrainableParams() []*nn.Param { return []*nn.Param{m.R} }

// Regularization returns nil: OFT has no penalty term.
func (m *Model) Regularization() mat.Tensor { return nil }

// SetTraining turns module dropout on or off.
func (m *Model) SetTraining(on bool) {
	m.mu.Lock()
	m.training = on
	m.mu.Unlock()
}

// Merged reports whether the rotation is folded into the base weights.
func (m *Model) Merged() bool { return m.merged }

// Merge sets W ← W·blockdiag(A_jᵀ) (after COFT's projection, without dropout), after which the
// forward is the base layer's. With the Neumann form, whose blocks are only nearly orthogonal,
// Merge refuses, with peft.ErrInvalidParams, blocks that are singular to float64 precision, so that
// Unmerge can always invert them.
func (m *Model) Merge() error {
	if m.merged {
		return fmt.Errorf("%w: oft: already merged", peft.ErrMerged)
	}
	if err := m.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	m.project()
	m.mu.Unlock()
	factors, err := m.weightFactors(false)
	if err != nil {
		return err
	}
	m.multiplyWeights(factors)
	m.merged = true
	return nil
}

// Unmerge undoes Merge: W ← W·blockdiag(A_jᵀ)⁻¹. For the exact Cayley form A_j is orthogonal, so
// the inverse of A_jᵀ is A_j; for the Neumann form it is the exact inverse, by LU factorisation in
// float64.
func (m *Model) Unmerge() error {
	if !m.merged {
		return fmt.Errorf("%w: oft: not merged", peft.ErrMerged)
	}
	factors, err := m.weightFactors(true)
	if err != nil {
		return err
	}
	m.multiplyWeights(factors)
	m.merged = false
	return nil
}

// weightFactors returns, per row of R, the b×b matrix that W's column blocks are multiplied by on
// the right: A_jᵀ to merge, its inverse to unmerge. With the Neumann form both directions check
// that A_j is invertible.
func (m *Model) weightFactors(inverse bool) ([][]float64, error) {
	rows, cols := op.Dims(m.R)
	b := m.form.b
	params := m.R.Value().Data().F64()
	factors := make([][]float64, rows)
	for j := range factors {
		a, _ := m.form.matrix(params[j*cols : (j+1)*cols])
		switch {
		case m.form.coeffs == nil && inverse:
			factors[j] = a // (Aᵀ)⁻¹ = A for orthogonal A
		case m.form.coeffs == nil:
			factors[j] = transposeBlock(a, b)
		default:
			inv, err := invert(transposeBlock(a, b), b)
			if err != nil {
				return nil, fmt.Errorf("%w: oft: the Neumann rotation of block %d is not invertible, %v; merging it could not be undone", peft.ErrInvalidParams, j, err)
			}
			if inverse {
				factors[j] = inv
			} else {
				factors[j] = transposeBlock(a, b)
			}
		}
	}
	return factors, nil
}

// multiplyWeights multiplies each column block k of W on the right by the factor of its row of R.
func (m *Model) multiplyWeights(factors [][]float64) {
	switch m.Base.W.Value().Data().BitSize() {
	case 32:
		multiplyColumnBlocks(op.Values[float32](m.Base.W), m.Base.W, m.form.b, factors)
	default:
		multiplyColumnBlocks(op.Values[float64](m.Base.W), m.Base.W, m.form.b, factors)
	}
}

func multiplyColumnBlocks[T float.DType](w []T, wt mat.Tensor, b int, factors [][]float64) {
	out, in := op.Dims(wt)
	row := make([]float64, b)
	for k := 0; k < in/b; k++ {
		f := factors[0]
		if len(factors) > 1 {
			f = factors[k]
		}
		for i := 0; i < out; i++ {
			blk := w[i*in+k*b : i*in+(k+1)*b]
			clear(row)
			for p, v := range blk {
				fp := f[p*b : (p+1)*b]
				for c := range row {
					row[c] += float64(v) * fp[c]
				}
			}
			for c, v := range row {
				blk[c] = T(v)
			}
		}
	}
}

// Validate reports NaN or infinite values in R.
func (m *Model) Validate() error {
	rows, cols := op.Dims(m.R)
	params := m.R.Value().Data().F64()
	for j := 0; j < rows; j++ {
		for _, v := range params[j*cols : (j+1)*cols] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%w: oft: block %d of R has NaN or infinite values", peft.ErrInvalidParams, j)
			}
		}
	}
	return nil
}
