package train

import "strings"

// entity is a chunk of a tag sequence: its type and the indices of its first and last tag.
type entity struct {
	typ        string
	start, end int
}

// entities returns the chunks of an IOB2 (or IOBES) tag sequence as seqeval's get_entities finds
// them in its default, lenient mode: a chunk starts at a B- or S- tag, or at an I- or E- tag that
// does not continue a chunk of its type, and ends before a tag that does not continue it.
func entities(tags []string) []entity {
	var out []entity
	prevTag, prevType, begin := "O", "", 0
	for i := 0; i <= len(tags); i++ {
		tag, typ := "O", ""
		if i < len(tags) {
			tag, typ = splitTag(tags[i])
		}
		if chunkEnds(prevTag, tag, prevType, typ) {
			out = append(out, entity{prevType, begin, i - 1})
		}
		if chunkStarts(prevTag, tag, prevType, typ) {
			begin = i
		}
		prevTag, prevType = tag, typ
	}
	return out
}

// splitTag splits "B-PER" into "B" and "PER"; "O" and other tags without a dash are "O".
func splitTag(t string) (string, string) {
	prefix, typ, ok := strings.Cut(t, "-")
	if !ok || t == "O" {
		return "O", ""
	}
	return prefix, typ
}

func chunkEnds(prevTag, tag, prevType, typ string) bool {
	switch {
	case prevTag == "E" || prevTag == "S":
		return true
	case (prevTag == "B" || prevTag == "I") && (tag == "B" || tag == "S" || tag == "O"):
		return true
	}
	return prevTag != "O" && prevType != typ
}

func chunkStarts(prevTag, tag, prevType, typ string) bool {
	switch {
	case tag == "B" || tag == "S":
		return true
	case (prevTag == "E" || prevTag == "S" || prevTag == "O") && (tag == "E" || tag == "I"):
		return true
	}
	return tag != "O" && prevType != typ
}

// entityCounts accumulates seqeval's micro-averaged counts over sentences.
type entityCounts struct{ gold, pred, correct int }

// add counts the entities of one sentence's gold and predicted tags.
func (c *entityCounts) add(gold, pred []string) {
	g, p := entities(gold), entities(pred)
	c.gold += len(g)
	c.pred += len(p)
	set := make(map[entity]bool, len(g))
	for _, e := range g {
		set[e] = true
	}
	for _, e := range p {
		if set[e] {
			c.correct++
		}
	}
}

// scores returns precision, recall and F1, each 0 when undefined (as seqeval with
// zero_division=0).
func (c entityCounts) scores() (precision, recall, f1 float64) {
	if c.pred > 0 {
		precision = float64(c.correct) / float64(c.pred)
	}
	if c.gold > 0 {
		recall = float64(c.correct) / float64(c.gold)
	}
	if precision+recall > 0 {
		f1 = 2 * precision * recall / (precision + recall)
	}
	return precision, recall, f1
}
