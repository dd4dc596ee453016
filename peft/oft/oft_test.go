package oft

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/internal/adaptertest"
	"github.com/spago-peft/spago-peft/internal/gradcheck"
	"github.com/spago-peft/spago-peft/internal/op"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// randomize sets every parameter of m uniformly in ±scale.
func randomize(m *Model, rng *rand.Rand, scale float64) {
	d := make([]float64, m.R.Size())
	for i := range d {
		d[i] = (rng.Float64()*2 - 1) * scale
	}
	m.R.SetData(float.Make(d...))
}

// matMul returns the product of the b×b matrices x and y, computed naively.
func matMul(x, y []float64, b int) []float64 {
	z := make([]float64, b*b)
	for i := 0; i < b; i++ {
		for k := 0; k < b; k++ {
			for j := 0; j < b; j++ {
				z[i*b+j] += x[i*b+k] * y[k*b+j]
			}
		}
	}
	return z
}

func identity(b int) []float64 { return addIdentity(make([]float64, b*b), 1, b) }

// peftNeumann returns I + 2Q + 2Q² + … as PEFT's _cayley_batch adds it up for t terms, step by
// step, independently of the Horner evaluation under test.
func peftNeumann(q []float64, b, t int) []float64 {
	r := identity(b)
	add := func(m []float64, s float64) {
		for i := range r {
			r[i] += s * m[i]
		}
	}
	if t > 1 {
		add(q, 2)
		if t > 2 {
			q2 := matMul(q, q, b)
			add(q2, 2)
			power := q2
			for i := 3; i < t-1; i++ {
				power = matMul(power, q, b)
				add(power, 2)
			}
			power = matMul(power, q, b)
			add(power, 1)
		}
	}
	return r
}

func TestConfigErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	base := adaptertest.Layer[float32](rng, 96, 4) // divisors of 96: 1 2 3 4 6 8 12 16 24 32 48 96
	tests := []struct {
		name    string
		c       Config
		message string // a part of the error message
	}{
		{"neither r nor block size", Config{}, "exactly one"},
		{"both r and block size", Config{R: 4, BlockSize: 24}, "exactly one"},
		{"negative r", Config{R: -4}, "negative"},
		{"block size 1", Config{BlockSize: 1}, "no parameters"},
		{"block size not dividing", Config{BlockSize: 30}, "nearest valid block sizes are 24 and 32"},
		{"block size above in_features", Config{BlockSize: 200}, "nearest valid block sizes are 96"},
		{"r not dividing", Config{R: 5}, "nearest valid r are 4 and 6"},
		{"r leaving blocks of 1", Config{R: 96}, "nearest valid r are 48"},
		{"dropout 1", Config{BlockSize: 8, ModuleDropout: 1}, "module_dropout"},
		{"negative dropout", Config{BlockSize: 8, ModuleDropout: -0.1}, "module_dropout"},
		{"NaN dropout", Config{BlockSize: 8, ModuleDropout: math.NaN()}, "module_dropout"},
		{"coft without eps", Config{BlockSize: 8, COFT: true}, "eps"},
		{"coft with infinite eps", Config{BlockSize: 8, COFT: true, Eps: math.Inf(1)}, "eps"},
		{"one Neumann term", Config{BlockSize: 8, UseCayleyNeumann: true, NumCayleyNeumannTerms: 1}, "num_cayley_neumann_terms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(base, tt.c, rng)
			require.Error(t, err)
			assert.True(t, errors.Is(err, peft.ErrInvalidConfig), "%v", err)
			assert.Contains(t, err.Error(), tt.message)
		})
	}
	for _, c := range []Config{{BlockSize: 32}, {R: 4}, {R: 48}, {BlockSize: 96}, {BlockSize: 8, COFT: true, Eps: 6e-5}} {
		m, err := New(base, c, rng)
		require.NoError(t, err, "%+v", c)
		assert.Equal(t, 96, m.BlockSize()*(96/m.BlockSize()))
	}
	assert.Equal(t, "OFT", Config{}.PeftType())
}

func TestIdentityAtInit(t *testing.T) {
	for _, c := range []Config{
		{BlockSize: 8},
		{BlockSize: 8, UseCayleyNeumann: true, NumCayleyNeumannTerms: 5},
		{R: 3, BlockShare: true},
		{BlockSize: 16, COFT: true, Eps: 6e-5},
		{BlockSize: 8, ModuleDropout: 0.5},
	} {
		rng := rand.New(rand.NewPCG(3, 3))
		base := adaptertest.Layer[float32](rng, 96, 40)
		x := adaptertest.Rows[float32](rng, 10, 96)
		want := op.Linear(x, base.W, base.B).Value().Data().F64()
		m, err := New(base, c, rng)
		require.NoError(t, err)
		m.SetTraining(true)
		assert.Equal(t, want, m.ForwardRows(x).Value().Data().F64(), "%+v: bit for bit", c)
	}
}

