package oft

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
// and module-dropout generator's state, which gob would otherwise drop. The block form, whose
// absence made a reloaded adapter divide by zero, is rebuilt from Config and the layer.
type gobModel struct {
	Base       *linear.Model
	R          *nn.Param
	Config     Config
	Merged     bool
	Training   bool
	Name       string
	DropoutPCG []byte
}

// GobEncode stores the adapter with its merge state, training mode and dropout generator, for
// spago's nn.Dump.
func (m *Model) GobEncode() ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return gobstate.Encode(gobModel{Base: m.Base, R: m.R, Config: m.Config, Merged: m.merged,
		Training: m.training, Name: m.name, DropoutPCG: gobstate.PCG(m.dropoutSrc)})
}

// GobDecode restores an adapter stored by GobEncode, rebuilding the block form from its Config
// and checking that its parts fit together.
func (m *Model) GobDecode(data []byte) error {
	var g gobModel
	if err := gobstate.Decode(data, &g, "oft"); err != nil {
		return err
	}
	if g.Base == nil || g.Base.W == nil || g.Base.B == nil || g.R == nil {
		return fmt.Errorf("%w: oft: decoded adapter lacks its base layer or R", peft.ErrInvalidParams)
	}
	if err := g.Config.Validate(); err != nil {
		return err
	}
	_, in := op.Dims(g.Base.W)
	b, err := g.Config.blockSize(in)
	if err != nil {
		return err
	}
	rows := in / b
	if g.Config.BlockShare {
		rows = 1
	}
	if r, c := op.Dims(g.R); r != rows || c != pairs(b) {
		return fmt.Errorf("%w: oft: decoded R is %d×%d, the layer needs %d×%d", peft.ErrInvalidParams, r, c, rows, pairs(b))
	}
	src, err := gobstate.NewPCG(g.DropoutPCG)
	if err != nil {
		return fmt.Errorf("%w: oft: decoded dropout generator: %v", peft.ErrInvalidParams, err)
	}
	*m = Model{Base: g.Base, R: g.R, Config: g.Config, form: newForm(b, g.Config), merged: g.Merged, training: g.Training, name: g.Name}
	if g.Config.ModuleDropout > 0 {
		m.setDropoutSource(src)
	}
	return adapterkit.Attach(m.Base, m)
}
