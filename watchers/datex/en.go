package datex

import (
	"strings"
	"time"
)

// asciiNumber parses the forms that start with ASCII digits and are not
// Japanese: ISO and slashed dates, U.S. dates, times, "20 July 2025",
// "2026 Q3" and a year after a preposition ("by 2027").
func (sc *scanner) asciiNumber(i int, n num) int {
	s := sc.s
	e := n.end
	var c byte
	if e < len(s) {
		c = s[e]
	}
	switch {
	case (c == '-' || c == '/') && n.digits == 4:
		return sc.iso(i, n, c)
	case c == '/' && n.digits <= 2:
		return sc.usDate(i, n)
	case c == ':' && n.digits <= 2:
		return sc.enClock(i, n)
	case n.digits <= 2:
		if f := sc.enClock(i, n); f > 0 { // 2 p.m.
			return f
		}
		return sc.dayFirst(i, n)
	case n.digits == 4 && validYear(n.v):
		if sc.has(e, " Q") && e+3 <= len(s) && s[e+2] >= '1' && s[e+2] <= '4' && sc.endOK(e+3) {
			sc.add(cand{start: i, end: e + 3, kind: kQuarter, y: n.v, n: int(s[e+2] - '0'), src: yWritten})
			return e + 3
		}
		// A bare year only from 1900 to 2100: "from 2500 to 3000 troops".
		if n.v <= 2100 && sc.endOK(e) && isPreposition(sc.wordBefore(i)) {
			sc.add(cand{start: i, end: e, kind: kYear, y: n.v, src: yWritten})
			return e
		}
	}
	return 0
}

// versionBefore reports a version, build or number word just before i:
// "version 2025-07" names a release and "No. 2025-07" a document, not a
// month.
func (sc *scanner) versionBefore(i int) bool {
	w := strings.ToLower(sc.wordBefore(i))
	if w == "version" || w == "ver" || w == "build" || w == "release" || w == "v" {
		return true
	}
	j := sc.skipBack(i)
	if j > 0 && sc.s[j-1] == '.' { // "Ver. 2025-07", "No. 2025-07"
		w = strings.ToLower(sc.wordBefore(j - 1))
		if w == "ver" || w == "v" || w == "no" || w == "nos" {
			return true
		}
	}
	return strings.HasSuffix(sc.s[:j], "バージョン") || strings.HasSuffix(sc.s[:j], "ビルド")
}

// iso parses 2025-07-20, 2025-07-20T10:30[:00][+09:00], 2025-07, 2025-Q3,
// 2025-H2, 2025/7/20 and 2025/07 after the year n.
func (sc *scanner) iso(i int, n num, sep byte) int {
	s := sc.s
	if !validYear(n.v) || sc.versionBefore(i) {
		return 0
	}
	j := n.end + 1
	if sep == '-' && j+1 < len(s) && (s[j] == 'Q' && s[j+1] >= '1' && s[j+1] <= '4' || s[j] == 'H' && (s[j+1] == '1' || s[j+1] == '2')) {
		if !sc.endOK(j + 2) {
			return 0
		}
		k := kQuarter
		if s[j] == 'H' {
			k = kHalf
		}
		sc.add(cand{start: i, end: j + 2, kind: k, y: n.v, n: int(s[j+1] - '0'), src: yWritten})
		return j + 2
	}
	m, ok := sc.number(j)
	if !ok || !m.ascii || m.digits > 2 || m.v < 1 || m.v > 12 {
		return 0
	}
	e := m.end
	if e < len(s) && s[e] == sep {
		d, ok := sc.number(e + 1)
		if !ok || !d.ascii || d.digits > 2 || d.v < 1 || d.v > 31 {
			return 0
		}
		c := cand{start: i, end: d.end, kind: kDay, y: n.v, m: m.v, d: d.v, src: yWritten}
		if sep == '-' && d.end < len(s) && s[d.end] == 'T' {
			clk, ok := sc.isoTime(d.end + 1)
			if !ok {
				return 0
			}
			c.end, c.timed, c.clk = clk.end, true, clk
			sc.add(c)
			return c.end
		}
		if !sc.endOK(d.end) {
			return 0
		}
		sc.add(c)
		return d.end
	}
	if !sc.endOK(e) {
		return 0
	}
	sc.add(cand{start: i, end: e, kind: kMonth, y: n.v, m: m.v, src: yWritten})
	return e
}

