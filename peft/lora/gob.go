package lora

import (
	"encoding/gob"
	"fmt"

	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/internal/gobstate"
	"github.com/spago-peft/spago-peft/internal/op"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/internal/adapterkit"
)

// Registered, the adapter can sit in a field of interface type, such as nn.StandardModel, of a
// model saved by spago's nn.Dump or nn.DumpToFile.
func init() { gob.Register(&Model{}) }

// gobModel is what gob stores of a Model: its exported fields, and the merge state, training mode
// and dropout generator's state, which gob would otherwise drop.
type gobModel struct {
	Base     *linear.Model
	A, B     *nn.Param
	Config   Config
	Merged   bool
	Training bool
	Name     string
	MaskPCG  []byte
}

// GobEncode stores the adapter with its merge state, training mode and dropout generator, for
// spago's nn.Dump.
func (m *Model) GobEncode() ([]byte, error) {
	m.maskMu.Lock()
	defer m.maskMu.Unlock()
	return gobstate.Encode(gobModel{Base: m.Base, A: m.A, B: m.B, Config: m.Config, Merged: m.merged,
		Training: m.training, Name: m.name, MaskPCG: gobstate.PCG(m.maskSrc)})
}

// GobDecode restores an adapter stored by GobEncode, checking that its parts fit together.
func (m *Model) GobDecode(data []byte) error {
	var g gobModel
	if err := gobstate.Decode(data, &g, "lora"); err != nil {
		return err
	}
	if g.Base == nil || g.Base.W == nil || g.Base.B == nil || g.A == nil || g.B == nil {
		return fmt.Errorf("%w: lora: decoded adapter lacks its base layer, A or B", peft.ErrInvalidParams)
	}
	if err := g.Config.Validate(); err != nil {
		return err
	}
	out, in := op.Dims(g.Base.W)
	ar, ac := op.Dims(g.A)
	br, bc := op.Dims(g.B)
	if ar != g.Config.R || ac != in || br != out || bc != g.Config.R {
		return fmt.Errorf("%w: lora: decoded A is %d×%d and B %d×%d, the layer needs %d×%d and %d×%d",
			peft.ErrInvalidParams, ar, ac, br, bc, g.Config.R, in, out, g.Config.R)
	}
	src, err := gobstate.NewPCG(g.MaskPCG)
	if err != nil {
		return fmt.Errorf("%w: lora: decoded dropout generator: %v", peft.ErrInvalidParams, err)
	}
	*m = Model{Base: g.Base, A: g.A, B: g.B, Config: g.Config, merged: g.Merged, training: g.Training, name: g.Name}
	m.setMaskSource(src)
	return adapterkit.Attach(m.Base, m)
}
