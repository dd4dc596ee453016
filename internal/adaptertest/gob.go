package adaptertest

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/peft"
)

// holder is a user's model that keeps an adapter in a field of interface type, as peft.Wrap
// needs, so that gob must find the adapter's registered type.
type holder struct {
	nn.Module
	Layer nn.StandardModel
}

// GobRoundTrip saves a inside a model through spago's nn.Dump and returns the adapter nn.Load
// gives back.
func GobRoundTrip(t testing.TB, a peft.Adapter) peft.Adapter {
	t.Helper()
	var buf bytes.Buffer
	if err := nn.Dump(&holder{Layer: a}, &buf); err != nil {
		t.Fatalf("nn.Dump: %v", err)
	}
	h, err := nn.Load[*holder](&buf)
	if err != nil {
		t.Fatalf("nn.Load: %v", err)
	}
	loaded, ok := h.Layer.(peft.Adapter)
	if !ok {
		t.Fatalf("loaded layer is a %T, not an adapter", h.Layer)
	}
	return loaded
}

// CheckGobRoundTrip checks that a, with parameters away from their start, survives spago's gob
// saving unmerged, merged and in training mode: the reloaded adapter has the same merge state,
// gives the same outputs on x bit for bit (in training mode too, where it draws the dropout masks
// the original draws next), unmerges to the same base weights, and keeps its base frozen and
// its own parameters trainable.
func CheckGobRoundTrip(t *testing.T, a peft.Adapter, x mat.Tensor) {
	t.Helper()
	forward := func(a peft.Adapter) []float64 { return a.ForwardRows(x).Value().Data().F64() }
	same := func(what string, want, got []float64) {
		t.Helper()
		if !slices.EqualFunc(want, got, func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }) {
			t.Errorf("%s: reloaded adapter differs, max |Δ| = %g", what, MaxAbsDiff(want, got))
		}
	}
	a.SetTraining(false)
	b := GobRoundTrip(t, a)
	same("unmerged", forward(a), forward(b))
	if b.Merged() || b.BaseLayer().W.RequiresGrad() {
		t.Errorf("unmerged: reloaded Merged() = %v, base W requires grad = %v", b.Merged(), b.BaseLayer().W.RequiresGrad())
	}
	for i, p := range b.TrainableParams() {
		if !p.RequiresGrad() {
			t.Errorf("reloaded trainable parameter %d does not require gradients", i)
		}
	}

	if err := a.Merge(); err != nil {
		t.Fatal(err)
	}
	b = GobRoundTrip(t, a)
	if !b.Merged() {
		t.Fatal("merged: reloaded adapter is not merged")
	}
	same("merged", forward(a), forward(b))
	if err := a.Unmerge(); err != nil {
		t.Fatal(err)
	}
	if err := b.Unmerge(); err != nil {
		t.Fatal(err)
	}
	same("unmerged after merge", a.BaseLayer().W.Value().Data().F64(), b.BaseLayer().W.Value().Data().F64())
	same("forward after unmerge", forward(a), forward(b))

	a.SetTraining(true)
	defer a.SetTraining(false)
	forward(a) // advance the dropout generators past their start
	b = GobRoundTrip(t, a)
	for i := range 3 {
		wa, wb := forward(a), forward(b)
		same("training forward", wa, wb)
		if i == 0 && t.Failed() {
			return
		}
	}
}

// Randomize sets every value of params uniform in ±scale, as training would move them.
func Randomize(rng *rand.Rand, scale float64, params ...*nn.Param) {
	for _, p := range params {
		d := make([]float64, p.Size())
		for i := range d {
			d[i] = (rng.Float64()*2 - 1) * scale
		}
		p.SetData(float.Make(d...))
	}
}

// LayerAndRows returns Layer(rng, in, out) and Rows(rng, n, in), of float64 if f64 is set and of
// float32 otherwise.
func LayerAndRows(rng *rand.Rand, f64 bool, in, out, n int) (*linear.Model, mat.Tensor) {
	if f64 {
		return Layer[float64](rng, in, out), Rows[float64](rng, n, in)
	}
	return Layer[float32](rng, in, out), Rows[float32](rng, n, in)
}