// twoDigits reads exactly two ASCII digits at i.
func (sc *scanner) twoDigits(i int) (int, bool) {
	if i+2 > len(sc.s) || !isDigit(sc.s[i]) || !isDigit(sc.s[i+1]) {
		return 0, false
	}
	return int(sc.s[i]-'0')*10 + int(sc.s[i+1]-'0'), true
}

// isoTime reads HH:MM[:SS[.fff]][Z|±HH:MM|±HHMM] at j, after the T.
func (sc *scanner) isoTime(j int) (clock, bool) {
	s := sc.s
	h, ok1 := sc.twoDigits(j)
	m, ok2 := sc.twoDigits(j + 3)
	if !ok1 || !ok2 || s[j+2] != ':' || h > 23 || m > 59 {
		return clock{}, false
	}
	c := clock{start: j - 1, h: h, m: m}
	e := j + 5
	if e < len(s) && s[e] == ':' {
		sec, ok := sc.twoDigits(e + 1)
		if !ok || sec > 59 {
			return clock{}, false
		}
		c.sec, e = sec, e+3
		if e < len(s) && s[e] == '.' {
			k := e + 1
			for k < len(s) && k-e <= maxDigits && isDigit(s[k]) {
				k++
			}
			e = k
		}
	}
	if e < len(s) {
		switch s[e] {
		case 'Z':
			c.loc, e = time.UTC, e+1
		case '+', '-':
			oh, ok := sc.twoDigits(e + 1)
			k := e + 3
			if k < len(s) && s[k] == ':' {
				k++
			}
			om, ok2 := sc.twoDigits(k)
			if !ok || !ok2 || oh > 14 || om > 59 {
				return clock{}, false
			}
			off := oh*3600 + om*60
			if s[e] == '-' {
				off = -off
			}
			c.loc, e = time.FixedZone("", off), k+2
		}
	}
	if !sc.endOK(e) {
		return clock{}, false
	}
	c.end = e
	return c, true
}

// usDate parses 7/20/2025 (month first, as in U.S. text), or 20/7/2025
// when the first number cannot be a month.
func (sc *scanner) usDate(i int, n num) int {
	s := sc.s
	b, ok := sc.number(n.end + 1)
	if !ok || !b.ascii || b.digits > 2 || b.end >= len(s) || s[b.end] != '/' {
		return 0
	}
	y, ok := sc.number(b.end + 1)
	if !ok || !y.ascii || y.digits != 4 || !validYear(y.v) || !sc.endOK(y.end) {
		return 0
	}
	m, d := n.v, b.v
	if m > 12 && d <= 12 {
		m, d = d, m
	}
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return 0
	}
	sc.add(cand{start: i, end: y.end, kind: kDay, y: y.v, m: m, d: d, src: yWritten})
	return y.end
}

// enClock parses 14:30, 2:00 p.m., 2 pm and 10:30 JST at i (the hour n).
func (sc *scanner) enClock(i int, n num) int {
	s := sc.s
	c := clock{start: i, h: n.v}
	e := n.end
	colon := false
	if e < len(s) && s[e] == ':' {
		m, ok := sc.number(e + 1)
		if !ok || !m.ascii || m.digits != 2 || m.v > 59 {
			return 0
		}
		c.m, e, colon = m.v, m.end, true
		if e < len(s) && s[e] == ':' {
			sec, ok := sc.twoDigits(e + 1)
			if !ok || sec > 59 {
				return 0
			}
			c.sec, e = sec, e+3
		}
	}
	if pm, end := sc.ampm(sc.skipSpace(e, 1)); end > 0 {
		if c.h < 1 || c.h > 12 {
			return 0
		}
		c.h %= 12
		if pm {
			c.h += 12
		}
		e = end
	} else if !colon || c.h > 23 || !sc.endOK(e) {
		return 0
	}
	c.end = e
	return sc.finishClock(c)
}

