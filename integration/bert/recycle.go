package bert

import (
	"sync/atomic"

	"github.com/nlpodyssey/spago/mat"
	"github.com/spago-peft/spago-peft/internal/op"
)

// recycle hands dead, nodes that only the computation of out read, to op.Recycle, so that later
// operators of the pass (and of later passes) write their outputs into their buffers instead of
// fresh ones (see op.SetRecycling): when out requires no gradients, in evaluation mode or in
// training with a frozen encoder (head-only training: the layers need no gradients).
//
// Why that is enough: every node of dead is an ancestor of out, so none of them requires
// gradients either, and their consumers, which lie between them and out, neither: no backward
// pass visits them, and the forward pass is done with them once out is computed. The caller
// must not list a node that anything else reads: a value returned to the user, shared with
// another part's goroutine, or read by a consumer outside the chain to out.
func (m *Model) recycle(out mat.Tensor, dead ...mat.Tensor) {
	m.recycleCounted(&recycledNodes, out, dead...)
}

// recycleCounted is recycle, counting the nodes it hands on in counter.
func (m *Model) recycleCounted(counter *atomic.Int64, out mat.Tensor, dead ...mat.Tensor) {
	if out.RequiresGrad() {
		return
	}
	counter.Add(int64(len(dead)))
	op.Recycle(dead...)
}

// recycledNodes and recycledEmbeddingNodes count the nodes recycle has handed on, of the encoder
// and of the embeddings, for tests that check where it applies: with unmerged adapters in the
// layers only the embeddings' nodes go.
var recycledNodes, recycledEmbeddingNodes atomic.Int64
