package datex

import (
	"strings"
	"time"
	"unicode/utf8"
)

// scanner walks a text once, left to right, and collects candidates. Each
// form parser looks a bounded distance ahead of its start (numbers of at
// most maxDigits digits, at most a few spaces) and the walk never goes
// back, which keeps Extract linear.
type scanner struct {
	s      string
	loc    *time.Location
	chunks [][]Match

	// open holds the candidates not yet settled (at most two), prev the
	// last one settled; count is how many were found.
	open    []cand
	prev    cand
	hasPrev bool
	count   int

	hasRef   bool
	ref      int // civil day of Options.Ref
	refYear  int
	refMonth int

	// pending is the last time of day seen that no date has claimed yet:
	// "2:00 p.m. ET on July 20" names the time first.
	pending    clock
	hasPending bool

	ctx ctxCache
}

// maxDigits bounds a number: no date needs more, and it bounds the look
// ahead on a long run of digits.
const maxDigits = 9

// scan finds every candidate date and attaches the times next to them.
func (sc *scanner) scan() {
	s := sc.s
	for i := 0; i < len(s) && sc.count < MaxMatches; {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c >= '0' && c <= '9':
				if sc.startOK(i) {
					if e := sc.atNumber(i); e > i {
						i = e
						continue
					}
				}
				// Skip the rest of the run: no form starts inside a number.
				for i++; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
				}
				continue
			case isLetter(c):
				e := sc.wordEnd(i)
				if sc.startOK(i) {
					if f := sc.atWord(i, e); f > i {
						i = f
						continue
					}
				}
				i = e
				continue
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		e := 0
		switch {
		case isWideDigit(r) || isKanjiDigit(r):
			if p, _ := sc.before(i); !isWideDigit(p) && !isKanjiDigit(p) && (isKanjiDigit(r) || sc.startOK(i)) {
				e = sc.atNumber(i)
			}
		case r == '令' || r == '平' || r == '昭':
			e = sc.atEra(i)
		case r == '午' || r == '正':
			e = sc.atJaTime(i)
		case r == '今' || r == '本' || r == '来' || r == '昨' || r == '去' || r == '前' || r == '先':
			e = sc.atRelative(i)
		}
		if e > i {
			i = e
			continue
		}
		i += size
	}
}

// add records a candidate date, giving it the pending time of day when
// only connecting words lie between them.
func (sc *scanner) add(c cand) {
	// 現地時間2月7日午前11時: the local time of a place the text does not
	// name; the day is known, the instant is not.
	c.local = strings.HasSuffix(sc.s[:sc.skipBack(c.start)], "現地時間")
	if sc.hasPending && c.kind == kDay && !c.timed && !c.local && c.d != lastDay && sc.pending.end <= c.start && sc.timeDateGap(sc.pending.end, c.start) {
		c.timed, c.clk = true, sc.pending
		c.start = sc.pending.start
	}
	sc.hasPending = false
	sc.open = append(sc.open, c)
	sc.count++
	if len(sc.open) > 2 {
		sc.settle()
	}
}

// last is the candidate found last, or nil.
func (sc *scanner) last() *cand {
	if len(sc.open) == 0 {
		return nil
	}
	return &sc.open[len(sc.open)-1]
}

// addTime attaches a time of day to the date just before it, or keeps it
// for the date just after it. A time with no date is not reported, nor is
// one in an unnamed local time: its date stays a day.
func (sc *scanner) addTime(t clock) {
	// "from 9:00 to 17:00 on July 1": the range starts at the first time.
	if sc.hasPending && sc.rangeGap(sc.pending.end, t.start) {
		sc.pending.end = t.end
		return
	}
	if c := sc.last(); c != nil {
		if c.kind == kDay && !c.timed && c.d != lastDay && c.end <= t.start && sc.dateTimeGap(c.end, t.start) {
			if !t.local && !c.local {
				c.timed, c.clk = true, t
				c.end = t.end
			}
			sc.hasPending = false
			return
		}
	}
	sc.pending, sc.hasPending = t, !t.local
}

