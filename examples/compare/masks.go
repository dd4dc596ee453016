package main

import (
	"encoding/json"
	"io"
	"sync"

	"github.com/spago-peft/spago-peft/integration/bert"
)

// maskRecord is the JSON line that heads one dropout site of one training forward pass in
// --masks; the packed masks of its sequences follow it (see maskWriter).
type maskRecord struct {
	Method string `json:"method"`
	Seed   uint64 `json:"seed"`
	// Site counts the sites of the pass from 1, in forward order; Kind is bert.DropoutSite's.
	Site int    `json:"site"`
	Kind string `json:"kind"`
	// P is the site's dropout probability: a kept value is scaled by 1/(1−P).
	P float64 `json:"p"`
	// Keys and Sizes hold, per sequence, its dropout key (train.Fit's: the example's place in
	// the run, from 0) and its number of mask values.
	Keys  []uint64 `json:"keys"`
	Sizes []int    `json:"sizes"`
}

// maskWriter writes --masks: for every dropout site of every training forward pass of one run,
// a maskRecord line followed, for each sequence, by its mask packed 8 values a byte, first value
// in the highest bit (numpy.unpackbits's order), 1 where the value is kept, the last byte padded
// with zeros. A nil writer makes it do nothing.
type maskWriter struct {
	mu              sync.Mutex // sites come from the goroutines of a batch's workers
	w               io.Writer
	method          string
	seed            uint64
	hidden, attnDrp float64
	err             error // the first write error
}

// site records s, drawing its masks from s's twin generator as the dropout operators draw them.
// The probability is the hidden or attention dropout's: compare trains no adapter with a dropout
// of its own (LoRA's lora_dropout stays 0), whose sites would need the adapter's.
func (mw *maskWriter) site(s bert.DropoutSite) {
	p := mw.hidden
	if s.Kind == "attention" {
		p = mw.attnDrp
	}
	var packed []byte
	for _, n := range s.Sizes {
		packed = append(packed, packMask(s.Rand, n, p)...)
	}
	mw.mu.Lock()
	defer mw.mu.Unlock()
	if mw.err != nil {
		return
	}
	rec := maskRecord{Method: mw.method, Seed: mw.seed, Site: s.Index, Kind: s.Kind, P: p, Keys: s.Keys, Sizes: s.Sizes}
	if mw.err = json.NewEncoder(mw.w).Encode(rec); mw.err == nil {
		_, mw.err = mw.w.Write(packed)
	}
}

// packMask draws n values from rng as the dropout operators do (dropped where the draw is below
// p) and packs the kept ones as 1 bits, most significant bit first.
func packMask(rng interface{ Float64() float64 }, n int, p float64) []byte {
	out := make([]byte, (n+7)/8)
	for i := range n {
		if rng.Float64() >= p {
			out[i/8] |= 0x80 >> (i % 8)
		}
	}
	return out
}
