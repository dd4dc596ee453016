package peft_test

import (
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/spago-peft/spago-peft/internal/adaptertest"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
)

func TestRegularizationAndParams(t *testing.T) {
	for _, tt := range []struct {
		name string
		c    peft.Config
		f64  bool
		reg  bool // whether the adapters have a penalty
	}{
		{"hra-lambda", hra.Config{R: 2, Init: hra.RandomInit, Lambda: 0.5}, false, true},
		{"hra-none", hra.Config{R: 2}, true, false},
		{"lora", lora.Config{R: 2, Alpha: 2}, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newStack(1)
			adapters, err := peft.Wrap(m, tt.c, peft.Targets{Modules: []string{"in", "out"}}, rand.New(rand.NewPCG(1, 2)))
			if err != nil {
				t.Fatal(err)
			}
			params := peft.TrainableParams(adapters)
			if want := 4 * len(adapters["encoder.blocks.0.in"].TrainableParams()); len(params) != want {
				t.Fatalf("%d parameters, want %d", len(params), want)
			}
			if params[0] != adapters["encoder.blocks.0.in"].TrainableParams()[0] {
				t.Error("parameters are not in name order")
			}
			reg := peft.Regularization(adapters)
			var want float64
			for _, a := range adapters {
				if r := a.Regularization(); r != nil {
					want += r.Value().Item().F64()
				}
			}
			got := reg.Value().Item().F64()
			if (want != 0) != tt.reg || adaptertest.MaxAbsDiff([]float64{got}, []float64{want}) > 1e-6 {
				t.Errorf("Regularization = %v, want %v", got, want)
			}
			// The natural code works whether or not the method has a penalty.
			p := adapters["encoder.blocks.0.in"].TrainableParams()[0]
			loss := ag.Add(ag.Dot(p, p), reg)
			if err := ag.Backward(loss); err != nil {
				t.Fatal(err)
			}
		})
	}
	if r := peft.Regularization(nil); r.Value().Size() != 1 || r.Value().Item().F64() != 0 {
		t.Errorf("Regularization(nil) = %v, want a zero scalar", r.Value())
	}
}
