package oft

import (
	"fmt"

	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/peft"
)

// The file format of OFT adapters, as PEFT's OFTConfig and OFTLayer (OFT v2, PEFT ≥ 0.14) write
// them: the options r, oft_block_size, module_dropout, coft, eps, block_share, use_cayley_neumann
// and num_cayley_neumann_terms, and one tensor per layer, oft_R.weight (blocks×b(b−1)/2).
func init() {
	peft.RegisterMethod(peft.Method{
		PeftType:     Config{}.PeftType(),
		EncodeConfig: encodeConfig,
		DecodeConfig: decodeConfig,
		State:        state,
	})
}

// encodeConfig maps c to PEFT's keys.
func encodeConfig(c peft.Config) (map[string]any, error) {
	oc, ok := c.(Config)
	if !ok {
		return nil, fmt.Errorf("%w: oft: configuration of type %T", peft.ErrInvalidConfig, c)
	}
	return map[string]any{
		"r":                        oc.R,
		"oft_block_size":           oc.BlockSize,
		"module_dropout":           oc.ModuleDropout,
		"coft":                     oc.COFT,
		"eps":                      oc.Eps,
		"block_share":              oc.BlockShare,
		"use_cayley_neumann":       oc.UseCayleyNeumann,
		"num_cayley_neumann_terms": oc.NumCayleyNeumannTerms,
		"init_weights":             true,
		"fan_in_fan_out":           false,
	}, nil
}

// decodeConfig reads PEFT's keys, with PEFT's defaults for absent ones (r 0, module_dropout 0,
// coft false, eps 6e-5, block_share false, use_cayley_neumann true, num_cayley_neumann_terms 5).
// A file without oft_block_size was written by PEFT before 0.14 for OFT v1, whose parameters
// differ, and is refused as PEFT refuses it. init_weights=false (a random start) is refused: the
// Config has no such start.
func decodeConfig(f *peft.ConfigFields) (peft.Config, error) {
	if ok, err := f.Decode("oft_block_size", new(int)); err != nil {
		return nil, err
	} else if !ok {
		return nil, fmt.Errorf("%w: OFT without oft_block_size was written by PEFT < 0.14 (OFT v1), whose weights OFT v2 cannot use",
			peft.ErrUnsupported)
	}
	c := Config{Eps: 6e-5, UseCayleyNeumann: true, NumCayleyNeumannTerms: 5}
	for key, dst := range map[string]any{
		"r": &c.R, "oft_block_size": &c.BlockSize, "module_dropout": &c.ModuleDropout, "coft": &c.COFT, "eps": &c.Eps,
		"block_share": &c.BlockShare, "use_cayley_neumann": &c.UseCayleyNeumann, "num_cayley_neumann_terms": &c.NumCayleyNeumannTerms,
	} {
		if _, err := f.Decode(key, dst); err != nil {
			return nil, err
		}
	}
	initWeights := true
	if _, err := f.Decode("init_weights", &initWeights); err != nil {
		return nil, err
	}
	if !initWeights {
		return nil, f.Unsupported("init_weights", "only the identity start (true) is supported")
	}
	return c, nil
}

func state(a peft.Adapter) (peft.AdapterState, bool) {
	m, ok := a.(*Model)
	if !ok {
		return peft.AdapterState{}, false
	}
	return peft.AdapterState{Config: m.Config, Params: map[string]*nn.Param{"oft_R.weight": m.R}}, true
}
