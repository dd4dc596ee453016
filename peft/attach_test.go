package peft_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/internal/adaptertest"
	"github.com/spago-peft/spago-peft/peft"
)

// Constructors refuse nil arguments with an error rather than a panic.
func TestNewNilArguments(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			for what, call := range map[string]func() (peft.Adapter, error){
				"nil base": func() (peft.Adapter, error) { return k.cfg.New(nil, rng) },
				"nil rng": func() (peft.Adapter, error) {
					return k.cfg.New(adaptertest.Layer[float32](rng, layerIn, layerOut), nil)
				},
				"no weight": func() (peft.Adapter, error) { return k.cfg.New(&linear.Model{}, rng) },
			} {
				a, err := call()
				if !errors.Is(err, peft.ErrInvalidConfig) || a != nil {
					t.Errorf("%s: got %v, %v; want ErrInvalidConfig", what, a, err)
				}
			}
		})
	}
}

// A layer wrapped by an adapter in use cannot be wrapped again, by any method: merging one would
// change the other's outputs. Once the first adapter is dropped, the layer is free.
func TestNewRefusesWrappedLayer(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			base := adaptertest.Layer[float32](rng, layerIn, layerOut)
			first, err := k.cfg.New(base, rng)
			if err != nil {
				t.Fatal(err)
			}
			for _, other := range kinds {
				if _, err := other.cfg.New(base, rng); !errors.Is(err, peft.ErrSharedBase) {
					t.Errorf("%s over %s: got %v, want ErrSharedBase", other.name, k.name, err)
				}
			}
			shared := &linear.Model{W: base.W, B: base.B} // another layer with the same weights
			if _, err := k.cfg.New(shared, rng); !errors.Is(err, peft.ErrSharedBase) {
				t.Errorf("layer sharing W: got %v, want ErrSharedBase", err)
			}
			runtime.KeepAlive(first)
			first = nil
			if _, err := k.cfg.New(base, rng); err != nil {
				t.Errorf("after the first adapter was dropped: %v", err)
			}
		})
	}
}

// Tokens of the wrong width panic with a message naming the layer and both sizes.
func TestWrongTokenWidth(t *testing.T) {
	for _, k := range kinds {
		for _, name := range []string{"", "layers.0.ffn.in"} {
			t.Run(k.name+"/"+name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(1, 2))
				a, err := k.cfg.New(adaptertest.Layer[float32](rng, layerIn, layerOut), rng)
				if err != nil {
					t.Fatal(err)
				}
				want := "layer (24 in, 10 out) takes tokens of 24 features, got 3 tokens of 7"
				if name != "" {
					a.(interface{ SetName(string) }).SetName(name)
					want = "layer layers.0.ffn.in takes tokens of 24 features, got 3 tokens of 7"
				}
				defer func() {
					msg := fmt.Sprint(recover())
					if !strings.Contains(msg, want) {
						t.Errorf("panic %q, want it to contain %q", msg, want)
					}
				}()
				a.ForwardRows(adaptertest.Rows[float32](rng, 3, 7))
			})
		}
	}
}
