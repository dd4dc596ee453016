package peft

import (
	"testing"

	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/linear"
)

type walkFFN struct {
	nn.Module
	In, Out nn.StandardModel
}

type walkEmbedded struct {
	Proj nn.StandardModel
}

type walkModel struct {
	nn.Module
	walkEmbedded
	Blocks    []*walkFFN
	Heads     map[string]nn.StandardModel
	ByIndex   map[int]nn.StandardModel
	Pair      [2]nn.StandardModel
	QueryProj nn.StandardModel `peft:"q"`
	HTTPLayer *linear.Model
	Skipped   nn.StandardModel `peft:"-"`
	private   *linear.Model
	Nil       nn.StandardModel
	Self      *walkModel // a cycle
}

func TestFindLayersNames(t *testing.T) {
	l := func() *linear.Model { return linear.New[float32](2, 2) }
	m := &walkModel{
		walkEmbedded: walkEmbedded{Proj: l()},
		Blocks:       []*walkFFN{{In: l(), Out: l()}, {In: l(), Out: l()}},
		Heads:        map[string]nn.StandardModel{"pos": l(), "neg": l()},
		ByIndex:      map[int]nn.StandardModel{10: l(), 2: l()},
		Pair:         [2]nn.StandardModel{l(), l()},
		QueryProj:    l(),
		HTTPLayer:    l(),
		Skipped:      l(),
		private:      l(),
	}
	m.Self = m
	sites, err := findLayers(m)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ path, goPath string }{
		{"proj", "model.Proj"},
		{"blocks.0.in", "model.Blocks[0].In"},
		{"blocks.0.out", "model.Blocks[0].Out"},
		{"blocks.1.in", "model.Blocks[1].In"},
		{"blocks.1.out", "model.Blocks[1].Out"},
		{"heads.neg", `model.Heads["neg"]`},
		{"heads.pos", `model.Heads["pos"]`},
		{"by_index.2", "model.ByIndex[2]"},
		{"by_index.10", "model.ByIndex[10]"},
		{"pair.0", "model.Pair[0]"},
		{"pair.1", "model.Pair[1]"},
		{"q", "model.QueryProj"},
		{"http_layer", "model.HTTPLayer"},
		{"private", "model.private"},
	}
	if len(sites) != len(want) {
		for _, s := range sites {
			t.Log(s.path, s.goPath)
		}
		t.Fatalf("found %d layers, want %d", len(sites), len(want))
	}
	for i, s := range sites {
		if s.path != want[i].path || s.goPath != want[i].goPath {
			t.Errorf("layer %d: %s at %s, want %s at %s", i, s.path, s.goPath, want[i].path, want[i].goPath)
		}
		replaceable := s.path != "http_layer" && s.path != "private"
		if (s.set != nil) != replaceable {
			t.Errorf("%s: replaceable %v, want %v (%s)", s.path, s.set != nil, replaceable, s.problem)
		}
	}
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"FFN": "ffn", "QueryProj": "query_proj", "HTTPServer": "http_server", "W1": "w1", "Layer2Norm": "layer2_norm",
		"in": "in", "Out": "out",
	} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}
