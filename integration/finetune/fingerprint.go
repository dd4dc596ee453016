package finetune

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/spago-peft/spago-peft/integration/checkpoint"
)

// Keys of the identity of the base that SaveAdapter writes to adapter_model.safetensors'
// __metadata__ map (which PEFT ignores), and LoadAdapter checks.
const (
	// MetaBaseModel is the base's name as the job gave it (a hub name, or a path as typed).
	MetaBaseModel = "spago_peft.base_model"
	// MetaBaseFingerprint is Fingerprint of the base.
	MetaBaseFingerprint = "spago_peft.base_fingerprint"
)

// fingerprintSamples is how many values of each tensor Fingerprint reads: enough that any
// retraining or another checkpoint changes it, few enough that a BERT-base costs milliseconds.
const fingerprintSamples = 4096

// Fingerprint identifies a base checkpoint: a hash of its architecture (the config's sizes and
// activation, not its label names) and of its tensors' names, shapes and values, up to
// fingerprintSamples values per tensor taken at an even stride. It depends on the values as
// loaded, not on the file format, so the same weights in model.safetensors or pytorch_model.bin
// have the same fingerprint.
func Fingerprint(ck *checkpoint.Checkpoint) string {
	h := sha256.New()
	c := ck.Config
	fmt.Fprintf(h, "bert vocab=%d hidden=%d layers=%d heads=%d intermediate=%d act=%s positions=%d types=%d eps=%g\n",
		c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize, c.HiddenAct,
		c.MaxPositionEmbeddings, c.TypeVocabSize, c.LayerNormEps)
	names := make([]string, 0, len(ck.Tensors))
	for name := range ck.Tensors {
		names = append(names, name)
	}
	slices.Sort(names)
	var buf [4]byte
	for _, name := range names {
		t := ck.Tensors[name]
		fmt.Fprintf(h, "%s %s\n", name, strings.Trim(fmt.Sprint(t.Shape), "[]"))
		stride := max(1, len(t.Data)/fingerprintSamples)
		for i := 0; i < len(t.Data); i += stride {
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(t.Data[i]))
			h.Write(buf[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
