package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
)

var errCorrupt, errUnsupported = errors.New("corrupt"), errors.New("unsupported")

// registrations numbers the methods the tests register.
var registrations atomic.Int64

func TestRegisterRefusesIncompleteAndDuplicate(t *testing.T) {
	// A name of this run's own: the registry is global, and -count=N runs the test N times.
	dup := fmt.Sprintf("TEST-DUP-%d", registrations.Add(1))
	complete := Method{
		PeftType:     dup,
		EncodeConfig: func(any) (map[string]any, error) { return nil, nil },
		DecodeConfig: func(*Fields) (any, error) { return nil, nil },
		State:        func(any) (State, bool) { return State{}, false },
	}
	for name, m := range map[string]Method{"incomplete": {PeftType: "TEST-INCOMPLETE"}, "duplicate": complete} {
		if name == "duplicate" {
			Register(complete)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Register did not panic", name)
				}
			}()
			Register(m)
		}()
	}
	if _, _, ok := Lookup(dup); !ok {
		t.Error("registered method not found")
	}
	if _, known, ok := Lookup("NONE"); ok || len(known) == 0 {
		t.Errorf("Lookup of an unknown type: ok %v, known %v", ok, known)
	}
}

func TestFields(t *testing.T) {
	raw := map[string]json.RawMessage{}
	if err := json.Unmarshal([]byte(`{"peft_version":"0.21.2","r":4,"bad":"x","off":null,"empty":[],"on":true}`), &raw); err != nil {
		t.Fatal(err)
	}
	f, err := NewFields("T", raw, errCorrupt, errUnsupported)
	if err != nil || f.PEFTVersion() != "0.21.2" {
		t.Fatalf("NewFields: %v, version %q", err, f.PEFTVersion())
	}
	var r int
	if ok, err := f.Decode("r", &r); !ok || err != nil || r != 4 {
		t.Errorf("Decode r: %v %v %d", ok, err, r)
	}
	if _, err := f.Decode("bad", &r); !errors.Is(err, errCorrupt) {
		t.Errorf("Decode of a string into an int: %v, want the corrupt error", err)
	}
	if ok, err := f.Decode("absent", &r); ok || err != nil {
		t.Errorf("Decode of an absent key: %v %v", ok, err)
	}
	// "on" is unused and true: loading must refuse it rather than ignore it.
	if err := f.CheckUnused(); !errors.Is(err, errUnsupported) {
		t.Errorf("CheckUnused: %v, want the unsupported error naming \"on\"", err)
	}
	f.MarkUsed("on")
	if err := f.CheckUnused(); err != nil {
		t.Errorf("CheckUnused with only off keys left: %v", err)
	}
	if _, err := NewFields("T", map[string]json.RawMessage{"peft_version": json.RawMessage(`1`)}, errCorrupt, errUnsupported); !errors.Is(err, errCorrupt) {
		t.Errorf("a numeric peft_version: %v, want the corrupt error", err)
	}
}