// Character classes.

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(r rune) bool { return r < utf8.RuneSelf && (isLetter(byte(r)) || isDigit(byte(r))) }

func isWideDigit(r rune) bool { return r >= '０' && r <= '９' }

func isKanjiDigit(r rune) bool { return kanjiValue(r) >= 0 }

// kanjiValue is a kanji numeral's digit (0–9) or unit (10, 100, 1000), or -1.
func kanjiValue(r rune) int {
	switch r {
	case '〇', '零':
		return 0
	case '一':
		return 1
	case '二':
		return 2
	case '三':
		return 3
	case '四':
		return 4
	case '五':
		return 5
	case '六':
		return 6
	case '七':
		return 7
	case '八':
		return 8
	case '九':
		return 9
	case '十':
		return 10
	case '百':
		return 100
	case '千':
		return 1000
	}
	return -1
}

// isJapanese reports kana and kanji: a sign that the text around is Japanese.
func isJapanese(r rune) bool {
	return (r >= 0x3040 && r <= 0x30FF) || (r >= 0x3400 && r <= 0x4DBF) || (r >= 0x4E00 && r <= 0x9FFF) || r == '々' || (r >= 0xFF66 && r <= 0xFF9F)
}

// isKanji reports CJK ideographs only.
func isKanji(r rune) bool {
	return (r >= 0x3400 && r <= 0x4DBF) || (r >= 0x4E00 && r <= 0x9FFF) || r == '々'
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u3000' || r == '\u00a0'
}

// joiners glue a number into a larger token: paths, queries, ids, e-mail.
const joiners = "_/\\-=?&#%~+@.:"

// markers before a number always make it part of an id or a query:
// #2025-07-20, id=2025-07-20, @2025.
const markers = "_\\=?&#%~+@"

// at returns the rune at i, or size 0 at the end.
func (sc *scanner) at(i int) (rune, int) {
	if i >= len(sc.s) || i < 0 {
		return -1, 0
	}
	if c := sc.s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(sc.s[i:])
}

// before returns the rune ending at i, or size 0 at the start.
func (sc *scanner) before(i int) (rune, int) {
	if i <= 0 || i > len(sc.s) {
		return -1, 0
	}
	if c := sc.s[i-1]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeLastRuneInString(sc.s[:i])
}

func (sc *scanner) has(i int, p string) bool {
	return i >= 0 && i <= len(sc.s) && strings.HasPrefix(sc.s[i:], p)
}

// hasFold is has ignoring ASCII case.
func (sc *scanner) hasFold(i int, p string) bool {
	return i >= 0 && i+len(p) <= len(sc.s) && strings.EqualFold(sc.s[i:i+len(p)], p)
}

// startOK reports whether a date may start at i: not glued to a letter or
// digit before it, nor to a path, query or id ("/2025/07/20",
// "id=2025-07-20", "v2025.07") — but a joiner after Japanese text or a
// space is fine ("7月3日-7月20日", "日時:2025年7月20日").
func (sc *scanner) startOK(i int) bool {
	p, ps := sc.before(i)
	if ps == 0 {
		return true
	}
	if isAlnum(p) || isWideDigit(p) {
		return false
	}
	if p < utf8.RuneSelf && strings.IndexByte(markers, byte(p)) >= 0 {
		return false
	}
	if p < utf8.RuneSelf && strings.IndexByte(joiners, byte(p)) >= 0 {
		pp, pps := sc.before(i - ps)
		if pps > 0 && pp < utf8.RuneSelf && !isSpace(pp) {
			return false
		}
	}
	return true
}

// endOK reports whether a date that ends in a letter or digit may end at
// e: not followed by another letter or digit, nor by a joiner and more
// token ("2025-07-20.1", "2025-07-20/index.html", "2025-07-20T…" in a URL).
func (sc *scanner) endOK(e int) bool {
	n, ns := sc.at(e)
	if ns == 0 {
		return true
	}
	if isAlnum(n) || isWideDigit(n) {
		return false
	}
	if n < utf8.RuneSelf && strings.IndexByte(joiners, byte(n)) >= 0 {
		if nn, _ := sc.at(e + ns); isAlnum(nn) {
			return false
		}
	}
	return true
}