// ampm reads a.m./p.m./am/pm at k; end is 0 when there is none.
func (sc *scanner) ampm(k int) (pm bool, end int) {
	for _, f := range [...]string{"a.m.", "p.m.", "a.m", "p.m", "am", "pm"} {
		if sc.hasFold(k, f) {
			e := k + len(f)
			if r, _ := sc.at(e); isAlnum(r) {
				return false, 0
			}
			return f[0] == 'p' || f[0] == 'P', e
		}
	}
	return false, 0
}

// zoneNames are the zone abbreviations and names read after a time.
var zoneNames = map[string]string{
	"JST": "Asia/Tokyo", "KST": "Asia/Seoul",
	"ET": "America/New_York", "EST": "America/New_York", "EDT": "America/New_York",
	"CT": "America/Chicago", "CST": "America/Chicago", "CDT": "America/Chicago",
	"MT": "America/Denver", "MST": "America/Denver", "MDT": "America/Denver",
	"PT": "America/Los_Angeles", "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles",
	"UTC": "UTC", "GMT": "UTC", "BST": "Europe/London", "CET": "Europe/Paris", "CEST": "Europe/Paris",
	"Eastern": "America/New_York", "Central": "America/Chicago", "Pacific": "America/Los_Angeles",
	"日本時間": "Asia/Tokyo", "東京時間": "Asia/Tokyo", "米東部時間": "America/New_York",
	"米国東部時間": "America/New_York", "東部時間": "America/New_York", "ワシントン時間": "America/New_York",
}

// placeZones need "time" after them: "Tokyo time", "Washington time".
var placeZones = map[string]string{"Tokyo": "Asia/Tokyo", "Japan": "Asia/Tokyo", "Washington": "America/New_York"}

// zoneAfter reads a zone after a time ending at e: " ET", " (JST)",
// "（日本時間）", " Tokyo time". loc is nil when there is none; local
// reports "local time" or 現地時間, a zone the text does not name; ok is
// false when the zone is named but this host has no zone database for it.
func (sc *scanner) zoneAfter(e int) (loc *time.Location, end int, local, ok bool) {
	k := sc.skipSpace(e, 1)
	close := ""
	switch {
	case sc.has(k, "("):
		close, k = ")", k+1
	case sc.has(k, "（"):
		close, k = "）", k+len("（")
	}
	name, w := "", k
	for _, lt := range [...]string{"現地時間", "local time"} {
		if sc.hasFold(k, lt) {
			w = k + len(lt)
			if close != "" {
				if !sc.has(w, close) {
					return nil, e, false, true
				}
				w += len(close)
			}
			return nil, w, true, true
		}
	}
	for _, jz := range [...]string{"日本時間", "東京時間", "米東部時間", "米国東部時間", "東部時間", "ワシントン時間"} {
		if sc.has(k, jz) {
			name, w = zoneNames[jz], k+len(jz)
			break
		}
	}
	if name == "" {
		w = sc.wordEnd(k)
		word := sc.s[k:w]
		if z, found := zoneNames[word]; found && (len(word) > 4 || strings.ToUpper(word) == word) {
			name = z
			if t := sc.skipSpace(w, 1); sc.hasFold(t, "time") && !isLetterAt(sc.s, t+4) {
				w = t + 4 // "Eastern Time"
			}
		} else if z, found := placeZones[word]; found {
			t := sc.skipSpace(w, 1)
			if !sc.hasFold(t, "time") || isLetterAt(sc.s, t+4) {
				return nil, e, false, true
			}
			name, w = z, t+4
		}
	}
	if name == "" {
		return nil, e, false, true
	}
	if close != "" {
		if !sc.has(w, close) {
			return nil, e, false, true
		}
		w += len(close)
	}
	if name == "UTC" {
		return time.UTC, w, false, true
	}
	if loc = zone(name); loc == nil {
		return nil, e, false, false
	}
	return loc, w, false, true
}

func isLetterAt(s string, i int) bool { return i < len(s) && isLetter(s[i]) }

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// ordinal skips st/nd/rd/th after a day number ending at e.
func (sc *scanner) ordinal(e int) int {
	for _, o := range [...]string{"st", "nd", "rd", "th"} {
		if sc.hasFold(e, o) && !isLetterAt(sc.s, e+2) {
			return e + 2
		}
	}
	return e
}

