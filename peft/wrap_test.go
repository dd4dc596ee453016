package peft_test

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/internal/adaptertest"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/spago-peft/spago-peft/peft/oft"
)

// ffn and stack are a user's model: linear layers in interface fields, in a slice of pointers and
// a map.
type ffn struct {
	nn.Module
	In, Out nn.StandardModel
}

type stack struct {
	nn.Module
	Encoder encoder
	Heads   map[string]nn.StandardModel
}

type encoder struct {
	Blocks []*ffn
}

const width = 8

// newStack returns a stack of two blocks and two heads with weights from seed, the same for the
// same seed.
func newStack(seed uint64) *stack {
	rng := rand.New(rand.NewPCG(seed, 1))
	l := func() nn.StandardModel { return adaptertest.Layer[float32](rng, width, width) }
	return &stack{
		Encoder: encoder{Blocks: []*ffn{{In: l(), Out: l()}, {In: l(), Out: l()}}},
		Heads:   map[string]nn.StandardModel{"a": l(), "b": l()},
	}
}

// outputs runs every layer of s on x (a width×1 column), block by block, and returns the heads'
// outputs.
func (s *stack) outputs(x mat.Tensor) []float64 {
	for _, b := range s.Encoder.Blocks {
		x = b.Out.Forward(b.In.Forward(x)...)[0]
	}
	var out []float64
	for _, k := range []string{"a", "b"} {
		out = append(out, s.Heads[k].Forward(x)[0].Value().Data().F64()...)
	}
	return out
}

func column() mat.Tensor {
	return adaptertest.Rows[float32](rand.New(rand.NewPCG(9, 9)), width, 1)
}

func TestWrap(t *testing.T) {
	for _, tt := range []struct {
		name    string
		targets peft.Targets
		want    []string
	}{
		{"suffix", peft.Targets{Modules: []string{"in"}}, []string{"encoder.blocks.0.in", "encoder.blocks.1.in"}},
		{"layer", peft.Targets{Modules: []string{"in", "out"}, LayersToTransform: []int{1}}, []string{"encoder.blocks.1.in", "encoder.blocks.1.out"}},
		{"map", peft.Targets{Modules: []string{"heads.b", "encoder.blocks.0.out"}}, []string{"encoder.blocks.0.out", "heads.b"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newStack(1)
			want := m.outputs(column())
			adapters, err := peft.Wrap(m, hra.Config{R: 2}, tt.targets, rand.New(rand.NewPCG(1, 2)))
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Sorted(maps.Keys(adapters)); !slices.Equal(got, tt.want) {
				t.Fatalf("adapters on %v, want %v", got, tt.want)
			}
			found, err := peft.Adapters(m)
			if err != nil || len(found) != len(adapters) {
				t.Fatalf("Adapters found %d (%v), want %d", len(found), err, len(adapters))
			}
			for name, a := range adapters {
				if found[name] != a {
					t.Errorf("%s: the model does not hold the adapter Wrap returned", name)
				}
			}
			// Each adapter knows its name: a wrong input names the layer.
			for name, a := range adapters {
				func() {
					defer func() {
						if msg := fmt.Sprint(recover()); !strings.Contains(msg, "layer "+name+" takes tokens of 8 features, got 2 tokens of 3") {
							t.Errorf("panic %q does not name %s", msg, name)
						}
					}()
					a.ForwardRows(adaptertest.Rows[float32](rand.New(rand.NewPCG(1, 1)), 2, 3))
				}()
			}
			// The adapters' forward rounds otherwise than spago's linear layer.
			if d := adaptertest.MaxAbsDiff(m.outputs(column()), want); d > 1e-5 {
				t.Errorf("the paired start changed the outputs by %g", d)
			}
		})
	}
}