// denseForward returns the adapted layer's outputs by the plain definition: each block of each
// token, a row vector, times PEFT's matrix A of its block, then W and b.
func denseForward(m *Model, x []float64, n int) []float64 {
	out, in := op.Dims(m.Base.W)
	b := m.BlockSize()
	rows, cols := op.Dims(m.R)
	p := m.R.Value().Data().F64()
	w, bias := m.Base.W.Value().Data().F64(), m.Base.B.Value().Data().F64()
	rotated := make([]float64, n*in)
	for k := 0; k < in/b; k++ {
		j := min(k, rows-1)
		a, _ := m.form.matrix(p[j*cols : (j+1)*cols])
		for t := 0; t < n; t++ {
			for c := 0; c < b; c++ {
				for r := 0; r < b; r++ {
					rotated[t*in+k*b+c] += x[t*in+k*b+r] * a[r*b+c]
				}
			}
		}
	}
	y := make([]float64, n*out)
	for t := 0; t < n; t++ {
		for o := 0; o < out; o++ {
			y[t*out+o] = bias[o]
			for i := 0; i < in; i++ {
				y[t*out+o] += w[o*in+i] * rotated[t*in+i]
			}
		}
	}
	return y
}

func TestMatchesDenseDefinition(t *testing.T) {
	for _, c := range []Config{
		{BlockSize: 5},
		{R: 4, BlockShare: true},
		{BlockSize: 5, UseCayleyNeumann: true, NumCayleyNeumannTerms: 5},
		{BlockSize: 4, UseCayleyNeumann: true, NumCayleyNeumannTerms: 7, BlockShare: true},
	} {
		rng := rand.New(rand.NewPCG(4, 4))
		m, err := New(adaptertest.Layer[float64](rng, 20, 7), c, rng)
		require.NoError(t, err)
		randomize(m, rng, 0.4)
		x := adaptertest.Rows[float64](rng, 6, 20)
		got := m.ForwardRows(x).Value().Data().F64()
		assert.LessOrEqual(t, adaptertest.MaxAbsDiff(got, denseForward(m, x.Data().F64(), 6)), 1e-12, "%+v", c)
	}
}

// TestBlockMatrices checks each form against its definition: the exact A solves A·(I + Q) = I − Q
// (PEFT's torch.linalg.solve(I + Q, I − Q, left=False)); the Neumann A is PEFT's sum of powers.
func TestBlockMatrices(t *testing.T) {
	const b = 7
	rng := rand.New(rand.NewPCG(5, 5))
	p := make([]float64, pairs(b))
	for i := range p {
		p[i] = rng.NormFloat64() * 0.3
	}
	q := skew(p, b)
	for i := 0; i < b; i++ {
		for j := 0; j < b; j++ {
			require.Equal(t, q[i*b+j], -q[j*b+i])
		}
	}
	assert.Equal(t, p[0], q[1], "first parameter is Q[0][1]")
	assert.Equal(t, p[b-1], q[b+2], "parameter b−1 is Q[1][2]: the triangle is packed row by row")

	a, _ := form{b: b}.matrix(p)
	lhs := matMul(a, addIdentity(append([]float64(nil), q...), 1, b), b)
	rhs := addIdentity(scaled(q, -1), 1, b)
	assert.LessOrEqual(t, adaptertest.MaxAbsDiff(lhs, rhs), 1e-14)

	for _, terms := range []int{2, 3, 4, 5, 6, 9} {
		a, _ := form{b: b, coeffs: neumannCoeffs(terms)}.matrix(p)
		assert.LessOrEqual(t, adaptertest.MaxAbsDiff(a, peftNeumann(q, b, terms)), 1e-14, "%d terms", terms)
	}
}

func scaled(m []float64, s float64) []float64 {
	out := make([]float64, len(m))
	for i, v := range m {
		out[i] = s * v
	}
	return out
}

