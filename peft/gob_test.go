package peft_test

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/spago-peft/spago-peft/internal/adaptertest"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/spago-peft/spago-peft/peft/oft"
)

// Every method and option survives spago's gob saving (nn.Dump / nn.Load), merged or not, in
// float32 and float64, with identical outputs; see adaptertest.CheckGobRoundTrip.
func TestGobRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name string
		c    peft.Config
	}{
		{"hra-paired", hra.Config{R: 4}},
		{"hra-random", hra.Config{R: 3, Init: hra.RandomInit}},
		{"hra-gs", hra.Config{R: 3, Init: hra.RandomInit, GS: true}},
		{"hra-lambda", hra.Config{R: 4, Lambda: 1e-3}},
		{"lora-kaiming", lora.Config{R: 2, Alpha: 4}},
		{"lora-gaussian", lora.Config{R: 2, Alpha: 4, Init: lora.GaussianInit}},
		{"lora-rslora", lora.Config{R: 4, Alpha: 4, UseRSLoRA: true}},
		{"lora-dropout", lora.Config{R: 2, Alpha: 4, Dropout: 0.3}},
		{"oft-exact", oft.Config{BlockSize: 4}},
		{"oft-r", oft.Config{R: 2}},
		{"oft-neumann", oft.Config{BlockSize: 4, UseCayleyNeumann: true, NumCayleyNeumannTerms: 5}},
		{"oft-shared", oft.Config{BlockSize: 2, BlockShare: true}},
		{"oft-coft", oft.Config{BlockSize: 4, COFT: true, Eps: 0.5}},
		{"oft-module-dropout", oft.Config{BlockSize: 2, ModuleDropout: 0.5}},
	} {
		for _, f64 := range []bool{false, true} {
			t.Run(tt.name+map[bool]string{false: "/float32", true: "/float64"}[f64], func(t *testing.T) {
				rng := rand.New(rand.NewPCG(4, 5))
				base, x := adaptertest.LayerAndRows(rng, f64, 8, 6, 5)
				a, err := tt.c.New(base, rng)
				if err != nil {
					t.Fatal(err)
				}
				// Move the parameters away from the start, where LoRA's B and OFT's R are zero
				// and HRA's paired vectors cancel.
				adaptertest.Randomize(rng, 0.3, a.TrainableParams()...)
				adaptertest.CheckGobRoundTrip(t, a, x)
				got, err := peft.ConfigOf(adaptertest.GobRoundTrip(t, a))
				if err != nil || !reflect.DeepEqual(got, tt.c) {
					t.Errorf("reloaded configuration %+v (%v), want %+v", got, err, tt.c)
				}
			})
		}
	}
}