// skipSpace skips at most max spaces (ASCII, no-break and ideographic),
// not line breaks.
func (sc *scanner) skipSpace(i, max int) int {
	for ; max > 0 && i < len(sc.s); max-- {
		r, n := sc.at(i)
		if r != ' ' && r != '\t' && r != '\u3000' && r != '\u00a0' {
			break
		}
		i += n
	}
	return i
}

// skipBlank is skipSpace that also crosses one line break, as English
// text wraps between "July" and "20".
func (sc *scanner) skipBlank(i, max int) int {
	nl := false
	for ; max > 0 && i < len(sc.s); max-- {
		r, n := sc.at(i)
		if r == '\n' {
			if nl {
				break
			}
			nl = true
		} else if r != ' ' && r != '\t' && r != '\r' && r != '\u00a0' {
			break
		}
		i += n
	}
	return i
}

// num is a number read from the text.
type num struct {
	v, end, digits int
	ascii          bool
	kanji          bool
}

// number reads an unsigned number at i in ASCII digits, full-width digits
// or kanji numerals (二〇二五, 二千二十五, 三十一).
func (sc *scanner) number(i int) (num, bool) {
	s := sc.s
	if i >= len(s) || i < 0 {
		return num{}, false
	}
	if isDigit(s[i]) {
		j, v := i, 0
		for ; j < len(s) && isDigit(s[j]); j++ {
			if j-i == maxDigits {
				return num{}, false
			}
			v = v*10 + int(s[j]-'0')
		}
		return num{v: v, end: j, digits: j - i, ascii: true}, true
	}
	r, _ := sc.at(i)
	if isWideDigit(r) {
		j, v, n := i, 0, 0
		for {
			r, size := sc.at(j)
			if !isWideDigit(r) {
				break
			}
			if n == maxDigits {
				return num{}, false
			}
			v = v*10 + int(r-'０')
			j += size
			n++
		}
		return num{v: v, end: j, digits: n}, true
	}
	if isKanjiDigit(r) {
		return sc.kanjiNumber(i)
	}
	return num{}, false
}

// kanjiNumber reads kanji numerals: positional (二〇二五 = 2025) or with
// units (二千二十五 = 2025, 三十一 = 31, 十 = 10).
func (sc *scanner) kanjiNumber(i int) (num, bool) {
	var vals [8]int
	n, j := 0, i
	units := false
	for {
		r, size := sc.at(j)
		v := kanjiValue(r)
		if v < 0 {
			break
		}
		if n == len(vals) {
			return num{}, false
		}
		vals[n] = v
		units = units || v >= 10
		n++
		j += size
	}
	if n == 0 {
		return num{}, false
	}
	total := 0
	if !units {
		for _, v := range vals[:n] {
			total = total*10 + v
		}
		return num{v: total, end: j, digits: n, kanji: true}, true
	}
	cur, last := -1, 10000
	for _, v := range vals[:n] {
		if v >= 10 {
			if v >= last || cur == 0 {
				return num{}, false
			}
			m := cur
			if m < 0 {
				m = 1
			}
			total += m * v
			cur, last = -1, v
			continue
		}
		if cur >= 0 {
			return num{}, false // 二二十
		}
		cur = v
	}
	if cur > 0 {
		total += cur
	} else if cur == 0 {
		return num{}, false
	}
	return num{v: total, end: j, digits: n, kanji: true}, true
}

// wordEnd is the end of the run of ASCII letters at i.
func (sc *scanner) wordEnd(i int) int {
	for i < len(sc.s) && isLetter(sc.s[i]) {
		i++
	}
	return i
}

// wordBefore returns the run of ASCII letters (with an apostrophe, as in
// "Japan's") that ends at i after at most one space.
func (sc *scanner) wordBefore(i int) string {
	j := i
	if j > 0 && sc.s[j-1] == ' ' {
		j--
	}
	end := j
	for j > 0 && end-j < 12 && (isLetter(sc.s[j-1]) || sc.s[j-1] == '\'') {
		j--
	}
	return sc.s[j:end]
}

