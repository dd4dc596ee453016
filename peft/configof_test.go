package peft_test

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/spago-peft/spago-peft/internal/adaptertest"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
)

// foreign is an Adapter of no registered method.
type foreign struct{ peft.Adapter }

func TestConfigOf(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base, _ := adaptertest.LayerAndRows(rng, false, 8, 6, 3)
	c := hra.Config{R: 4, Lambda: 1e-3}
	a, err := c.New(base, rng)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := peft.ConfigOf(a); err != nil || !reflect.DeepEqual(got, c) {
		t.Errorf("ConfigOf = %+v, %v; want %+v", got, err, c)
	}
	if _, err := peft.ConfigOf(foreign{a}); !errors.Is(err, peft.ErrUnsupported) {
		t.Errorf("ConfigOf of an unregistered adapter type: %v, want ErrUnsupported", err)
	}
}