func TestOrthogonal(t *testing.T) {
	const in = 96
	rng := rand.New(rand.NewPCG(6, 6))
	for _, b := range []int{2, 8, 32, 96} {
		for _, scale := range []float64{0.1, 1, 10} {
			m, err := New(adaptertest.Layer[float32](rng, in, 8), Config{BlockSize: b}, rng)
			require.NoError(t, err)
			randomize(m, rng, scale)
			// Rotating the identity's rows gives blockdiag(A), whose columns must be orthonormal.
			eye := mat.NewDense[float32](mat.WithShape(in, in), mat.WithBacking(mat.CreateIdentityMatrix[float32](in)))
			r := rotate(eye, m.R, m.form, nil, nil).Value().(mat.Matrix)
			rtr := r.T().Mul(r).Data().F64()
			assert.LessOrEqual(t, adaptertest.MaxAbsDiff(rtr, mat.CreateIdentityMatrix[float64](in)), 1e-5, "b=%d scale=%g", b, scale)
		}
	}
}

// TestNeumannError measures PEFT's 5-term series against the Cayley transform it truncates,
// (I + Q)(I − Q)⁻¹, which is the transpose of PEFT's exact A. With ρ ≥ ‖Q‖₂ < 1 the truncation
// is Q⁴ + 2Σ_{k≥5} Q^k, so every entry is within ρ⁴ + 2ρ⁵/(1 − ρ).
func TestNeumannError(t *testing.T) {
	const b = 16
	rng := rand.New(rand.NewPCG(7, 7))
	for _, frob := range []float64{0.01, 0.05, 0.1, 0.3, 0.6} {
		p := make([]float64, pairs(b))
		var sq float64
		for i := range p {
			p[i] = rng.NormFloat64()
			sq += 2 * p[i] * p[i]
		}
		for i := range p {
			p[i] *= frob / math.Sqrt(sq) // ‖Q‖_F = frob ≥ ‖Q‖₂
		}
		exact, _ := form{b: b}.matrix(p)
		neumann, _ := form{b: b, coeffs: neumannCoeffs(5)}.matrix(p)
		errT := adaptertest.MaxAbsDiff(neumann, transposeBlock(exact, b))
		errSame := adaptertest.MaxAbsDiff(neumann, exact)
		ortho := adaptertest.MaxAbsDiff(matMul(transposeBlock(neumann, b), neumann, b), identity(b))
		bound := math.Pow(frob, 4) + 2*math.Pow(frob, 5)/(1-frob)
		t.Logf("‖Q‖_F=%-5g Neumann(5) vs (I+Q)(I−Q)⁻¹: %.3g (bound %.3g); vs PEFT's exact A: %.3g; ‖AᵀA−I‖_max %.3g",
			frob, errT, bound, errSame, ortho)
		assert.LessOrEqual(t, errT, bound)
		assert.Greater(t, errSame, errT, "PEFT's series approximates the transpose of its exact form")
	}
}

func TestGradients(t *testing.T) {
	neumann := func(terms int) Config {
		return Config{BlockSize: 4, UseCayleyNeumann: true, NumCayleyNeumannTerms: terms}
	}
	tests := []struct {
		name  string
		c     Config
		scale float64
	}{
		{"exact", Config{BlockSize: 4}, 0.5},
		{"exact at init", Config{BlockSize: 4}, 0},
		{"exact large", Config{BlockSize: 4}, 3},
		{"neumann 2", neumann(2), 0.5},
		{"neumann 3", neumann(3), 0.5},
		{"neumann 5", neumann(5), 0.5},
		{"neumann 8", neumann(8), 0.5},
		{"neumann at init", neumann(5), 0},
		{"shared exact", Config{BlockSize: 4, BlockShare: true}, 0.5},
		{"shared neumann", Config{R: 3, BlockShare: true, UseCayleyNeumann: true, NumCayleyNeumannTerms: 5}, 0.5},
		{"coft inside the ball", Config{BlockSize: 4, COFT: true, Eps: 100}, 0.5},
		{"whole layer one block", Config{R: 1}, 0.3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(8, 8))
			m, err := New(adaptertest.Layer[float64](rng, 12, 5), tt.c, rng)
			require.NoError(t, err)
			randomize(m, rng, tt.scale)
			x := gradcheck.Random(rng, 3, 12)
			loss := func() mat.Tensor { return gradcheck.Projection(m.ForwardRows(x), 11) }
			gradcheck.Check(t, loss, 1e-6, m.R.Value().(*mat.Dense[float64]), x)
		})
	}
}

func TestGradientsWithDroppedBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, rows := range []int{4, 1} {
		p := gradcheck.Random(rng, rows, pairs(3))
		x := gradcheck.Random(rng, 5, 12)
		dropped := []bool{false, true, false, true}
		for _, f := range []form{{b: 3}, {b: 3, coeffs: neumannCoeffs(5)}} {
			loss := func() mat.Tensor { return gradcheck.Projection(rotate(x, p, f, dropped, nil), 3) }
			gradcheck.Check(t, loss, 1e-6, p, x)
		}
		y := rotate(x, p, form{b: 3}, dropped, nil).Value().Data().F64()
		xs := x.Data().F64()
		for i := 0; i < 5; i++ {
			assert.Equal(t, xs[i*12+3:i*12+6], y[i*12+3:i*12+6], "dropped block passes unchanged")
		}
	}
}

func TestCOFTProjection(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	const eps = 0.5
	m, err := New(adaptertest.Layer[float64](rng, 12, 3), Config{BlockSize: 4, COFT: true, Eps: eps}, rng)
	require.NoError(t, err)
	radius := eps / math.Sqrt(3) // PEFT scales eps by 1/√(parameter blocks)
	p := m.R.Value().Data().F64()
	orig := []float64{
		1, 2, 3, 4, 5, 6, // outside the ball
		0.01, 0, 0, 0.02, 0, -0.01, // inside
		-3, 0.5, 0, 0, 1, 0.25, // outside
	}
	copy(p, orig)
	m.ForwardRows(adaptertest.Rows[float64](rng, 2, 12))
	for j := 0; j < 3; j++ {
		row, before := p[j*6:(j+1)*6], orig[j*6:(j+1)*6]
		var sq float64
		for _, v := range skew(before, 4) {
			sq += v * v
		}
		norm := math.Sqrt(sq)
		if norm <= radius {
			assert.Equal(t, before, row, "row %d inside the ball is left alone", j)
			continue
		}
		for i := range row {
			assert.InDelta(t, before[i]*radius/norm, row[i], 1e-15, "row %d is scaled onto the sphere", j)
		}
	}
}

func TestBaseFrozen(t *testing.T) {
	for _, tt := range []struct {
		c      Config
		params int
	}{
		{Config{BlockSize: 8}, 12 * 28}, // (in/b)·b(b−1)/2
		{Config{R: 12}, 12 * 28},
		{Config{BlockSize: 8, BlockShare: true}, 28}, // b(b−1)/2
		{Config{BlockSize: 96}, 96 * 95 / 2},
	} {
		rng := rand.New(rand.NewPCG(11, 11))
		m, err := New(adaptertest.Layer[float64](rng, 96, 4), tt.c, rng)
		require.NoError(t, err)
		x := gradcheck.Random(rng, 3, 96)
		require.NoError(t, ag.Backward(gradcheck.Projection(m.ForwardRows(x), 1)))
		assert.False(t, m.Base.W.HasGrad())
		assert.False(t, m.Base.B.HasGrad())
		assert.True(t, m.R.HasGrad())
		assert.Equal(t, tt.params, peft.CountParams(m.TrainableParams()), "%+v", tt.c)
		assert.Nil(t, m.Regularization())
	}
}

func TestMergeUnmerge(t *testing.T) {
	for _, c := range []Config{
		{BlockSize: 8},
		{BlockSize: 8, UseCayleyNeumann: true, NumCayleyNeumannTerms: 5},
		{R: 4, BlockShare: true},
		{R: 2, BlockShare: true, UseCayleyNeumann: true, NumCayleyNeumannTerms: 3},
		{BlockSize: 16, COFT: true, Eps: 0.5},
	} {
		rng := rand.New(rand.NewPCG(12, 12))
		base := adaptertest.Layer[float32](rng, 64, 24)
		orig := append([]float32(nil), base.W.Data().F32()...)
		m, err := New(base, c, rng)
		require.NoError(t, err)
		randomize(m, rng, 0.2)
		x := adaptertest.Rows[float32](rng, 9, 64)
		adapted := m.ForwardRows(x).Value().Data().F64()

		require.NoError(t, m.Merge())
		assert.True(t, m.Merged())
		assert.ErrorIs(t, m.Merge(), peft.ErrMerged)
		merged := m.ForwardRows(x).Value().Data().F64()
		assert.LessOrEqual(t, adaptertest.MaxAbsDiff(adapted, merged), 1e-5, "%+v", c)
		plain := op.Linear(x, base.W, base.B).Value().Data().F64()
		assert.Equal(t, plain, merged, "merged forward is the base forward")

		require.NoError(t, m.Unmerge())
		assert.False(t, m.Merged())
		assert.ErrorIs(t, m.Unmerge(), peft.ErrMerged)
		for i, v := range base.W.Data().F32() {
			require.InDelta(t, orig[i], v, 1e-5, "%+v", c)
		}
	}
}

