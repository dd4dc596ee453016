package hfjson

import (
	"slices"
	"strings"
)

// trie finds the vocabulary pieces that start a string (common-prefix search), so that the
// Unigram lattice costs one step per byte instead of one hash per candidate length.
type trie struct {
	nodes []trieNode
	edges []trieEdge // each node's edges, sorted by label
}

type trieNode struct {
	first, count int32 // the node's edges: edges[first : first+count]
	id           int32 // the piece ending here, or -1
}

type trieEdge struct {
	label byte
	child int32
}

// newTrie indexes pieces by their bytes; ids are positions in pieces.
func newTrie(pieces []string) *trie {
	// Insert in sorted order, so that a node only ever gains edges after its last one.
	type buildNode struct {
		edges []trieEdge
		id    int32
	}
	order := make([]int, len(pieces))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(pieces[a], pieces[b]) })
	build := []buildNode{{id: -1}}
	for _, id := range order {
		p, n := pieces[id], 0
		for i := 0; i < len(p); i++ {
			es := build[n].edges
			if k := len(es); k > 0 && es[k-1].label == p[i] {
				n = int(es[k-1].child)
				continue
			}
			build = append(build, buildNode{id: -1})
			child := int32(len(build) - 1)
			build[n].edges = append(build[n].edges, trieEdge{p[i], child})
			n = int(child)
		}
		build[n].id = int32(id)
	}
	t := &trie{nodes: make([]trieNode, len(build))}
	for i, b := range build {
		t.nodes[i] = trieNode{first: int32(len(t.edges)), count: int32(len(b.edges)), id: b.id}
		t.edges = append(t.edges, b.edges...)
	}
	return t
}

// prefixes calls f with the end and id of every piece that s[start:] begins with, shortest first.
func (t *trie) prefixes(s string, start int, f func(end, id int)) {
	n := &t.nodes[0]
	for i := start; i < len(s); i++ {
		es := t.edges[n.first : n.first+n.count]
		c := s[i]
		lo, hi := 0, len(es) // binary search for the first label >= c
		for lo < hi {
			mid := int(uint(lo+hi) >> 1)
			if es[mid].label < c {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		if lo == len(es) || es[lo].label != c {
			return
		}
		n = &t.nodes[es[lo].child]
		if n.id >= 0 {
			f(i+1, int(n.id))
		}
	}
}
