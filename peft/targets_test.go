package peft

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bertLinears returns the full names of the adaptable linear layers of a BERT encoder.
func bertLinears(layers int) []string {
	var names []string
	for i := range layers {
		for _, m := range []string{"attention.self.query", "attention.self.key", "attention.self.value",
			"attention.output.dense", "intermediate.dense", "output.dense"} {
			names = append(names, fmt.Sprintf("encoder.layer.%d.%s", i, m))
		}
	}
	return names
}

func TestTargetsSelect(t *testing.T) {
	modules := bertLinears(3)
	tests := []struct {
		name    string
		targets Targets
		want    []string
	}{
		{"default", DefaultBertTargets, []string{
			"encoder.layer.0.attention.self.query", "encoder.layer.0.attention.self.value",
			"encoder.layer.1.attention.self.query", "encoder.layer.1.attention.self.value",
			"encoder.layer.2.attention.self.query", "encoder.layer.2.attention.self.value"}},
		{"suffix with dots", Targets{Modules: []string{"output.dense"}}, []string{
			"encoder.layer.0.attention.output.dense", "encoder.layer.0.output.dense",
			"encoder.layer.1.attention.output.dense", "encoder.layer.1.output.dense",
			"encoder.layer.2.attention.output.dense", "encoder.layer.2.output.dense"}},
		{"full name", Targets{Modules: []string{"encoder.layer.1.intermediate.dense"}}, []string{
			"encoder.layer.1.intermediate.dense"}},
		{"layers to transform", Targets{Modules: []string{"key"}, LayersToTransform: []int{0, 2}}, []string{
			"encoder.layer.0.attention.self.key", "encoder.layer.2.attention.self.key"}},
		{"no targets", Targets{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.targets.Select(modules)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestTargetsSelectErrors(t *testing.T) {
	modules := bertLinears(2)
	tests := []struct {
		name    string
		targets Targets
		msg     string
	}{
		{"unknown", Targets{Modules: []string{"q_proj"}}, `"q_proj"`},
		{"part of a name", Targets{Modules: []string{"uery"}}, `"uery"`},
		{"layer norm is not linear", Targets{Modules: []string{"LayerNorm"}}, "encoder.layer.N.attention.self.query"},
		{"layer out of range", Targets{Modules: []string{"query"}, LayersToTransform: []int{5}}, "layer 5"},
		{"one of two targets", Targets{Modules: []string{"query", "values"}}, `"values"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.targets.Select(modules)
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrUnknownTarget))
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

// TestTargetsSelectPEFTRules checks PEFT's rules beyond name suffixes: a string target is a
// regular expression on the whole name, "all-linear" takes every module given, and a module
// that modules_to_save selects is never adapted.
func TestTargetsSelectPEFTRules(t *testing.T) {
	modules := append(bertLinears(2), "pooler.dense")
	dense := []string{"encoder.layer.0.attention.output.dense", "encoder.layer.0.intermediate.dense", "encoder.layer.0.output.dense",
		"encoder.layer.1.attention.output.dense", "encoder.layer.1.intermediate.dense", "encoder.layer.1.output.dense"}
	tests := []struct {
		name    string
		targets Targets
		want    []string
	}{
		{"dense takes the pooler", Targets{Modules: []string{"dense"}}, append(slices.Clone(dense), "pooler.dense")},
		{"saved pooler is not adapted", Targets{Modules: []string{"dense"}, ModulesToSave: []string{"pooler"}}, dense},
		{"pattern matches whole names", Targets{Pattern: `encoder\.layer\.1\..*(query|value)`}, []string{
			"encoder.layer.1.attention.self.query", "encoder.layer.1.attention.self.value"}},
		{"pattern is not a search", Targets{Pattern: `.*dense|query`}, append(slices.Clone(dense), "pooler.dense")},
		{"all-linear", Targets{Pattern: "All-Linear"}, modules},
		{"all-linear with saved pooler", Targets{Pattern: AllLinear, ModulesToSave: []string{"pooler"}}, bertLinears(2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.targets.Select(modules)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	for _, tt := range []struct {
		name     string
		targets  Targets
		sentinel error
		msg      string
	}{
		{"pattern matching nothing", Targets{Pattern: "query"}, ErrUnknownTarget, `pattern "query" matches no whole module name`},
		{"pattern Go cannot read", Targets{Pattern: "(?!key).*"}, ErrInvalidConfig, "RE2"},
		{"pattern with layers", Targets{Pattern: ".*query", LayersToTransform: []int{0}}, ErrInvalidConfig, "layers_to_transform"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.targets.Select(modules)
			require.ErrorIs(t, err, tt.sentinel)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

func TestTargetsSelectSaved(t *testing.T) {
	modules := []string{"embeddings.word_embeddings", "encoder.layer.0.output.LayerNorm", "pooler.dense", "classifier"}
	got, err := DefaultBertTargets.SelectSaved(modules)
	require.NoError(t, err)
	assert.Equal(t, []string{"pooler.dense", "classifier"}, got)

	got, err = Targets{ModulesToSave: []string{"LayerNorm"}}.SelectSaved(modules)
	require.NoError(t, err)
	assert.Equal(t, []string{"encoder.layer.0.output.LayerNorm"}, got)

	_, err = Targets{ModulesToSave: []string{"score"}}.SelectSaved(modules)
	assert.True(t, errors.Is(err, ErrUnknownTarget))
	assert.Contains(t, err.Error(), `"score"`)

	// PEFT's plain suffix: "classifier" takes DistilBERT's pre_classifier too, and is never adapted.
	distil := []string{"transformer.layer.0.attention.q_lin", "pre_classifier", "classifier"}
	saveClassifier := Targets{Pattern: AllLinear, ModulesToSave: []string{"classifier"}}
	got, err = saveClassifier.SelectSaved(distil)
	require.NoError(t, err)
	assert.Equal(t, []string{"pre_classifier", "classifier"}, got)
	got, err = saveClassifier.Select(distil)
	require.NoError(t, err)
	assert.Equal(t, []string{"transformer.layer.0.attention.q_lin"}, got)
}

func TestLayerIndex(t *testing.T) {
	tests := []struct {
		module string
		index  int
		ok     bool
	}{
		{"encoder.layer.11.attention.self.query", 11, true},
		{"bert.encoder.layer.3.output.dense", 3, true},
		{"model.layers.0.blocks.2.fc", 0, true}, // PEFT 0.21 takes the first index, not a nested one
		{"a.b.c.3.x", 3, true},
		{"pooler.dense", 0, false},
		{"h.0", 0, false}, // PEFT's pattern needs a dot after the index
		{"0.layer.1", 0, false},
	}
	for _, tt := range tests {
		i, ok := layerIndex(tt.module)
		assert.Equal(t, tt.ok, ok, tt.module)
		assert.Equal(t, tt.index, i, tt.module)
	}
}

func TestTargetsJSON(t *testing.T) {
	var got Targets
	require.NoError(t, json.Unmarshal([]byte(`{"target_modules":["query","value"],"layers_to_transform":[1],"modules_to_save":["classifier"]}`), &got))
	assert.Equal(t, Targets{Modules: []string{"query", "value"}, LayersToTransform: []int{1}, ModulesToSave: []string{"classifier"}}, got)
}
