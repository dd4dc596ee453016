package adapterkit

import (
	"fmt"
	"runtime"
	"sync"
	"weak"

	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/peft"
)

// owners maps each wrapped weight to its adapter, both held weakly: an adapter that is no longer
// reachable releases its layer.
var owners = struct {
	sync.Mutex
	m map[weak.Pointer[nn.Param]]owner
}{m: map[weak.Pointer[nn.Param]]owner{}}

type owner struct {
	id    any // the adapter's weak pointer, comparable
	alive func() bool
}

// Attach records that adapter wraps base and freezes base; every adapter's constructor calls it.
// It fails with peft.ErrSharedBase if another adapter that is still reachable wraps base or a layer
// with the same weight parameter.
func Attach[T any](base *linear.Model, adapter *T) error {
	key := weak.Make(base.W)
	self := weak.Make(adapter)
	claimed := func() bool {
		owners.Lock()
		defer owners.Unlock()
		o, ok := owners.m[key]
		return ok && o.id != any(self) && o.alive()
	}
	if claimed() {
		// The other adapter may be garbage that no collection has found yet: collect once before
		// refusing, so that the answer does not depend on the collector's timing.
		runtime.GC()
		if claimed() {
			return fmt.Errorf("%w: its weight (%v) is wrapped by another adapter in use; wrap a copy of the layer, or drop the other adapter", peft.ErrSharedBase, base.W.Shape())
		}
	}
	owners.Lock()
	_, known := owners.m[key]
	owners.m[key] = owner{id: self, alive: func() bool { return self.Value() != nil }}
	owners.Unlock()
	if !known {
		runtime.AddCleanup(base.W, func(k weak.Pointer[nn.Param]) {
			owners.Lock()
			delete(owners.m, k)
			owners.Unlock()
		}, key)
	}
	Freeze(base)
	return nil
}

// Freeze stops W and B of base from receiving gradients, as every adapter's constructor does (through Attach).
func Freeze(base *linear.Model) {
	base.W.SetRequiresGrad(false)
	base.B.SetRequiresGrad(false)
}
