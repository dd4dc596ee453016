package peft_test

import (
	"fmt"
	"math/rand/v2"
	"os"

	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/lora"
)

// An adapter saved in PEFT's format and loaded back onto a new copy of its base layer.
func ExampleSaveAdapter() {
	dir, err := os.MkdirTemp("", "adapter")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	rng := rand.New(rand.NewPCG(1, 2))
	cfg := lora.Config{R: 2, Alpha: 4}
	a, err := cfg.New(linear.New[float32](8, 4), rng)
	if err != nil {
		fmt.Println(err)
		return
	}
	targets := peft.Targets{Modules: []string{"query"}}
	adapters := map[string]peft.Adapter{"bert.encoder.layer.0.attention.self.query": a}
	err = peft.SaveAdapter(dir, cfg, targets, adapters, nil, peft.Meta{BaseModel: "bert-base-uncased", TaskType: "SEQ_CLS"})
	if err != nil {
		fmt.Println(err)
		return
	}

	// Loading: the configuration first, then an adapter of the right shape, then its tensors.
	loadedCfg, loadedTargets, meta, err := peft.LoadAdapterConfig(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	b, err := loadedCfg.New(linear.New[float32](8, 4), rng)
	if err != nil {
		fmt.Println(err)
		return
	}
	params, err := peft.AdapterParams(map[string]peft.Adapter{"bert.encoder.layer.0.attention.self.query": b})
	if err != nil {
		fmt.Println(err)
		return
	}
	want := map[string][]int{}
	for key, p := range params {
		want[key] = p.Shape()
	}
	tensors, err := peft.LoadAdapterTensors(dir, want)
	if err == nil {
		err = peft.SetParams(params, tensors)
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s %+v for %s, targets %v\n", loadedCfg.PeftType(), loadedCfg, meta.BaseModel, loadedTargets.Modules)
	for key, p := range params {
		fmt.Println(key, p.Shape())
	}
	// Unordered output:
	// LORA {R:2 Alpha:4 Dropout:0 UseRSLoRA:false Init:0} for bert-base-uncased, targets [query]
	// base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight [2 8]
	// base_model.model.bert.encoder.layer.0.attention.self.query.lora_B.weight [4 2]
}