// Wrap refuses layers it cannot replace, naming each and saying how to change it, and changes
// nothing then.
func TestWrapRefuses(t *testing.T) {
	type concrete struct {
		nn.Module
		Hidden *linear.Model
		Output nn.StandardModel
	}
	type unexported struct {
		nn.Module
		hidden nn.StandardModel
		Output nn.StandardModel
	}
	type narrow interface {
		Forward(...mat.Tensor) []mat.Tensor
	}
	type mine interface {
		nn.StandardModel
		WithBiasGrad(bool) *linear.Model
	}
	type ownInterface struct {
		nn.Module
		Hidden narrow
		Output mine
	}
	rng := rand.New(rand.NewPCG(1, 2))
	l := func() *linear.Model { return adaptertest.Layer[float32](rng, width, width) }
	shared := l()
	type many struct {
		nn.Module
		Layers []*linear.Model
	}
	six := &many{Layers: []*linear.Model{l(), l(), l(), l(), l(), l()}}
	for _, tt := range []struct {
		name    string
		model   any
		targets []string
		err     error
		msg     []string
	}{
		{"concrete", &concrete{Hidden: l(), Output: l()}, []string{"hidden", "output"}, peft.ErrCannotWrap,
			[]string{"hidden (model.Hidden): held as *linear.Model", "put nn.StandardModel"}},
		{"many concrete", six, []string{"0", "1", "2", "3", "4", "5"}, peft.ErrCannotWrap,
			[]string{"layers.0 (model.Layers[0]), layers.1 (model.Layers[1]), layers.2 (model.Layers[2]), layers.3 (model.Layers[3]), and 2 more: held as *linear.Model"}},
		{"concrete untargeted", &concrete{Hidden: l(), Output: l()}, []string{"output"}, nil, nil},
		{"unexported", &unexported{hidden: l(), Output: l()}, []string{"hidden"}, peft.ErrCannotWrap,
			[]string{"hidden (model.hidden): in unexported fields"}},
		{"own interface", &ownInterface{Hidden: l(), Output: l()}, []string{"hidden", "output"}, peft.ErrCannotWrap,
			[]string{"output (model.Output): held as peft_test.mine"}},
		{"narrow interface", &ownInterface{Hidden: l(), Output: l()}, []string{"hidden"}, nil, nil},
		{"shared", &stack{Encoder: encoder{Blocks: []*ffn{{In: shared, Out: shared}}}}, []string{"in"}, peft.ErrSharedBase,
			[]string{"encoder.blocks.0.in is the same layer as encoder.blocks.0.out"}},
		{"unknown", &concrete{Hidden: l(), Output: l()}, []string{"hiden"}, peft.ErrUnknownTarget, []string{`"hiden"`, "hidden"}},
		{"not a pointer", concrete{}, []string{"output"}, peft.ErrInvalidConfig, []string{"pointer to a struct"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var before bytes.Buffer
			if err := nn.Dump(tt.model, &before); err != nil && tt.name != "unexported" && tt.name != "not a pointer" {
				t.Fatal(err)
			}
			_, err := peft.Wrap(tt.model, lora.Config{R: 2, Alpha: 2}, peft.Targets{Modules: tt.targets}, rng)
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("got %v, want %v", err, tt.err)
			}
			for _, s := range tt.msg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			if tt.err == nil {
				return
			}
			var after bytes.Buffer
			if err := nn.Dump(tt.model, &after); err == nil && !bytes.Equal(before.Bytes(), after.Bytes()) {
				t.Error("a refused Wrap changed the model")
			}
		})
	}
}

// A layer index counts only after two name parts, as in PEFT: the error says so.
func TestWrapTopLevelLayerIndex(t *testing.T) {
	type top struct {
		nn.Module
		Layers []nn.StandardModel
	}
	m := &top{Layers: []nn.StandardModel{linear.New[float32](2, 2)}}
	_, err := peft.Wrap(m, hra.Config{R: 2}, peft.Targets{Modules: []string{"layers.0"}, LayersToTransform: []int{0}}, rand.New(rand.NewPCG(1, 2)))
	if !errors.Is(err, peft.ErrUnknownTarget) || !strings.Contains(err.Error(), "top-level") {
		t.Errorf("got %v, want ErrUnknownTarget explaining layer indices", err)
	}
}

