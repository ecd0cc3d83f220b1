package watchers

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CompileMatch compiles match (and exclude) entries, the one rule for a
// watcher's item filter and an event's names (DESIGN §10): "/re/" (or
// "/re/i" for case-insensitive) is a regular expression; anything else is
// a word or phrase matched case-insensitively on word boundaries where
// its ends are letters or digits of a spaced script, so that "Japan" does
// not match "Japanese" while "参院選" matches inside Japanese text, which
// has no spaces. Errors name the entry by its position.
func CompileMatch(entries []string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for i, e := range entries {
		re, err := CompileMatchEntry(e)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i+1, err)
		}
		out = append(out, re)
	}
	return out, nil
}

// MatchExample is a match list that works, for error messages.
const MatchExample = `[参院選, Upper House election, "/upper[- ]house (election|poll)/i"]`

// CompileMatchEntry compiles one entry of a match list (CompileMatch).
func CompileMatchEntry(e string) (*regexp.Regexp, error) {
	e = strings.TrimSpace(e)
	if e == "" {
		return nil, fmt.Errorf("empty")
	}
	if len(e) >= 2 && e[0] == '/' && (strings.HasSuffix(e, "/") || strings.HasSuffix(e, "/i")) && strings.LastIndexByte(e, '/') > 0 {
		end := strings.LastIndexByte(e, '/')
		expr := e[1:end]
		if expr == "" {
			return nil, fmt.Errorf("empty regular expression %q", e)
		}
		if e[end+1:] == "i" {
			expr = "(?i)" + expr
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fmt.Errorf("bad regular expression %q: %w", e, err)
		}
		return re, nil
	}
	return regexp.MustCompile(wordPattern(e)), nil
}

func wordPattern(word string) string {
	// Inner whitespace matches any run of whitespace.
	parts := strings.Fields(word)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	expr := strings.Join(parts, `\s+`)
	first, _ := utf8.DecodeRuneInString(word)
	last, _ := utf8.DecodeLastRuneInString(word)
	// \b is ASCII-only in RE2, so boundaries are written out with Unicode
	// classes, and only where the word's end is itself a letter or digit
	// of an alphabet written with spaces.
	if spaced(first) {
		expr = `(?:^|[^\p{L}\p{N}_])` + expr
	}
	if spaced(last) {
		expr += `(?:$|[^\p{L}\p{N}_])`
	}
	return "(?i)" + expr
}

// spaced reports whether r is a letter or digit of a script that separates
// words with spaces (not Han, kana or Hangul).
func spaced(r rune) bool {
	if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
		return false
	}
	return !unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}
