package datex

import (
	"strings"
	"unicode/utf8"
)

// ctxMax bounds how far a context reaches on either side of its match, so
// that a text without sentence ends costs no more than one with them.
const ctxMax = 400

// ctxCache holds the last context: the matches of one sentence share it.
type ctxCache struct {
	a, b  int
	str   string
	valid bool
}

// context returns the sentence around s[start:end].
func (sc *scanner) context(start, end int) string {
	if sc.ctx.valid && start >= sc.ctx.a && end <= sc.ctx.b {
		return sc.ctx.str
	}
	a, cutA := sc.sentenceStart(start)
	b, cutB := sc.sentenceEnd(end)
	str := tidy(sc.s[a:b], cutA, cutB)
	sc.ctx = ctxCache{a: a, b: b, str: str, valid: true}
	return str
}

// mayEnd reports whether byte c can begin a rune that ends a sentence:
// . ! ? and a line break, or the lead byte of 。 (E3) and of ！？． (EF).
// The scans below step over every other byte without decoding it.
func mayEnd(c byte) bool {
	return c == '.' || c == '!' || c == '?' || c == '\n' || c == 0xE3 || c == 0xEF
}

// sentenceStart finds where the sentence holding i starts; cut reports
// that it stopped at ctxMax first.
func (sc *scanner) sentenceStart(i int) (int, bool) {
	s := sc.s
	for j := i - 1; j >= 0; j-- {
		if i-j > ctxMax {
			return sc.runeStart(j + 1), true
		}
		if !mayEnd(s[j]) {
			continue
		}
		r, n := sc.at(j)
		if sc.endsSentence(j, r, n) {
			return j + n, false
		}
	}
	return 0, false
}

// sentenceEnd finds where the sentence holding the byte before i ends,
// its closing mark included.
func (sc *scanner) sentenceEnd(i int) (int, bool) {
	s := sc.s
	// A match may end with the sentence's own full stop: "at 2 p.m."
	if i > 0 && s[i-1] == '.' && sc.endsSentence(i-1, '.', 1) {
		return i, false
	}
	for j := i; j < len(s); j++ {
		if j-i >= ctxMax {
			return sc.runeStart(j), true
		}
		if !mayEnd(s[j]) {
			continue
		}
		r, n := sc.at(j)
		if sc.endsSentence(j, r, n) {
			if r == '\n' {
				return j, false
			}
			return j + n, false
		}
	}
	return len(s), false
}

// runeStart moves j back to the start of the rune it is in.
func (sc *scanner) runeStart(j int) int {
	for k := 0; k < utf8.UTFMax && j > 0 && j < len(sc.s) && !utf8.RuneStart(sc.s[j]); k++ {
		j--
	}
	return j
}

// boundaryBetween reports whether a sentence ends in s[a:b]; a long gap
// counts as one.
func (sc *scanner) boundaryBetween(a, b int) bool {
	if b-a > ctxMax {
		return true
	}
	for j := a; j < b; j++ {
		if !mayEnd(sc.s[j]) {
			continue
		}
		if r, n := sc.at(j); sc.endsSentence(j, r, n) {
			return true
		}
	}
	return false
}

// endsSentence reports whether the rune r of size n at j ends a sentence.
func (sc *scanner) endsSentence(j int, r rune, n int) bool {
	switch r {
	case '。', '！', '？', '．':
		// 「…。」と述べた: the sentence goes on after the quotation.
		next, _ := sc.at(j + n)
		return next != '」' && next != '』' && next != '）' && next != ')'
	case '!', '?':
		next, size := sc.at(j + 1)
		return size == 0 || isSpace(next) || next == '"' || next >= utf8.RuneSelf
	case '\n':
		return sc.lineBreakEnds(j)
	case '.':
		return sc.periodEnds(j)
	}
	return false
}

