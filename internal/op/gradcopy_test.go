package op

import (
	"testing"

	"github.com/nlpodyssey/spago/mat"
	"github.com/stretchr/testify/require"
)

// TestCopyForGrad checks that a node that gets gradients is copied (a node of its own, same
// values) and one that does not is returned as it is, unless elision is off.
func TestCopyForGrad(t *testing.T) {
	tests := []struct {
		name                string
		requiresGrad, elide bool
		wantSame            bool
	}{
		{"gradient, elision on", true, true, false},
		{"no gradient, elision on", false, true, true},
		{"no gradient, elision off", false, false, false},
		{"gradient, elision off", true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer SetCopyElision(SetCopyElision(tt.elide))
			x := mat.NewDense[float32](mat.WithShape(2, 2), mat.WithBacking([]float32{1, 2, 3, 4}), mat.WithGrad(tt.requiresGrad))
			got := CopyForGrad(x)
			require.Equal(t, tt.wantSame, got == mat.Tensor(x))
			require.Equal(t, []float32{1, 2, 3, 4}, got.Value().Data().F32())
		})
	}
}