// monthWord reads a capitalised month name at k: its number, the end of
// the word and of its abbreviation point ("Jul."), or m 0.
func (sc *scanner) monthWord(k int) (m, wend, end int) {
	if k >= len(sc.s) || !isUpper(sc.s[k]) {
		return 0, 0, 0
	}
	wend = sc.wordEnd(k)
	m, abbr := monthOf(sc.s[k:wend])
	end = wend
	if m > 0 && abbr && sc.has(wend, ".") {
		end++
	}
	return m, wend, end
}

// monthOf returns the month a name or abbreviation stands for, and
// whether it is an abbreviation (which may end with a point).
func monthOf(w string) (int, bool) {
	var buf [9]byte
	lw := lowerWord(buf[:], w)
	if lw == nil {
		return 0, false
	}
	return monthOfLower(lw)
}

// monthOfLower is monthOf for a lower-cased word.
func monthOfLower(w []byte) (int, bool) {
	switch string(w) {
	case "january":
		return 1, false
	case "february":
		return 2, false
	case "march":
		return 3, false
	case "april":
		return 4, false
	case "may":
		return 5, false
	case "june":
		return 6, false
	case "july":
		return 7, false
	case "august":
		return 8, false
	case "september":
		return 9, false
	case "october":
		return 10, false
	case "november":
		return 11, false
	case "december":
		return 12, false
	case "jan":
		return 1, true
	case "feb":
		return 2, true
	case "mar":
		return 3, true
	case "apr":
		return 4, true
	case "jun":
		return 6, true
	case "jul":
		return 7, true
	case "aug":
		return 8, true
	case "sep", "sept":
		return 9, true
	case "oct":
		return 10, true
	case "nov":
		return 11, true
	case "dec":
		return 12, true
	}
	return 0, false
}

// dayFirst parses "20 July 2025", "20th July" and "3 Sept." at i (the day n).
func (sc *scanner) dayFirst(i int, n num) int {
	if n.v < 1 || n.v > 31 {
		return 0
	}
	e := sc.ordinal(n.end)
	k := sc.skipSpace(e, 1)
	if k == e {
		return 0
	}
	m, wend, _ := sc.monthWord(k)
	if m == 0 {
		return 0
	}
	c := cand{start: i, end: wend, kind: kDay, m: m, d: n.v}
	if y, ok := sc.yearAt(sc.skipBlank(sc.monthEnd(wend), 2)); ok {
		c.y, c.end, c.src = y.v, y.end, yWritten
	}
	sc.add(c)
	return c.end
}

// monthEnd steps over the point of an abbreviated month ending at wend.
func (sc *scanner) monthEnd(wend int) int {
	if sc.has(wend, ".") {
		return wend + 1
	}
	return wend
}

// yearAt reads a four-digit year at j that ends a token.
func (sc *scanner) yearAt(j int) (num, bool) {
	y, ok := sc.number(j)
	if !ok || !y.ascii || y.digits != 4 || !validYear(y.v) || !sc.endOK(y.end) {
		return num{}, false
	}
	return y, true
}

// lowerWord lower-cases an ASCII word of at most len(buf) letters into buf.
func lowerWord(buf []byte, w string) []byte {
	if len(w) > len(buf) {
		return nil
	}
	for i := 0; i < len(w); i++ {
		buf[i] = w[i] | 0x20
	}
	return buf[:len(w)]
}