func TestMergeRefusesSingularNeumann(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 13))
	base := adaptertest.Layer[float64](rng, 4, 3)
	orig := append([]float64(nil), base.W.Data().F64()...)
	m, err := New(base, Config{BlockSize: 2, UseCayleyNeumann: true, NumCayleyNeumannTerms: 5}, rng)
	require.NoError(t, err)
	// Q = [[0 1] [−1 0]] has Q² = −I, so I + 2Q + 2Q² + 2Q³ + Q⁴ = 0.
	m.R.SetData(float.Make(1.0, 0.0))
	err = m.Merge()
	assert.ErrorIs(t, err, peft.ErrInvalidParams)
	assert.Contains(t, err.Error(), "block 0")
	assert.False(t, m.Merged())
	assert.Equal(t, orig, base.W.Data().F64(), "W untouched")
}

func TestValidate(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 14))
	m, err := New(adaptertest.Layer[float32](rng, 12, 4), Config{BlockSize: 4}, rng)
	require.NoError(t, err)
	require.NoError(t, m.Validate())
	p := m.R.Data().F32()
	p[8] = float32(math.NaN())
	err = m.Validate()
	assert.ErrorIs(t, err, peft.ErrInvalidParams)
	assert.Contains(t, err.Error(), "block 1")
	assert.ErrorIs(t, m.Merge(), peft.ErrInvalidParams)
	p[8] = float32(math.Inf(-1))
	assert.ErrorIs(t, m.Validate(), peft.ErrInvalidParams)
}

func TestModuleDropout(t *testing.T) {
	const in, b, n = 32, 8, 3
	mk := func() (*Model, *mat.Dense[float64]) {
		rng := rand.New(rand.NewPCG(15, 15))
		base := linear.New[float64](in, in) // W = I and b = 0: the output is the rotated input
		base.W.SetData(float.Make(mat.CreateIdentityMatrix[float64](in)...))
		m, err := New(base, Config{BlockSize: b, ModuleDropout: 0.5}, rng)
		require.NoError(t, err)
		randomize(m, rng, 0.5)
		return m, adaptertest.Rows[float64](rng, n, in)
	}
	m, x := mk()
	rotated := m.ForwardRows(x).Value().Data().F64()
	xs := x.Data().F64()
	block := func(v []float64, k int) []float64 {
		var out []float64
		for i := 0; i < n; i++ {
			out = append(out, v[i*in+k*b:i*in+(k+1)*b]...)
		}
		return out
	}
	for range 5 {
		assert.Equal(t, rotated, m.ForwardRows(x).Value().Data().F64(), "no dropout outside training")
	}
	m.SetTraining(true)
	twin, _ := mk()
	twin.SetTraining(true)
	seen := make([][2]int, in/b) // per block: times rotated, times dropped
	for range 40 {
		y := m.ForwardRows(x).Value().Data().F64()
		assert.Equal(t, y, twin.ForwardRows(x).Value().Data().F64(), "same seed, same masks")
		for k := range seen {
			switch got := block(y, k); {
			case assert.ObjectsAreEqual(got, block(rotated, k)):
				seen[k][0]++
			case assert.ObjectsAreEqual(got, block(xs, k)):
				seen[k][1]++
			default:
				t.Fatalf("block %d is neither rotated nor dropped", k)
			}
		}
	}
	for k, s := range seen {
		assert.Positive(t, s[0], "block %d rotated sometimes", k)
		assert.Positive(t, s[1], "block %d dropped sometimes", k)
	}
	m.SetTraining(false)
	assert.Equal(t, rotated, m.ForwardRows(x).Value().Data().F64())
}

func TestForwardTokens(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 16))
	m, err := New(adaptertest.Layer[float64](rng, 6, 3), Config{BlockSize: 3}, rng)
	require.NoError(t, err)
	randomize(m, rng, 0.5)
	x := adaptertest.Rows[float64](rng, 4, 6)
	rows := m.ForwardRows(x).Value().(mat.Matrix)
	var xs []mat.Tensor
	for i := 0; i < 4; i++ {
		xs = append(xs, x.ExtractRow(i).T())
	}
	ys := m.Forward(xs...)
	require.Len(t, ys, 4)
	for i, y := range ys {
		assert.Equal(t, []int{3, 1}, y.Value().Shape())
		assert.InDeltaSlice(t, rows.ExtractRow(i).Data().F64(), y.Value().Data().F64(), 1e-12)
	}
}
