package watchers

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// This file reads the Japanese forms of a due date (DESIGN §9): western
// years (2027年3月31日), era years (令和9年3月31日, 令和元年), Japanese
// fiscal years (令和9年度, 2027年度), with ASCII, full-width or kanji
// numerals. Each is turned into the canonical form of DESIGN §4 first and
// then parsed as that, so a Japanese date means exactly what its canonical
// form means.

// era is a Japanese era: its name and the day it began.
type era struct {
	name             string
	year, month, day int
}

// eras are the eras a due date may name, newest first. Only the start is
// checked: planning papers written before 2019 say 平成32年度 for JFY2020.
var eras = []era{
	{"令和", 2019, 5, 1},
	{"平成", 1989, 1, 8},
	{"昭和", 1926, 12, 25},
}

// foldWidth turns full-width ASCII (２０２７－０３) into ASCII and drops
// spaces (an IME often types a full-width space between the parts).
func foldWidth(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			b.WriteRune(r - 0xFEE0)
		case unicode.IsSpace(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// hasNonASCII reports whether s holds any byte outside ASCII.
func hasNonASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// kanjiDigits are the values of the kanji digits; 〇 and 零 are zero.
var kanjiDigits = map[rune]int{'〇': 0, '零': 0, '一': 1, '二': 2, '三': 3, '四': 4, '五': 5, '六': 6, '七': 7, '八': 8, '九': 9}

// kanjiUnits are the multipliers of kanji numerals.
var kanjiUnits = map[rune]int{'十': 10, '百': 100, '千': 1000}

// readNumber reads a number at the start of s: ASCII digits, kanji digits
// written place by place (二〇二七), or kanji with multipliers (三十一,
// 二千二十七). It returns the value and the rest of s; ok is false when s
// does not start with a number or the multipliers are out of order (十百).
func readNumber(s string) (n int, rest string, ok bool) {
	i := 0
	digits, total, cur, lastUnit := 0, 0, -1, 10000
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if d, isDigit := kanjiDigits[r]; isDigit || (r >= '0' && r <= '9') {
			if !isDigit {
				d = int(r - '0')
			}
			if cur < 0 {
				cur = 0
			}
			cur = cur*10 + d
			digits++
			if digits > 6 {
				return 0, s, false
			}
		} else if u, isUnit := kanjiUnits[r]; isUnit {
			if u >= lastUnit {
				return 0, s, false
			}
			if cur < 0 {
				cur = 1 // 十 alone is ten
			}
			if cur > 9 {
				return 0, s, false // 12十 is no number
			}
			total += cur * u
			cur, digits, lastUnit = -1, 0, u
		} else {
			break
		}
		i += size
	}
	if i == 0 {
		return 0, s, false
	}
	if cur > 0 {
		total += cur
	}
	return total, s[i:], true
}

// japaneseDue converts a Japanese due date to its canonical form
// ("2027-03-31", "2027-03", "2027" or "JFY2027"). japanese is false when
// s is not written in the Japanese forms at all; err says what is wrong
// with one that is.
func japaneseDue(s string) (canonical string, japanese bool, err error) {
	rest := s
	var e *era
	for i := range eras {
		if after, found := strings.CutPrefix(rest, eras[i].name); found {
			e, rest = &eras[i], after
			break
		}
	}
	var year int
	switch after, gannen := strings.CutPrefix(rest, "元"); {
	case gannen && e != nil:
		year, rest = 1, after
	case gannen:
		return "", true, fmt.Errorf("元年 needs an era before it, e.g. 令和元年")
	default:
		n, after, ok := readNumber(rest)
		if !ok {
			if e == nil {
				return "", false, nil
			}
			return "", true, fmt.Errorf("%s needs a year after it, e.g. %s9年 or %s元年", e.name, e.name, e.name)
		}
		year, rest = n, after
	}
	rest, ok := strings.CutPrefix(rest, "年")
	if !ok {
		if e == nil && !strings.ContainsAny(rest, "年月日度") {
			return "", false, nil
		}
		return "", true, fmt.Errorf("want the year followed by 年, e.g. 2027年3月31日 or 令和9年3月31日")
	}
	if e != nil {
		if year < 1 || year > 99 {
			return "", true, fmt.Errorf("%s%d年: an era year runs from 元 (1) to 99", e.name, year)
		}
		year += e.year - 1
	}
	if year < 1900 || year > 2999 {
		return "", true, fmt.Errorf("year %d out of range 1900-2999", year)
	}
	if after, fy := strings.CutPrefix(rest, "度"); fy {
		if after != "" {
			return "", true, fmt.Errorf("nothing may follow 年度 (a fiscal year), got %q", after)
		}
		return "JFY" + strconv.Itoa(year), true, nil
	}
	if rest == "" {
		return strconv.Itoa(year), true, e.checkStart(year, 12, 31, s)
	}
	month, after, ok := readNumber(rest)
	if !ok || !strings.HasPrefix(after, "月") {
		return "", true, fmt.Errorf("want the month followed by 月, e.g. 3月")
	}
	if month < 1 || month > 12 {
		return "", true, fmt.Errorf("month %d out of range 1-12", month)
	}
	rest = strings.TrimPrefix(after, "月")
	if rest == "" {
		canonical = fmt.Sprintf("%04d-%02d", year, month)
		return canonical, true, e.checkStart(year, month, daysIn(time.Month(month), year), s)
	}
	day, after, ok := readNumber(rest)
	if !ok || after != "日" {
		return "", true, fmt.Errorf("want the day followed by 日 and nothing after it, e.g. 31日")
	}
	if day < 1 || day > 31 {
		return "", true, fmt.Errorf("day %d out of range 1-31", day)
	}
	return fmt.Sprintf("%04d-%02d-%02d", year, month, day), true, e.checkStart(year, month, day, s)
}

// checkStart refuses a window that ends before the era began (令和元年4月
// was still 平成); the last day of the window is given. A nil era checks
// nothing.
func (e *era) checkStart(year, month, day int, typed string) error {
	if e == nil {
		return nil
	}
	if year*10000+month*100+day < e.year*10000+e.month*100+e.day {
		return fmt.Errorf("%s is before %s began on %d-%02d-%02d", typed, e.name, e.year, e.month, e.day)
	}
	return nil
}

// parseJapanese is parseDue for input with characters outside ASCII:
// full-width forms of the ASCII ones, or the Japanese forms. The window is
// that of the canonical form, which becomes Raw; errors quote s as typed.
func parseJapanese(s, raw string, loc *time.Location) (Due, error) {
	bad := func(reason string) (Due, error) { return Due{}, &DueError{Input: s, Reason: reason} }
	canonical := foldWidth(raw)
	if hasNonASCII(canonical) {
		c, japanese, err := japaneseDue(canonical)
		switch {
		case !japanese:
			return bad("not a date form")
		case err != nil:
			return bad(err.Error())
		}
		canonical = c
	}
	d, err := parseDue(canonical, canonical, loc)
	if err != nil {
		if de, ok := err.(*DueError); ok {
			return bad(de.Reason)
		}
		return Due{}, err
	}
	return d, nil
}
