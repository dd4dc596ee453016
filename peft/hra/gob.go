package hra

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

// gobModel is what gob stores of a Model: its exported fields and the merge state, without which
// a merged adapter would apply H a second time after loading.
type gobModel struct {
	Base   *linear.Model
	U      *nn.Param
	Config Config
	Merged bool
	Name   string
}

// GobEncode stores the adapter with its merge state, for spago's nn.Dump.
func (m *Model) GobEncode() ([]byte, error) {
	return gobstate.Encode(gobModel{Base: m.Base, U: m.U, Config: m.Config, Merged: m.merged, Name: m.name})
}

// GobDecode restores an adapter stored by GobEncode, checking that its parts fit together.
func (m *Model) GobDecode(data []byte) error {
	var g gobModel
	if err := gobstate.Decode(data, &g, "hra"); err != nil {
		return err
	}
	if g.Base == nil || g.Base.W == nil || g.Base.B == nil || g.U == nil {
		return fmt.Errorf("%w: hra: decoded adapter lacks its base layer or U", peft.ErrInvalidParams)
	}
	if err := g.Config.Validate(); err != nil {
		return err
	}
	_, in := op.Dims(g.Base.W)
	if rows, cols := op.Dims(g.U); rows != in || cols != g.Config.R {
		return fmt.Errorf("%w: hra: decoded U is %d×%d, the layer needs %d×%d", peft.ErrInvalidParams, rows, cols, in, g.Config.R)
	}
	*m = Model{Base: g.Base, U: g.U, Config: g.Config, merged: g.Merged, name: g.Name}
	return adapterkit.Attach(m.Base, m)
}
