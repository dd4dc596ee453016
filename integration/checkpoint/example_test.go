package checkpoint_test

import (
	"fmt"
	"log"

	"github.com/spago-peft/spago-peft/integration/checkpoint"
)

func ExampleLoadDir() {
	c, err := checkpoint.LoadDir("testdata/tiny-bert")
	if err != nil {
		log.Fatal(err)
	}
	cfg := c.Config
	fmt.Printf("%d layers, hidden %d, %d heads, activation %s\n",
		cfg.NumHiddenLayers, cfg.HiddenSize, cfg.NumAttentionHeads, cfg.HiddenAct)
	fmt.Println("labels:", cfg.NumLabels(), cfg.ID2Label)
	fmt.Println("pooler:", c.HasPooler(), "classifier:", c.HasClassifier())
	q := c.Tensors["encoder.layer.0.attention.self.query.weight"]
	fmt.Println("query weight shape:", q.Shape)
	// Output:
	// 2 layers, hidden 32, 4 heads, activation gelu
	// labels: 3 map[0:negative 1:neutral 2:positive]
	// pooler: true classifier: true
	// query weight shape: [32 32]
}
