package peft_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
)

// Adapters put into a user's own model, found and named by their paths; a layer in a field of
// type *linear.Model is reported with the change to make.
func ExampleWrap() {
	type FFN struct {
		nn.Module
		In, Out nn.StandardModel // interface fields: an adapter can take a layer's place
	}
	type Encoder struct {
		Blocks []*FFN
	}
	type Model struct {
		nn.Module
		Encoder Encoder
		Head    *linear.Model // a concrete field cannot hold an adapter
	}
	model := &Model{
		Encoder: Encoder{Blocks: []*FFN{
			{In: linear.New[float32](8, 16), Out: linear.New[float32](16, 8)},
			{In: linear.New[float32](8, 16), Out: linear.New[float32](16, 8)},
		}},
		Head: linear.New[float32](8, 2),
	}
	rng := rand.New(rand.NewPCG(1, 2))

	adapters, err := peft.Wrap(model, hra.Config{R: 4}, peft.Targets{Modules: []string{"in"}, LayersToTransform: []int{1}}, rng)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(slices.Sorted(maps.Keys(adapters)), peft.CountParams(peft.TrainableParams(adapters)), "trainable")
	_, isAdapter := model.Encoder.Blocks[1].In.(peft.Adapter)
	fmt.Println("blocks[1].In holds an adapter:", isAdapter)

	_, err = peft.Wrap(model, hra.Config{R: 4}, peft.Targets{Modules: []string{"head"}}, rng)
	fmt.Println(err)
	// Output:
	// [encoder.blocks.1.in] 32 trainable
	// blocks[1].In holds an adapter: true
	// peft: layer cannot hold an adapter: head (model.Head): held as *linear.Model, which cannot hold an adapter; put nn.StandardModel (or an interface of yours that peft.Adapter implements) in its place in the type of the field, slice or map
}

// A wrapped model saved in PEFT's format and loaded onto a fresh copy of its base: the
// configuration and targets come from the adapters, and Load wraps the fresh model itself.
func ExampleSave() {
	type MLP struct {
		nn.Module
		Hidden, Output nn.StandardModel
	}
	newMLP := func() *MLP { // the pre-trained base; here all zeros
		return &MLP{Hidden: linear.New[float32](8, 16), Output: linear.New[float32](16, 4)}
	}
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	model := newMLP()
	if _, err := peft.Wrap(model, lora.Config{R: 2, Alpha: 4}, peft.Targets{Modules: []string{"hidden", "output"}}, rand.New(rand.NewPCG(1, 2))); err != nil {
		fmt.Println(err)
		return
	}
	// ... train ...
	if err := peft.Save(filepath.Join(dir, "adapter"), model); err != nil {
		fmt.Println(err)
		return
	}

	fresh := newMLP()
	adapters, err := peft.Load(filepath.Join(dir, "adapter"), fresh)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(slices.Sorted(maps.Keys(adapters)))
	files, _ := filepath.Glob(filepath.Join(dir, "adapter", "*"))
	for _, f := range files {
		fmt.Println(filepath.Base(f))
	}
	// Output:
	// [hidden output]
	// adapter_config.json
	// adapter_model.safetensors
}
