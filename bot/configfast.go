package bot

import (
	"bytes"
	"slices"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// A config of 100,000 events is mostly its `events:` list, and a YAML
// node tree of the whole file costs seconds and hundreds of megabytes.
// ParseConfig therefore reads that list one entry at a time: the file
// without the list's lines is parsed as usual, and each entry is turned
// into the few nodes it has, by a line reader for the common shape (plain
// one-line values, flow lists of plain values) or by the YAML library on
// that entry's text alone. The nodes are then checked by the same code as
// always (configParser.event) and dropped. Anything unusual (an anchor
// used across entries, a `---`, text this split cannot place) or any
// mistake at all makes ParseConfig read the whole file the ordinary way
// again, so errors and their lines are exactly as before.

// fastEvents turns the entry-by-entry reading on; tests turn it off to
// compare both ways.
var fastEvents = true

// eventsBlock is a file split around its top-level `events:` list.
type eventsBlock struct {
	data    []byte       // the whole file
	rest    []byte       // the file with the list's lines left blank, so lines keep their numbers
	indent  int          // column (from 0) of each entry's "-"
	entries []entryChunk // in file order
}

// entryChunk is the text of one entry of the list, from its "-" line up
// to the next entry (comments and blank lines included).
type entryChunk struct {
	start, end int // offsets in the file
	line       int // of its "-"
}

// splitEventsBlock finds the block-style `events:` list at the top level
// of data and its entries; false when the file has no such list or one
// this split is not sure to read as YAML does.
func splitEventsBlock(data []byte) (eventsBlock, bool) {
	var blk eventsBlock
	const (
		before = iota
		inBlock
		after
	)
	state := before
	start, end := -1, len(data) // the list's bytes, after the `events:` line
	var starts []int            // offset of each entry's "-" line
	lineNo, blockLines := 0, 0
	for pos, next := 0, 0; pos < len(data); pos = next {
		lineNo++
		next = len(data)
		if nl := bytes.IndexByte(data[pos:], '\n'); nl >= 0 {
			next = pos + nl + 1
		}
		line := bytes.TrimSuffix(bytes.TrimSuffix(data[pos:next], []byte{'\n'}), []byte{'\r'})
		if state != inBlock {
			if len(line) > 0 && line[0] == '%' {
				return blk, false // directives: leave the file to the library
			}
			if key, ok := bytes.CutPrefix(line, []byte("events:")); ok && blankOrComment(key) {
				if state == after {
					return blk, false // a second `events:` is the ordinary parser's to report
				}
				state, start = inBlock, next
			}
			continue
		}
		body := bytes.TrimLeft(line, " ")
		if len(body) > 0 && body[0] != '#' && line[0] != ' ' && line[0] != '-' {
			state, end = after, pos // the next top-level key
			continue
		}
		blockLines++
		if len(body) == 0 || body[0] == '#' {
			continue // blank or comment: part of the current entry
		}
		if bytes.HasPrefix(line, []byte("---")) {
			return blk, false
		}
		indent := len(line) - len(body)
		item := body[0] == '-' && (len(body) == 1 || body[1] == ' ')
		switch {
		case len(starts) == 0 && item:
			blk.indent = indent
		case len(starts) == 0, indent < blk.indent, indent == blk.indent && !item:
			return blk, false
		case indent > blk.indent:
			continue // inside the current entry
		}
		starts = append(starts, pos)
		blk.entries = append(blk.entries, entryChunk{line: lineNo})
	}
	if len(starts) == 0 {
		return blk, false
	}
	blk.data = data
	for i := range blk.entries {
		to := end
		if i+1 < len(starts) {
			to = starts[i+1]
		}
		blk.entries[i].start, blk.entries[i].end = starts[i], to
	}
	rest := make([]byte, 0, start+blockLines+len(data)-end)
	rest = append(rest, data[:start]...)
	rest = append(rest, bytes.Repeat([]byte{'\n'}, blockLines)...)
	blk.rest = append(rest, data[end:]...)
	return blk, true
}

// blankOrComment reports whether the rest of a line after a key's colon
// holds nothing but spaces and a comment.
func blankOrComment(s []byte) bool {
	t := bytes.TrimLeft(s, " ")
	return len(t) == 0 || t[0] == '#' && len(t) < len(s)
}

// libraryGroup bounds how many entries in a row the YAML library reads
// as one text: one call per entry costs a parser each, one per file a
// tree of the whole list.
const libraryGroup = 256

// each calls fn with the mapping node of every entry of the list, in
// order, with the lines and columns the whole file's tree would give it.
// Entries of the common shape are read by plainEntry; runs of the others
// by the library, on their text alone. It returns false, having stopped,
// when such a run is not a list of mappings the library reads on its own
// (an alias to another entry's anchor, say).
//
// The nodes of plain entries are reused for the next entry: fn must not
// keep them (configParser.event keeps only values and lines).
func (blk *eventsBlock) each(fn func(n *yaml.Node)) bool {
	a := &nodeArena{nodes: make([]yaml.Node, 0, 32), ptrs: make([]*yaml.Node, 0, 64)}
	for i := 0; i < len(blk.entries); {
		if n, ok := plainEntry(blk.data, blk.entries[i], blk.indent, a); ok {
			fn(n)
			i++
			continue
		}
		j := i + 1
		var next *yaml.Node // the plain entry that ends the run
		for ; j < len(blk.entries) && j-i < libraryGroup; j++ {
			if n, ok := plainEntry(blk.data, blk.entries[j], blk.indent, a); ok {
				next = n
				break
			}
		}
		nodes, ok := blk.library(i, j)
		if !ok {
			return false
		}
		for _, n := range nodes {
			fn(n)
		}
		if next != nil {
			fn(next)
			j++
		}
		i = j
	}
	return true
}

// library reads entries [i, j) with the YAML library.
func (blk *eventsBlock) library(i, j int) ([]*yaml.Node, bool) {
	first, last := blk.entries[i], blk.entries[j-1]
	text := blk.data[first.start:last.end]
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, false
	}
	seq := doc.Content[0]
	if seq.Kind != yaml.SequenceNode || len(seq.Content) != j-i {
		return nil, false
	}
	for _, n := range seq.Content {
		if n.Kind != yaml.MappingNode {
			return nil, false
		}
		shiftLines(n, first.line-1)
	}
	return seq.Content, true
}