// lineBreakEnds reports whether the line break at j ends a sentence: a
// blank line does, and so does a line that is not wrapped prose (list
// items, headings, Japanese lines); a line ending in a comma or a
// lower-case word, or followed by one, goes on.
func (sc *scanner) lineBreakEnds(j int) bool {
	s := sc.s
	k := j + 1
	for n := 0; n < 16 && k < len(s) && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r'); n++ {
		k++
	}
	if k >= len(s) || s[k] == '\n' {
		return true
	}
	p := j
	for n := 0; n < 16 && p > 0 && (s[p-1] == ' ' || s[p-1] == '\t' || s[p-1] == '\r'); n++ {
		p--
	}
	prev, _ := sc.before(p)
	if prev == ',' || prev == ';' || prev == '、' || prev == '，' || (prev >= 'a' && prev <= 'z') {
		return false
	}
	return !(s[k] >= 'a' && s[k] <= 'z')
}

// periodEnds reports whether the full stop at j ends a sentence: it is
// followed by a space or the end, and does not close an abbreviation
// (U.S., Jul., Mr., an initial). "a.m."/"p.m." end one when a capitalised
// word other than a zone follows.
func (sc *scanner) periodEnds(j int) bool {
	s := sc.s
	if next, size := sc.at(j + 1); size > 0 && !isSpace(next) && !strings.ContainsRune("\"')”’", next) {
		return false
	}
	k := j
	for k > 0 && j-k < 10 && (isLetter(s[k-1]) || s[k-1] == '.') {
		k--
	}
	tok := s[k:j]
	switch {
	case tok == "":
		return true
	case strings.EqualFold(tok, "a.m") || strings.EqualFold(tok, "p.m"):
		w := sc.skipSpace(j+1, 2)
		e := sc.wordEnd(w)
		if e == w || !isUpper(s[w]) {
			return false
		}
		_, zoneWord := zoneNames[s[w:e]]
		return !zoneWord
	case strings.IndexByte(tok, '.') >= 0:
		return false
	case len(tok) == 1 && isUpper(tok[0]):
		return false
	}
	return !isAbbreviation(tok)
}

// isAbbreviation reports words that end with a point inside a sentence.
func isAbbreviation(w string) bool {
	var buf [6]byte
	lw := lowerWord(buf[:], w)
	if m, abbr := monthOfLower(lw); m > 0 && abbr {
		return true
	}
	switch string(lw) {
	case "mr", "mrs", "ms", "dr", "st", "jr", "sr", "vs", "etc", "no", "nos", "gen", "sen", "rep", "gov",
		"prof", "inc", "corp", "co", "ltd", "dept", "approx", "fig", "vol", "art", "sec", "p", "pp":
		return true
	}
	return false
}

// tidy trims a sentence, makes each run of white space one space and
// each run of bytes that are not UTF-8 one U+FFFD (the context is shown
// and sent as JSON), and marks the ends that ctxMax cut with "…". It
// allocates only when it changes something.
func tidy(t string, cutA, cutB bool) string {
	t = strings.TrimFunc(t, isSpace)
	clean := !cutA && !cutB && utf8.ValidString(t)
	for i := 0; clean && i < len(t); i++ {
		c := t[i]
		if c == '\n' || c == '\r' || c == '\t' || (c == ' ' && i+1 < len(t) && t[i+1] == ' ') {
			clean = false
		}
	}
	if clean {
		return t
	}
	var b strings.Builder
	b.Grow(len(t) + 6)
	if cutA {
		b.WriteString("…")
	}
	space, bad := false, false
	for i := 0; i < len(t); {
		r, n := utf8.DecodeRuneInString(t[i:])
		i += n
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if r == utf8.RuneError && n == 1 {
			if !bad {
				b.WriteRune(r)
			}
			bad = true
			continue
		}
		bad = false
		b.WriteRune(r)
	}
	if cutB {
		b.WriteString("…")
	}
	return b.String()
}
