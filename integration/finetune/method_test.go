package finetune

import (
	"errors"
	"testing"

	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/spago-peft/spago-peft/peft/oft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMethodAdapter(t *testing.T) {
	tests := []struct {
		method  Method
		adapter peft.Config
		full    bool
		desc    string
	}{
		{Method{Kind: "hra"}, hra.Config{R: 8}, false, "hra r=8"},
		{Method{Kind: "HRA", R: 4, Lambda: 1e-4}, hra.Config{R: 4, Lambda: 1e-4}, false, "hra r=4 lambda=0.0001"},
		{Method{Kind: "hra", GS: true}, hra.Config{R: 8, GS: true, Init: hra.RandomInit}, false, "hra r=8 gs"},
		{Method{Kind: "lora"}, lora.Config{R: 8, Alpha: 16}, false, "lora r=8 alpha=16"},
		{Method{Kind: "lora", R: 4, Alpha: 4}, lora.Config{R: 4, Alpha: 4}, false, "lora r=4 alpha=4"},
		{Method{Kind: "oft"}, oft.Config{BlockSize: 32}, false, "oft block=32"},
		{Method{Kind: "oft", R: 4}, oft.Config{R: 4}, false, "oft r=4"},
		{Method{Kind: "oft", BlockSize: 16}, oft.Config{BlockSize: 16}, false, "oft block=16"},
		{Method{Kind: "head"}, nil, false, "head"},
		{Method{Kind: "none"}, nil, false, "head"},
		{Method{Kind: "full"}, nil, true, "full"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			adapter, full, err := tt.method.Adapter()
			require.NoError(t, err)
			assert.Equal(t, tt.adapter, adapter)
			assert.Equal(t, tt.full, full)
			assert.Equal(t, tt.desc, tt.method.String())
		})
	}
}

func TestMethodAdapterErrors(t *testing.T) {
	tests := []struct {
		name   string
		method Method
		want   error
	}{
		{"unknown kind", Method{Kind: "prefix"}, ErrInvalidJob},
		{"lambda on lora", Method{Kind: "lora", Lambda: 1}, ErrInvalidJob},
		{"gs on oft", Method{Kind: "oft", GS: true}, ErrInvalidJob},
		{"alpha on hra", Method{Kind: "hra", Alpha: 2}, ErrInvalidJob},
		{"block size on lora", Method{Kind: "lora", BlockSize: 4}, ErrInvalidJob},
		{"r on full", Method{Kind: "full", R: 2}, ErrInvalidJob},
		{"odd paired hra", Method{Kind: "hra", R: 3}, peft.ErrInvalidConfig},
		{"negative rank", Method{Kind: "lora", R: -1}, peft.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := tt.method.Adapter()
			require.Error(t, err)
			assert.True(t, errors.Is(err, tt.want), "%v", err)
			assert.NotContains(t, err.Error(), "RandomInit", "no flag sets it")
		})
	}
}

func TestParseTargets(t *testing.T) {
	assert.Equal(t, peft.DefaultBertTargets, ParseTargets(""))
	assert.Equal(t, peft.DefaultBertTargets, ParseTargets(" query , value "))
	got := ParseTargets("query,key,,attention.output.dense")
	assert.Equal(t, []string{"query", "key", "attention.output.dense"}, got.Modules)
	assert.Equal(t, peft.DefaultBertTargets.ModulesToSave, got.ModulesToSave)
}