// shiftLines moves a tree parsed from an entry's text alone to the
// entry's place in the file.
func shiftLines(n *yaml.Node, by int) {
	n.Line += by
	for _, c := range n.Content {
		shiftLines(c, by)
	}
}

// plainKeys are the event fields plainEntry reads: single values, and
// (flowKeys) flow lists of single values. Others go to the library.
var (
	plainKeys = []string{"id", "title", "due", "timezone", "status", "source"}
	flowKeys  = []string{"tags", "lead_times"}
)

// plainEntry reads an entry of the common shape without the YAML library:
//
//   - id: g7-summit
//     title: G7 summit
//     due: 2026-06
//     tags: [g7, japan]
//
// one key per line at the entry's indent, each value a plain one-line
// scalar that YAML reads as itself (no quotes, indicators, comments or
// nulls) or a flow list of such. False for anything else, which the
// library then reads.
func plainEntry(data []byte, ch entryChunk, indent int, a *nodeArena) (*yaml.Node, bool) {
	a.reset()
	col := indent + 2 // of the keys
	text := data[ch.start:ch.end]
	m := a.node(yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: ch.line, Column: col + 1})
	m.Content = a.list(2 * (bytes.Count(text, []byte{'\n'}) + 1))
	for lineNo := ch.line; len(text) > 0; lineNo++ {
		var line []byte
		if nl := bytes.IndexByte(text, '\n'); nl >= 0 {
			line, text = text[:nl], text[nl+1:]
		} else {
			line, text = text, nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if body := bytes.TrimLeft(line, " "); len(body) == 0 || body[0] == '#' {
			if lineNo == ch.line {
				return nil, false
			}
			continue
		}
		if len(line) < col || len(bytes.TrimLeft(line[:col-2], " ")) > 0 {
			return nil, false
		}
		lead := line[col-2 : col]
		if lineNo == ch.line && string(lead) != "- " || lineNo != ch.line && string(lead) != "  " {
			return nil, false
		}
		rest := line[col:]
		k := 0
		for k < len(rest) && (rest[k] >= 'a' && rest[k] <= 'z' || rest[k] == '_') {
			k++
		}
		if k == 0 || k+1 >= len(rest) || rest[k] != ':' || rest[k+1] != ' ' {
			return nil, false
		}
		key := knownKey(rest[:k])
		v := k + 1
		for v < len(rest) && rest[v] == ' ' {
			v++
		}
		keyNode := a.node(yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: lineNo, Column: col + 1})
		var val *yaml.Node
		switch {
		case slices.Contains(plainKeys, key):
			s, ok := plainScalar(rest[v:], false)
			if !ok {
				return nil, false
			}
			val = a.node(yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Line: lineNo, Column: col + v + 1})
		case slices.Contains(flowKeys, key):
			var ok bool
			if val, ok = flowList(rest[v:], lineNo, col+v+1, a); !ok {
				return nil, false
			}
		default:
			return nil, false
		}
		m.Content = append(m.Content, keyNode, val)
	}
	return m, len(m.Content) > 0
}