// atWord parses the forms that start with an English word [i, e).
func (sc *scanner) atWord(i, e int) int {
	w := sc.s[i:e]
	var buf [10]byte
	lw := lowerWord(buf[:], w)
	if lw == nil {
		return 0
	}
	// One switch on the lower-cased word: every word of a text comes here.
	switch string(lw) {
	case "http", "https", "ftp":
		if sc.has(e, "://") {
			return sc.urlEnd(e)
		}
	case "www":
		if sc.has(e, ".") {
			return sc.urlEnd(e)
		}
	case "early":
		return sc.enPart(i, e, partEarly)
	case "mid", "middle":
		return sc.enPart(i, e, partMid)
	case "late":
		return sc.enPart(i, e, partLate)
	case "end":
		return sc.enEnd(i, e)
	case "first":
		return sc.enPeriod(i, e, 1)
	case "second":
		return sc.enPeriod(i, e, 2)
	case "third":
		return sc.enPeriod(i, e, 3)
	case "fourth":
		return sc.enPeriod(i, e, 4)
	case "fiscal":
		return sc.enFiscal(i, e)
	case "fy", "jfy", "usfy":
		if w == "FY" || w == "JFY" || w == "USFY" {
			return sc.enFY(i, e)
		}
	case "q", "h":
		if w == "Q" || w == "H" {
			if f := sc.enQuarter(i, e); f > 0 {
				return f
			}
			return sc.eraDotted(i, e)
		}
	case "r", "s":
		if w == "R" || w == "S" {
			return sc.eraDotted(i, e)
		}
	case "noon":
		return sc.finishClock(clock{start: i, end: e, h: 12})
	default:
		if isUpper(w[0]) {
			if m, _ := monthOfLower(lw); m > 0 {
				return sc.enMonth(i, e, m, partNone)
			}
		}
	}
	return 0
}

// urlEnd is the end of a URL whose scheme or "www" ends at e: nothing in
// a URL is a date.
func (sc *scanner) urlEnd(e int) int {
	s := sc.s
	for e < len(s) && s[e] > ' ' && s[e] < 0x7f && !strings.ContainsRune("\"'<>()[]{}", rune(s[e])) {
		e++
	}
	return e
}

// theBefore extends a match back over "the ": "the first half of 2026".
func (sc *scanner) theBefore(i int) int {
	if i >= 4 && strings.EqualFold(sc.s[i-4:i], "the ") && (i == 4 || !isLetter(sc.s[i-5])) {
		return i - 4
	}
	return i
}

// enMonth parses from a month name ending at wend: "July 20, 2025", "July
// 20", "Jul. 20", "July 3–20, 2025", "July 2025", "July of 2025", and a
// bare month after a preposition or a part word ("in July", "mid-July").
func (sc *scanner) enMonth(start, wend, m, part int) int {
	k := sc.monthEnd(wend)
	if m == 5 && k != wend {
		k = wend // "May." ends a sentence
	}
	if j := sc.skipBlank(k, 2); j > k {
		of := sc.hasFold(j, "of ")
		if of {
			j += len("of ")
		}
		if n, ok := sc.number(j); ok && n.ascii {
			switch {
			case n.digits == 4 && validYear(n.v) && sc.endOK(n.end):
				sc.add(cand{start: start, end: n.end, kind: kMonth, y: n.v, m: m, part: part, src: yWritten})
				return n.end
			case n.digits <= 2 && part == partNone && !of:
				if e := sc.enDay(start, m, n); e > 0 {
					return e
				}
			}
		}
	}
	if part != partNone || isMonthPreposition(sc.wordBefore(start)) {
		sc.add(cand{start: start, end: wend, kind: kMonth, m: m, part: part})
		return wend
	}
	return 0
}

// enDay parses the day n after a month: "20", "20th", "3–20" (a range),
// then ", 2025" or " 2025".
func (sc *scanner) enDay(start, m int, n num) int {
	s := sc.s
	if n.v < 1 || n.v > 31 {
		return 0
	}
	e := sc.ordinal(n.end)
	if e < len(s) && s[e] == ':' { // "July 20:00"? not a day
		return 0
	}
	first := cand{start: start, end: e, kind: kDay, m: m, d: n.v}
	var second cand
	after := e
	// A range to a later day of the same month: July 3–20.
	k := sc.skipSpace(e, 1)
	for _, dash := range [...]string{"-", "–", "—"} {
		if !sc.has(k, dash) {
			continue
		}
		j := sc.skipSpace(k+len(dash), 1)
		if d, ok := sc.number(j); ok && d.ascii && d.digits <= 2 && d.v > n.v && d.v <= 31 {
			de := sc.ordinal(d.end)
			second = cand{start: j, end: de, kind: kDay, m: m, d: d.v, rangeEnd: true}
			after = de
		}
		break
	}
	j := after
	if j < len(s) && s[j] == ',' {
		j++
	}
	yj := sc.skipBlank(j, 2)
	if y, ok := sc.yearAt(yj); ok && yj > after {
		first.y, first.src = y.v, yWritten
		if second.d == 0 {
			first.end = y.end
		} else {
			second.y, second.src, second.end = y.v, yWritten, y.end
		}
	} else if !sc.endOK(after) {
		return 0
	}
	sc.add(first)
	if second.d != 0 {
		sc.add(second)
		return second.end
	}
	return first.end
}

