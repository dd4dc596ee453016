package peft

import "slices"

// defaultTargetModules are PEFT's target_modules when a configuration names none, by model_type
// (TRANSFORMERS_MODELS_TO_{LORA,HRA,OFT}_TARGET_MODULES_MAPPING in peft/utils/constants.py, the
// same for the three methods), for the members of the BERT family this module runs. PEFT has no
// entry for DistilBERT and refuses a configuration without target_modules there; its query and
// value projections are the analogue, and SaveAdapter always writes the modules explicitly.
var defaultTargetModules = map[string][]string{
	"bert":        {"query", "value"},
	"roberta":     {"query", "value"},
	"xlm-roberta": {"query", "value"},
	"electra":     {"query", "value"},
	"distilbert":  {"q_lin", "v_lin"},
	"deberta-v2":  {"query_proj", "value_proj"},
}

// DefaultTargetModules returns the modules adapted when Targets names none for a model of the
// given model_type: PEFT's default (query and value for BERT, RoBERTa, XLM-RoBERTa and ELECTRA,
// query_proj and value_proj for DeBERTa-v2), q_lin and v_lin for DistilBERT, and BERT's for a
// model type it does not know.
func DefaultTargetModules(modelType string) []string {
	if m, ok := defaultTargetModules[modelType]; ok {
		return slices.Clone(m)
	}
	return slices.Clone(defaultTargetModules["bert"])
}