// Wrapping twice is refused; a Wrap that fails part-way leaves the model as it was, frozen flags
// included, and the layers free to wrap.
func TestWrapAgainAndFailure(t *testing.T) {
	m := newStack(1)
	if _, err := peft.Wrap(m, hra.Config{R: 2}, peft.Targets{Modules: []string{"in"}}, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	if _, err := peft.Wrap(m, hra.Config{R: 2}, peft.Targets{Modules: []string{"in"}}, rand.New(rand.NewPCG(1, 2))); !errors.Is(err, peft.ErrSharedBase) {
		t.Errorf("wrapping again: got %v, want ErrSharedBase", err)
	}

	m = newStack(1)
	m.Heads["b"] = adaptertest.Layer[float32](rand.New(rand.NewPCG(1, 1)), 6, width) // 6 inputs: blocks of 4 do not fit
	_, err := peft.Wrap(m, oft.Config{BlockSize: 4}, peft.Targets{Modules: []string{"in", "out", "a", "b"}}, rand.New(rand.NewPCG(1, 2)))
	if !errors.Is(err, peft.ErrInvalidConfig) || !strings.Contains(err.Error(), "module heads.b") {
		t.Fatalf("got %v, want ErrInvalidConfig naming heads.b", err)
	}
	for i, b := range m.Encoder.Blocks {
		for _, l := range []nn.StandardModel{b.In, b.Out} {
			lin, ok := l.(*linear.Model)
			if !ok || !lin.W.RequiresGrad() || !lin.B.RequiresGrad() {
				t.Fatalf("block %d: layer %T left wrapped or frozen", i, l)
			}
		}
	}
	if _, err := peft.Wrap(m, oft.Config{BlockSize: 4}, peft.Targets{Modules: []string{"in", "out"}}, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Errorf("wrapping after the failure: %v", err)
	}
}

// A wrapped model saved by Save, merged, loads with Load into a fresh copy of the base model, and
// into a model wrapped already, with identical outputs, for every method; its adapter_config.json names
// the targets by their last parts when they select exactly the adapted layers.
func TestSaveLoad(t *testing.T) {
	for _, tt := range []struct {
		name    string
		c       peft.Config
		targets peft.Targets
		modules []string
	}{
		{"hra", hra.Config{R: 2, Lambda: 1e-3}, peft.Targets{Modules: []string{"in", "heads.a"}}, []string{"a", "in"}},
		{"lora", lora.Config{R: 2, Alpha: 4, Dropout: 0.1}, peft.Targets{Modules: []string{"out"}}, []string{"out"}},
		{"oft", oft.Config{BlockSize: 4, UseCayleyNeumann: true, NumCayleyNeumannTerms: 5}, peft.Targets{Modules: []string{"in"}, LayersToTransform: []int{1}}, []string{"encoder.blocks.1.in"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "adapter")
			m := newStack(1)
			adapters, err := peft.Wrap(m, tt.c, tt.targets, rand.New(rand.NewPCG(1, 2)))
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(3, 4))
			for _, a := range adapters {
				adaptertest.Randomize(rng, 0.3, a.TrainableParams()...)
			}
			want := m.outputs(column())
			for _, a := range adapters { // merged adapters save the same values
				if err := a.Merge(); err != nil {
					t.Fatal(err)
				}
			}
			if err := peft.Save(dir, m); err != nil {
				t.Fatal(err)
			}
			if _, targets, _, err := peft.LoadAdapterConfig(dir); err != nil || !slices.Equal(slices.Sorted(slices.Values(targets.Modules)), tt.modules) {
				t.Errorf("adapter_config.json has target_modules %v (%v), want %v", targets.Modules, err, tt.modules)
			}

			fresh := newStack(1)
			loaded, err := peft.Load(dir, fresh)
			if err != nil {
				t.Fatal(err)
			}
			if len(loaded) != len(adapters) {
				t.Errorf("loaded %d adapters, want %d", len(loaded), len(adapters))
			}
			if got := fresh.outputs(column()); !slices.Equal(got, want) {
				t.Error("a fresh model with the loaded adapters differs")
			}

			// Into a wrapped model: the parameters are overwritten.
			again := newStack(1)
			if _, err := peft.Wrap(again, tt.c, tt.targets, rand.New(rand.NewPCG(5, 6))); err != nil {
				t.Fatal(err)
			}
			if _, err := peft.Load(dir, again); err != nil {
				t.Fatal(err)
			}
			if got := again.outputs(column()); !slices.Equal(got, want) {
				t.Error("a wrapped model with the loaded adapters differs")
			}
		})
	}
}

func TestSaveLoadErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "adapter")
	if err := peft.Save(dir, newStack(1)); !errors.Is(err, peft.ErrInvalidConfig) {
		t.Errorf("saving a model without adapters: got %v, want ErrInvalidConfig", err)
	}
	m := newStack(1)
	if _, err := peft.Wrap(m, hra.Config{R: 2}, peft.Targets{Modules: []string{"in"}}, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	if _, err := peft.Wrap(m, hra.Config{R: 4}, peft.Targets{Modules: []string{"out"}}, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	if err := peft.Save(dir, m); !errors.Is(err, peft.ErrInvalidConfig) || !strings.Contains(err.Error(), "different configurations") {
		t.Errorf("saving adapters of two configurations: got %v", err)
	}

	m = newStack(1)
	adapters, err := peft.Wrap(m, hra.Config{R: 2}, peft.Targets{Modules: []string{"in"}}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if err := peft.Save(dir, m); err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct {
		setup func() any
		err   error
	}{
		"merged": {func() any {
			for _, a := range adapters {
				if err := a.Merge(); err != nil {
					t.Fatal(err)
				}
			}
			return m
		}, peft.ErrMerged},
		"other config": {func() any {
			o := newStack(1)
			if _, err := peft.Wrap(o, hra.Config{R: 4}, peft.Targets{Modules: []string{"in"}}, rand.New(rand.NewPCG(1, 2))); err != nil {
				t.Fatal(err)
			}
			return o
		}, peft.ErrInvalidConfig},
		"other layers": {func() any {
			o := newStack(1)
			if _, err := peft.Wrap(o, hra.Config{R: 2}, peft.Targets{Modules: []string{"out"}}, rand.New(rand.NewPCG(1, 2))); err != nil {
				t.Fatal(err)
			}
			return o
		}, peft.ErrTensorMismatch},
	} {
		if _, err := peft.Load(dir, tt.setup()); !errors.Is(err, tt.err) {
			t.Errorf("%s: got %v, want %v", name, err, tt.err)
		}
	}

	// A file whose tensors do not fit leaves the model as it was.
	narrow := newStack(1)
	narrow.Encoder.Blocks[1].In = adaptertest.Layer[float32](rand.New(rand.NewPCG(1, 1)), 4, width)
	if _, err := peft.Load(dir, narrow); !errors.Is(err, peft.ErrTensorMismatch) {
		t.Fatalf("loading into other shapes: got %v, want ErrTensorMismatch", err)
	}
	if found, _ := peft.Adapters(narrow); len(found) != 0 {
		t.Errorf("a failed Load left %d adapters in the model", len(found))
	}
	if !narrow.Encoder.Blocks[0].In.(*linear.Model).W.RequiresGrad() {
		t.Error("a failed Load left a layer frozen")
	}
}

// A wrapped model survives spago's gob saving as a whole, adapters in slices and maps included.
func TestWrappedModelGob(t *testing.T) {
	m := newStack(1)
	adapters, err := peft.Wrap(m, lora.Config{R: 2, Alpha: 4}, peft.Targets{Modules: []string{"in", "b"}}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, a := range adapters {
		adaptertest.Randomize(rng, 0.3, a.TrainableParams()...)
	}
	adapters["heads.b"].Merge()
	var buf bytes.Buffer
	if err := nn.Dump(m, &buf); err != nil {
		t.Fatal(err)
	}
	loaded, err := nn.Load[*stack](&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(loaded.outputs(column()), m.outputs(column())) {
		t.Error("the reloaded model differs")
	}
	found, err := peft.Adapters(loaded)
	if err != nil || len(found) != 3 || !found["heads.b"].Merged() || found["encoder.blocks.0.in"].Merged() {
		t.Errorf("reloaded adapters %v (%v), want 3 with heads.b merged", found, err)
	}
}