// enPart parses early/mid/late before a month or a year: "early July
// 2025", "mid-July", "late 2026".
func (sc *scanner) enPart(i, e, part int) int {
	s := sc.s
	if e >= len(s) || (s[e] != '-' && s[e] != ' ') {
		return 0
	}
	k := e + 1
	if m, wend, _ := sc.monthWord(k); m > 0 {
		return sc.enMonth(i, wend, m, part)
	}
	if y, ok := sc.yearAt(k); ok {
		sc.add(cand{start: i, end: y.end, kind: kYear, y: y.v, src: yWritten})
		return y.end
	}
	return 0
}

// enEnd parses "end of July [2025]" and "end of 2025": the last day.
func (sc *scanner) enEnd(i, e int) int {
	if !sc.hasFold(e, " of ") {
		return 0
	}
	k := e + len(" of ")
	start := sc.theBefore(i)
	if m, wend, _ := sc.monthWord(k); m > 0 {
		c := cand{start: start, end: wend, kind: kDay, m: m, d: lastDay}
		if y, ok := sc.yearAt(sc.skipBlank(sc.monthEnd(wend), 2)); ok {
			c.y, c.end, c.src = y.v, y.end, yWritten
		}
		sc.add(c)
		return c.end
	}
	if y, ok := sc.yearAt(k); ok {
		sc.add(cand{start: start, end: y.end, kind: kDay, y: y.v, m: 12, d: 31, src: yWritten})
		return y.end
	}
	return 0
}

// enPeriod parses "first half of 2026", "the third quarter of 2026",
// "second-half 2026" after the ordinal word [i, e).
func (sc *scanner) enPeriod(i, e, n int) int {
	s := sc.s
	if e >= len(s) || (s[e] != ' ' && s[e] != '-') {
		return 0
	}
	k := e + 1
	we := sc.wordEnd(k)
	var kd kind
	switch w := s[k:we]; {
	case strings.EqualFold(w, "half") && n <= 2:
		kd = kHalf
	case strings.EqualFold(w, "quarter"):
		kd = kQuarter
	default:
		return 0
	}
	j := we
	switch {
	case sc.hasFold(j, " of "):
		j += len(" of ")
	case sc.has(j, " "):
		j++
	default:
		return 0
	}
	y, ok := sc.yearAt(j)
	if !ok {
		return 0
	}
	sc.add(cand{start: sc.theBefore(i), end: y.end, kind: kd, y: y.v, n: n, src: yWritten})
	return y.end
}

// enFiscal parses "fiscal year 2026", "fiscal 2026" and, as U.S.
// government reports write it, "fiscal year (FY) 2026".
func (sc *scanner) enFiscal(i, e int) int {
	j := sc.skipSpace(e, 1)
	if j == e {
		return 0
	}
	if sc.hasFold(j, "year") && !isLetterAt(sc.s, j+4) {
		k := sc.skipSpace(j+4, 1)
		if k == j+4 {
			return 0
		}
		if sc.has(k, "(FY)") {
			k = sc.skipSpace(k+len("(FY)"), 1)
		}
		j = k
	}
	y, ok := sc.yearAt(j)
	if !ok {
		return 0
	}
	sc.add(cand{start: i, end: y.end, kind: sc.fyKind(i, y.end), y: y.v, src: yWritten})
	return y.end
}

// Words that say whose fiscal year a sentence speaks of.
var (
	japanCues = [...]string{"Japan", "Diet", "Tokyo", "yen", "Cabinet Office", "Ministry of Finance"}
	usCues    = [...]string{"U.S.", "United States", "Congress", "federal", "Federal", "NDAA", "Authorization Act",
		"appropriations", "Appropriations", "Pentagon", "American", "Washington", "dollar"}
)

