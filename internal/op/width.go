package op

import (
	"fmt"

	"github.com/nlpodyssey/spago/mat"
)

// MustWidth panics, naming the layer and both sizes, when the row-stacked tokens x do not have
// the in features of the adapted layer w (out×in). method prefixes the message ("hra"); layer is
// the layer's path in its model, or "" when unknown, in which case its shape describes it.
func MustWidth(x, w mat.Tensor, method, layer string) {
	n, d := Dims(x)
	out, in := Dims(w)
	if d == in {
		return
	}
	if layer == "" {
		layer = fmt.Sprintf("(%d in, %d out)", in, out)
	}
	panic(fmt.Sprintf("%s: layer %s takes tokens of %d features, got %d tokens of %d (row-stacked input %d×%d; Forward takes %d×1 column vectors)",
		method, layer, in, n, d, n, d, in))
}