// isPreposition reports the words that make a bare year a date: "in
// 2026", "by 2027", "from 2025 to 2030". "of" and "for" are left out: "a
// force of 2500", "for 2000 people".
func isPreposition(w string) bool {
	var buf [7]byte
	switch string(lowerWord(buf[:], w)) {
	case "in", "by", "until", "till", "since", "before", "after", "through", "during", "from", "to":
		return true
	}
	return false
}

// isMonthPreposition reports the words that make a bare, capitalised
// month name a date: those of isPreposition and "of", "for" ("set for
// July", "the first week of July").
func isMonthPreposition(w string) bool {
	return isPreposition(w) || strings.EqualFold(w, "of") || strings.EqualFold(w, "for")
}

func validYear(y int) bool { return y >= 1900 && y <= 2999 }

// dateTimeGap reports whether s[a:b] is only what may stand between a date
// and its time: spaces, commas, "at", "from", の, a weekday in brackets
// (（日）, (Sun.), （日本時間）).
func (sc *scanner) dateTimeGap(a, b int) bool {
	return sc.gapOf(a, b, []string{",", "、", "，", "の", "at ", "from ", "starting at ", "beginning at ", "around ", "about ", "approximately "}, true)
}

// timeDateGap is dateTimeGap for a time written before its date: "2:00
// p.m. ET on Friday, July 20".
func (sc *scanner) timeDateGap(a, b int) bool {
	return sc.gapOf(a, b, []string{",", "on ", "、"}, true)
}

// rangeGap reports whether s[a:b] joins the two ends of a range: 7月3日
// から7月20日, July 30–August 2.
func (sc *scanner) rangeGap(a, b int) bool {
	return sc.gapOf(a, b, []string{"～", "〜", "~", "－", "-", "–", "—", "から", "to ", "through ", "until ", "till "}, true)
}

// gapOf reports whether s[a:b] (at most 40 bytes) consists of spaces, the
// given words and, with brackets, bracketed words without digits
// (weekdays, zones) and weekday names.
func (sc *scanner) gapOf(a, b int, words []string, brackets bool) bool {
	if b < a || b-a > 40 {
		return false
	}
	g := sc.s[a:b]
next:
	for g != "" {
		r, n := utf8.DecodeRuneInString(g)
		if isSpace(r) {
			g = g[n:]
			continue
		}
		for _, w := range words {
			if len(g) >= len(w) && strings.EqualFold(g[:len(w)], w) {
				g = g[len(w):]
				continue next
			}
			// A word at the very end needs no space after it.
			if ww := strings.TrimSuffix(w, " "); len(ww) != len(w) && strings.EqualFold(g, ww) {
				return true
			}
		}
		if brackets {
			if close := bracketClose(r); close != 0 {
				k := strings.IndexRune(g, close)
				if k < 0 || strings.ContainsAny(g[:k], "0123456789") {
					return false
				}
				g = g[k+utf8.RuneLen(close):]
				continue
			}
			if w := weekdayPrefix(g); w > 0 {
				g = g[w:]
				continue
			}
		}
		return false
	}
	return true
}

func bracketClose(r rune) rune {
	switch r {
	case '(':
		return ')'
	case '（':
		return '）'
	case '[':
		return ']'
	}
	return 0
}

// weekdayPrefix is the length of an English weekday name (with an
// optional full stop) at the start of g, or 0.
func weekdayPrefix(g string) int {
	for _, w := range [...]string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
		"mon", "tues", "tue", "wed", "thurs", "thu", "fri", "sat", "sun"} {
		if len(g) >= len(w) && strings.EqualFold(g[:len(w)], w) && (len(g) == len(w) || !isLetter(g[len(w)])) {
			if len(g) > len(w) && g[len(w)] == '.' {
				return len(w) + 1
			}
			return len(w)
		}
	}
	return 0
}