// fyKind says whose fiscal year "FY2026" or "fiscal 2026" at [start, end)
// is: Japan's in a Japanese sentence or when the nearest cue word in the
// sentence is Japanese ("Japan's FY2025 budget", "the Diet passed the
// FY2025 budget"); else the U.S. federal one, as DESIGN §10 has it.
func (sc *scanner) fyKind(start, end int) kind {
	a, _ := sc.sentenceStart(start)
	b, _ := sc.sentenceEnd(end)
	sentence := sc.s[a:b]
	for _, r := range sentence {
		if isJapanese(r) {
			return kJFY
		}
	}
	dist := func(cues []string, skipAfterDash bool) int {
		best := -1
		for _, c := range cues {
			for off := 0; ; {
				k := strings.Index(sentence[off:], c)
				if k < 0 {
					break
				}
				p := a + off + k
				off += k + len(c)
				if skipAfterDash && p > 0 && sc.s[p-1] == '-' {
					continue // "U.S.-Japan" names both
				}
				d := start - (p + len(c))
				if p >= end {
					d = p - end
				}
				if d >= 0 && (best < 0 || d < best) {
					best = d
				}
			}
		}
		return best
	}
	jp, us := dist(japanCues[:], true), dist(usCues[:], false)
	if jp >= 0 && (us < 0 || jp < us) {
		return kJFY
	}
	return kUSFY
}

// enFY parses FY2026, FY 2026, FY26, and the §4 forms JFY2025, USFY2026.
func (sc *scanner) enFY(i, e int) int {
	w := sc.s[i:e]
	k := e
	if w == "FY" && sc.has(k, " ") {
		k++
	}
	n, ok := sc.number(k)
	if !ok || !n.ascii || !sc.endOK(n.end) {
		return 0
	}
	y := n.v
	switch {
	case n.digits == 4 && validYear(y):
	case n.digits == 2 && w == "FY" && k == e:
		y += 2000
	default:
		return 0
	}
	kd := kJFY
	switch w {
	case "USFY":
		kd = kUSFY
	case "FY":
		kd = sc.fyKind(i, n.end)
	}
	sc.add(cand{start: i, end: n.end, kind: kd, y: y, src: yWritten})
	return n.end
}

// enQuarter parses Q3 2026, Q3 of 2026, Q3/2026 and H1 2026.
func (sc *scanner) enQuarter(i, e int) int {
	s := sc.s
	if e >= len(s) {
		return 0
	}
	d := s[e]
	kd, max := kQuarter, byte('4')
	if s[i] == 'H' {
		kd, max = kHalf, '2'
	}
	if d < '1' || d > max || isLetterAt(s, e+1) || (e+1 < len(s) && isDigit(s[e+1])) {
		return 0
	}
	j := e + 1
	switch {
	case sc.hasFold(j, " of "):
		j += len(" of ")
	case sc.has(j, " ") || sc.has(j, "/"):
		j++
	default:
		return 0
	}
	y, ok := sc.yearAt(j)
	if !ok {
		return 0
	}
	sc.add(cand{start: i, end: y.end, kind: kd, y: y.v, n: int(d - '0'), src: yWritten})
	return y.end
}

// eraDotted parses R7.7.20, H31.4.30 and R7/7/20 (a letter for the era).
func (sc *scanner) eraDotted(i, e int) int {
	s := sc.s
	base, last := 0, 0
	for _, er := range eras {
		if s[i] == er.letter {
			base, last = er.base, er.last
		}
	}
	n, ok := sc.number(e)
	if base == 0 || !ok || !n.ascii || n.digits > 2 || n.v < 1 || n.v > last || n.end >= len(s) {
		return 0
	}
	sep := s[n.end]
	if sep != '.' && sep != '/' {
		return 0
	}
	m, ok := sc.number(n.end + 1)
	if !ok || !m.ascii || m.digits > 2 || m.v < 1 || m.v > 12 || m.end >= len(s) || s[m.end] != sep {
		return 0
	}
	d, ok := sc.number(m.end + 1)
	if !ok || !d.ascii || d.digits > 2 || d.v < 1 || d.v > 31 || !sc.endOK(d.end) {
		return 0
	}
	sc.add(cand{start: i, end: d.end, kind: kDay, y: base + n.v, m: m.v, d: d.v, src: yWritten})
	return d.end
}
