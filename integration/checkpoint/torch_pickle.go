package checkpoint

import (
	"bytes"
	"errors"
	"fmt"
	"math"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// unpickle decodes a pickle whose storages are persistent ids; intern maps
// each storage to the shared instance for its key (nil when the pickle holds
// no tensors). data must come from readPickle, which bounds the lengths the
// unpickler allocates.
func unpickle(data []byte, intern func(*torchStorage) *torchStorage) (any, error) {
	u := pickle.NewUnpickler(bytes.NewReader(data))
	u.FindClass = findTorchClass
	u.PersistentLoad = func(id any) (any, error) {
		s, err := persistentStorage(id)
		if err != nil {
			return nil, err
		}
		if intern == nil {
			return nil, fmt.Errorf("%w: unexpected storage reference", ErrCorrupt)
		}
		return intern(s), nil
	}
	obj, err := u.Load()
	if err != nil {
		if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrUnsupported) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: pickle: %v", ErrCorrupt, err)
	}
	return obj, nil
}

// persistentStorage decodes the persistent id of a storage:
// ("storage", storage class, key, location, numel[, view metadata]).
func persistentStorage(id any) (*torchStorage, error) {
	t, ok := id.(*types.Tuple)
	if !ok || t.Len() < 5 {
		return nil, fmt.Errorf("%w: persistent id %v is not a storage tuple", ErrCorrupt, id)
	}
	kind, _ := t.Get(0).(string)
	class, classOK := t.Get(1).(*torchStorageClass)
	key, keyOK := t.Get(2).(string)
	count, countOK := t.Get(4).(int)
	if kind != "storage" || !classOK || !keyOK || !countOK || count < 0 {
		return nil, fmt.Errorf("%w: persistent id %v is not a storage tuple", ErrCorrupt, id)
	}
	if t.Len() > 5 && t.Get(5) != nil {
		return nil, fmt.Errorf("%w: legacy storage views are not supported", ErrUnsupported)
	}
	if count > math.MaxInt64/8 {
		return nil, fmt.Errorf("%w: storage %q claims %d elements", ErrCorrupt, key, count)
	}
	return &torchStorage{key: key, dtype: class.dtype, numel: count}, nil
}

// findTorchClass resolves the globals a state_dict pickle refers to.
func findTorchClass(module, name string) (any, error) {
	switch {
	case module == "torch._utils" && name == "_rebuild_tensor_v2":
		return callable(rebuildTensor), nil
	case module == "torch._utils" && name == "_rebuild_parameter":
		return callable(rebuildParameter), nil
	case module == "torch":
		if dt, ok := torchStorageDTypes[name]; ok {
			return &torchStorageClass{dtype: dt}, nil
		}
	}
	return types.NewGenericClass(module, name), nil
}

// callable adapts a function to the unpickler's Callable interface.
type callable func(args ...any) (any, error)

func (c callable) Call(args ...any) (any, error) { return c(args...) }

// rebuildTensor mirrors torch._utils._rebuild_tensor_v2(storage,
// storage_offset, size, stride, requires_grad, backward_hooks[, metadata]).
func rebuildTensor(args ...any) (any, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("%w: _rebuild_tensor_v2 with %d arguments", ErrCorrupt, len(args))
	}
	s, ok1 := args[0].(*torchStorage)
	offset, ok2 := args[1].(int)
	shape, ok3 := intTuple(args[2])
	stride, ok4 := intTuple(args[3])
	if !ok1 || !ok2 || !ok3 || !ok4 || len(shape) != len(stride) {
		return nil, fmt.Errorf("%w: _rebuild_tensor_v2 arguments %v", ErrCorrupt, args)
	}
	return &torchTensor{storage: s, offset: offset, shape: shape, stride: stride}, nil
}

// rebuildParameter mirrors torch._utils._rebuild_parameter(data, ...).
func rebuildParameter(args ...any) (any, error) {
	if len(args) < 1 {
		return nil, fmt.Errorf("%w: _rebuild_parameter without arguments", ErrCorrupt)
	}
	t, ok := args[0].(*torchTensor)
	if !ok {
		return nil, fmt.Errorf("%w: _rebuild_parameter of %T", ErrCorrupt, args[0])
	}
	return t, nil
}

func intTuple(v any) ([]int, bool) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, false
	}
	out := make([]int, t.Len())
	for i := range out {
		if out[i], ok = t.Get(i).(int); !ok {
			return nil, false
		}
	}
	return out, true
}