// nodeArena holds the nodes of one plain entry, reused for the next: a
// first start over 100,000 events made a million nodes otherwise.
type nodeArena struct {
	nodes []yaml.Node
	ptrs  []*yaml.Node // the Content slices
}

func (a *nodeArena) reset() {
	clear(a.nodes) // let the last entry's values go
	a.nodes = a.nodes[:0]
	clear(a.ptrs)
	a.ptrs = a.ptrs[:0]
}

// node returns a copy of n in the arena, or on its own once it is full
// (never moving the nodes already handed out).
func (a *nodeArena) node(n yaml.Node) *yaml.Node {
	if len(a.nodes) == cap(a.nodes) {
		return &n
	}
	a.nodes = append(a.nodes, n)
	return &a.nodes[len(a.nodes)-1]
}

// list returns an empty Content slice with room for n nodes.
func (a *nodeArena) list(n int) []*yaml.Node {
	l := len(a.ptrs)
	if l+n > cap(a.ptrs) {
		return make([]*yaml.Node, 0, n)
	}
	a.ptrs = a.ptrs[:l+n]
	return a.ptrs[l : l : l+n]
}

// knownKey returns the key as a string without allocating for the
// event's fields.
func knownKey(k []byte) string {
	for _, known := range cfgEventKeys {
		if string(k) == known {
			return known
		}
	}
	return string(k)
}

// flowList reads "[a, b]" whose items are plain scalars; column is the
// "["'s.
func flowList(s []byte, line, column int, a *nodeArena) (*yaml.Node, bool) {
	s = bytes.TrimRight(s, " ")
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, false
	}
	n := a.node(yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle, Line: line, Column: column})
	inner := s[1 : len(s)-1]
	if len(bytes.TrimLeft(inner, " ")) == 0 {
		return n, true
	}
	n.Content = a.list(bytes.Count(inner, []byte{','}) + 1)
	off := 1
	for item := range bytes.SplitSeq(inner, []byte{','}) {
		lead := len(item) - len(bytes.TrimLeft(item, " "))
		v, ok := plainScalar(item[lead:], true)
		if !ok {
			return nil, false
		}
		n.Content = append(n.Content, a.node(yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Line: line, Column: column + off + lead}))
		off += len(item) + 1
	}
	return n, true
}

// plainScalar returns s (trailing spaces dropped) when YAML reads it as a
// plain scalar equal to its text and not null; inFlow also refuses the
// flow indicators.
func plainScalar(s []byte, inFlow bool) (string, bool) {
	s = bytes.TrimRight(s, " ")
	if len(s) == 0 || bytes.IndexByte([]byte("-?:,[]{}#&*!|>'\"%@`"), s[0]) >= 0 {
		return "", false
	}
	if s[len(s)-1] == ':' || bytes.Contains(s, []byte(": ")) || bytes.Contains(s, []byte(" #")) {
		return "", false
	}
	if inFlow && (bytes.ContainsAny(s, ",[]{}:#")) {
		return "", false
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRune(s[i:])
		if !yamlPrintable(r, size) {
			return "", false
		}
		i += size
	}
	switch string(s) {
	case "~", "null", "Null", "NULL":
		return "", false
	}
	return string(s), true
}

// yamlPrintable reports whether YAML allows r in a plain scalar as is
// (tabs excluded: they are separators around values).
func yamlPrintable(r rune, size int) bool {
	switch {
	case r == utf8.RuneError && size <= 1:
		return false
	case r < 0x80:
		return r >= 0x20 && r < 0x7f
	case r == 0xFEFF, r == 0x2028, r == 0x2029:
		return false // a byte order mark; line and paragraph separators break lines in YAML
	}
	return r >= 0xA0 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}
