package bert

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDropoutSiteHook checks what DropoutSiteHook reports of a training pass: every site in
// forward order (the embeddings; per layer the attention probabilities, the attention output and
// the feed-forward output; the pooled output before the classifier) with its kind, keys and
// sizes, without changing the pass's result.
func TestDropoutSiteHook(t *testing.T) {
	ck := loadTinyBERT(t)
	cfg := ck.Config
	m := must(New(ck, Options{HiddenDropout: 0.2, AttentionDropout: 0.3, Seed: 3}))
	m.SetTraining(true)
	b := withKeys([]int{0, 1, 2}, 10, 11, 12)
	want := logitValues(t, m, b)

	var sites []DropoutSite
	DropoutSiteHook = func(s DropoutSite) { sites = append(sites, s) }
	t.Cleanup(func() { DropoutSiteHook = nil })
	assert.Equal(t, want, logitValues(t, m, b), "the hook changes nothing")

	lengths := []int{7, 9, 3}
	sizes := func(f func(l int) int) []int {
		var s []int
		for _, l := range lengths {
			s = append(s, f(l))
		}
		return s
	}
	h, heads := cfg.HiddenSize, cfg.NumAttentionHeads
	tokens := sizes(func(l int) int { return l * h })
	type site struct {
		kind  string
		sizes []int
	}
	wantSites := []site{{"tokens", tokens}}
	for range cfg.NumHiddenLayers {
		wantSites = append(wantSites, site{"attention", sizes(func(l int) int { return heads * l * l })}, site{"tokens", tokens}, site{"tokens", tokens})
	}
	wantSites = append(wantSites, site{"sequences", sizes(func(int) int { return h })})
	require.Len(t, sites, len(wantSites))
	for i, s := range sites {
		assert.Equal(t, i+1, s.Index)
		assert.Equal(t, wantSites[i].kind, s.Kind, "site %d", i+1)
		assert.Equal(t, wantSites[i].sizes, s.Sizes, "site %d", i+1)
		assert.Equal(t, []uint64{10, 11, 12}, s.Keys, "site %d", i+1)
	}
}

// TestDropoutSiteTwin checks that the generator the hook receives draws what the site's own
// generator draws, across the switch from one sequence to the next.
func TestDropoutSiteTwin(t *testing.T) {
	var twin DropoutSite
	DropoutSiteHook = func(s DropoutSite) { twin = s }
	t.Cleanup(func() { DropoutSiteHook = nil })
	d := &masks{seed: 5, keys: []uint64{7, 8}, lengths: []int{2, 3}}
	d.tokens(1) // a first site, so that the second one's generator differs from it
	rng := d.attention(2)
	require.Equal(t, 2, twin.Index)
	require.Equal(t, []int{8, 18}, twin.Sizes)
	for i := range 26 {
		require.Equal(t, rng.Float64(), twin.Rand.Float64(), "draw %d", i)
	}
}

// Float64 is rand.Rand.Float64 over these draws, for tests that compare them with the hook's.
func (s *sequenceSource) Float64() float64 {
	return float64(s.Uint64()<<11>>11) / (1 << 53)
}
