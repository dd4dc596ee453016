package oft

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/internal/registry"
)

// The file format of OFT adapters, as PEFT's OFTConfig and OFTLayer (OFT v2, PEFT ≥ 0.14) write
// them: the options r, oft_block_size, module_dropout, coft, eps, block_share, use_cayley_neumann
// and num_cayley_neumann_terms, and one tensor per layer, oft_R.weight (blocks×b(b−1)/2). A
// Neumann file is read only with the series of the PEFT that wrote it (see checkNeumann).
func init() {
	registry.Register(registry.Method{
		PeftType:     Config{}.PeftType(),
		EncodeConfig: encodeConfig,
		DecodeConfig: decodeConfig,
		State:        state,
	})
}

// encodeConfig maps c to PEFT's keys.
func encodeConfig(c any) (map[string]any, error) {
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
func decodeConfig(f *registry.Fields) (any, error) {
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
	if c.UseCayleyNeumann {
		if err := checkNeumann(f, c.NumCayleyNeumannTerms); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// neumannChanged is the PEFT release whose Neumann series this package computes: 0.18.0 changed
// the series for 3 terms or more (from I + 2Q + … + 2Q^(T−1) to I + 2Q + … + 2Q^(T−2) + Q^(T−1)),
// and started writing peft_version.
var neumannChanged = [2]int{0, 18}

// checkNeumann refuses the Neumann files whose rotation this package would compute differently
// from the PEFT that trained them: those of PEFT before 0.18 (no peft_version) with 3 terms or
// more, and those with fewer than 2 terms, which PEFT computes as the identity whatever the
// weights.
func checkNeumann(f *registry.Fields, terms int) error {
	if terms < 2 {
		return f.Unsupported("num_cayley_neumann_terms", "with use_cayley_neumann and fewer than 2 terms PEFT's rotation is the identity whatever the weights (the adapter does nothing); use 2 or more, or use_cayley_neumann = false")
	}
	if terms < 3 {
		return nil // the series of PEFT < 0.18 and ≥ 0.18 agree up to 2 terms
	}
	version := f.PEFTVersion()
	if major, minor, ok := parseVersion(version); ok && (major > neumannChanged[0] || major == neumannChanged[0] && minor >= neumannChanged[1]) {
		return nil
	}
	written := "no peft_version, so it was written by PEFT before 0.18"
	if version != "" {
		written = "peft_version " + version
	}
	return fmt.Errorf("%w: OFT option use_cayley_neumann with num_cayley_neumann_terms = %d, and %s: PEFT 0.18 changed the Neumann series, "+
		"so this package (PEFT ≥ 0.18 semantics) would compute another rotation from these weights than the one they were trained with; "+
		"merge the adapter with the PEFT that trained it (merge_and_unload) or retrain it. A file written by this package before it wrote peft_version "+
		"has PEFT 0.18 semantics: add \"peft_version\": %q to its adapter_config.json",
		peft.ErrUnsupported, terms, written, peft.PEFTVersion)
}

// parseVersion reads the major and minor numbers of a version such as "0.21.2" or
// "0.18.1.dev0@abc123".
func parseVersion(v string) (major, minor int, ok bool) {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(strings.TrimRightFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	return major, minor, err1 == nil && err2 == nil
}

func state(a any) (registry.State, bool) {
	m, ok := a.(*Model)
	if !ok {
		return registry.State{}, false
	}
	return registry.State{Config: m.Config, Params: map[string]*nn.Param{"oft_R.weight": m.R}}, true
}
