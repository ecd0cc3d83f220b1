package datex

import "strings"

// atNumber parses the forms that start with a number at i: Japanese
// (2025年7月20日, 7月20日, 14時30分, 7～9月期) and, for ASCII digits, the
// numeric and English ones. It returns the end of what it used, or 0.
func (sc *scanner) atNumber(i int) int {
	n, ok := sc.number(i)
	if !ok {
		return 0
	}
	j := sc.skipSpace(n.end, 2)
	if k := sc.skipAside(j); k > j && sc.has(k, "年") { // 2025（令和7）年
		j = k
	}
	switch {
	case sc.has(j, "年"):
		// Two-digit years (25年) are counts of years as often as dates.
		if validYear(n.v) && (n.digits == 4 || n.kanji) {
			return sc.afterYear(i, n.v, j+len("年"), yWritten)
		}
		return 0
	case sc.has(j, "会計年度"):
		// A foreign fiscal year, in Japanese: 米国の2026会計年度.
		if validYear(n.v) && (n.digits == 4 || n.kanji) {
			e := j + len("会計年度")
			k := kJFY
			if back := sc.s[max(0, i-40):i]; strings.Contains(back, "米") || strings.Contains(back, "アメリカ") {
				k = kUSFY
			}
			sc.add(cand{start: i, end: e, kind: k, y: n.v, src: yWritten})
			return e
		}
		return 0
	case sc.has(j, "月"):
		if n.v >= 1 && n.v <= 12 {
			return sc.afterMonth(i, 0, n.v, j+len("月"), yNone)
		}
		return 0
	case sc.has(n.end, "日") && !n.kanji:
		return sc.dayOnly(i, n)
	case sc.has(j, "時"):
		// Kanji hours only after 午前/午後: 一時 is "for a while".
		if !n.kanji {
			return sc.jaClock(i, n.v, j)
		}
		return 0
	}
	if q, e := sc.quarterMonths(n); q > 0 { // 7～9月期
		sc.add(cand{start: i, end: e, kind: kQuarter, n: q})
		return e
	}
	if n.ascii {
		return sc.asciiNumber(i, n)
	}
	return 0
}

// eras are the Japanese eras read, with the Gregorian year before each
// one's first year and the last year it reached.
var eras = [...]struct {
	name       string
	letter     byte
	base, last int
}{
	{"令和", 'R', 2018, 99},
	{"平成", 'H', 1988, 31},
	{"昭和", 'S', 1925, 64},
}

// atEra parses an era year at i: 令和7年…, 平成31年…, 令和元年….
func (sc *scanner) atEra(i int) int {
	for _, e := range eras {
		if !sc.has(i, e.name) {
			continue
		}
		j := sc.skipSpace(i+len(e.name), 2)
		n, k := 1, j+len("元")
		if !sc.has(j, "元") {
			v, ok := sc.number(j)
			if !ok {
				return 0
			}
			n, k = v.v, v.end
		}
		if n < 1 || n > e.last {
			return 0
		}
		k = sc.skipSpace(k, 2)
		if a := sc.skipAside(k); a > k && sc.has(a, "年") { // 令和7（2025）年
			k = a
		}
		if !sc.has(k, "年") {
			return 0
		}
		return sc.afterYear(i, e.base+n, k+len("年"), yWritten)
	}
	return 0
}

// skipAside skips a bracketed year given in the other calendar, as notices
// write them: 令和7年（2025年）, 2025（令和7）年. It returns k when there is
// none.
func (sc *scanner) skipAside(k int) int {
	var close string
	j := k
	switch {
	case sc.has(k, "（"):
		close, j = "）", k+len("（")
	case sc.has(k, "("):
		close, j = ")", k+1
	default:
		return k
	}
	j = sc.skipSpace(j, 1)
	for _, e := range eras {
		if sc.has(j, e.name) {
			j += len(e.name)
			break
		}
	}
	if sc.has(j, "元") {
		j += len("元")
	} else if n, ok := sc.number(j); ok {
		j = n.end
	} else {
		return k
	}
	if sc.has(j, "年") {
		j += len("年")
	}
	j = sc.skipSpace(j, 1)
	if !sc.has(j, close) {
		return k
	}
	return j + len(close)
}

// afterYear parses what follows a written year ending at j (after 年):
// 度 (fiscal year), 末, 上半期/前半, 第N四半期, N～M月期, a month, or
// nothing (the year).
func (sc *scanner) afterYear(start, y, j int, src ysrc) int {
	if !validYear(y) {
		return 0
	}
	k := sc.skipAside(j)
	switch {
	case sc.has(k, "度"):
		return sc.fiscal(start, y, k+len("度"), src)
	case sc.has(k, "代"), sc.has(k, "間"): // 2000年代, 2025年間: not a date
		return 0
	case sc.has(k, "末"):
		e := k + len("末")
		sc.add(cand{start: start, end: e, kind: kDay, y: y, m: 12, d: 31, src: src})
		return e
	}
	for _, h := range [...]struct {
		w string
		n int
	}{{"上半期", 1}, {"前半", 1}, {"下半期", 2}, {"後半", 2}} {
		if sc.has(k, h.w) {
			e := k + len(h.w)
			sc.add(cand{start: start, end: e, kind: kHalf, y: y, n: h.n, src: src})
			return e
		}
	}
	if sc.has(k, "第") {
		if n, ok := sc.number(k + len("第")); ok && n.v >= 1 && n.v <= 4 && sc.has(n.end, "四半期") {
			e := n.end + len("四半期")
			sc.add(cand{start: start, end: e, kind: kQuarter, y: y, n: n.v, src: src})
			return e
		}
	}
	if n, ok := sc.number(sc.skipSpace(k, 2)); ok {
		e := sc.skipSpace(n.end, 2)
		if sc.has(e, "月") && n.v >= 1 && n.v <= 12 {
			if sc.has(e, "月期") && (n.v == 3 || n.v == 12) {
				// A business year named by its closing month: 2025年3月期
				// runs April 2024 – March 2025.
				end := e + len("月期")
				if n.v == 3 {
					sc.add(cand{start: start, end: end, kind: kJFY, y: y - 1, src: src})
				} else {
					sc.add(cand{start: start, end: end, kind: kYear, y: y, src: src})
				}
				return end
			}
			return sc.afterMonth(start, y, n.v, e+len("月"), src)
		}
		if q, qe := sc.quarterMonths(n); q > 0 {
			sc.add(cand{start: start, end: qe, kind: kQuarter, y: y, n: q, src: src})
			return qe
		}
	}
	sc.add(cand{start: start, end: j, kind: kYear, y: y, src: src})
	return j
}

// fiscal adds Japan's fiscal year y, whose 年度 ends at e; 年度末 is its
// last day, 31 March of the next year.
func (sc *scanner) fiscal(start, y, e int, src ysrc) int {
	if !validYear(y) {
		return 0
	}
	if sc.has(e, "末") {
		end := e + len("末")
		sc.add(cand{start: start, end: end, kind: kDay, y: y + 1, m: 3, d: 31, src: src})
		return end
	}
	sc.add(cand{start: start, end: e, kind: kJFY, y: y, src: src})
	return e
}

// afterMonth parses what follows a month ending at j (after 月): a day
// (and a range to a later day), a part of the month, its end, or nothing.
func (sc *scanner) afterMonth(start, y, m, j int, src ysrc) int {
	if n, ok := sc.number(sc.skipSpace(j, 2)); ok && n.v >= 1 && n.v <= 31 {
		e := sc.skipSpace(n.end, 2)
		if sc.has(e, "日") {
			end := e + len("日")
			sc.add(cand{start: start, end: end, kind: kDay, y: y, m: m, d: n.v, src: src})
			return sc.jaRangeDay(end)
		}
		if e := sc.twoDays(start, y, m, n, src); e > 0 {
			return e
		}
	}
	for _, p := range [...]struct {
		w    string
		part int
	}{{"上旬", partEarly}, {"初旬", partEarly}, {"初め", partEarly}, {"初頭", partEarly},
		{"中旬", partMid}, {"半ば", partMid}, {"下旬", partLate}} {
		if sc.has(j, p.w) {
			e := j + len(p.w)
			sc.add(cand{start: start, end: e, kind: kMonth, y: y, m: m, part: p.part, src: src})
			return e
		}
	}
	if sc.has(j, "末") {
		e := j + len("末")
		sc.add(cand{start: start, end: e, kind: kDay, y: y, m: m, d: lastDay, src: src})
		return e
	}
	if src == yNone {
		// 6月を経過した日, 6月以内: laws count months this way.
		for _, w := range [...]string{"を経過", "以内", "間", "を超"} {
			if sc.has(j, w) {
				return 0
			}
		}
	}
	sc.add(cand{start: start, end: j, kind: kMonth, y: y, m: m, src: src})
	return j
}

// twoDays parses two days of one month after the month: 7月30、31日 and
// 7月30、31両日. n is the first day.
func (sc *scanner) twoDays(start, y, m int, n num, src ysrc) int {
	for _, sep := range [...]string{"、", "，", "・", ","} {
		if !sc.has(n.end, sep) {
			continue
		}
		n2, ok := sc.number(n.end + len(sep))
		if !ok || n2.v <= n.v || n2.v > 31 {
			return 0
		}
		end := n2.end
		switch {
		case sc.has(end, "日"):
			end += len("日")
		case sc.has(end, "両日"):
			end += len("両日")
		default:
			return 0
		}
		sc.add(cand{start: start, end: n.end, kind: kDay, y: y, m: m, d: n.v, src: src})
		sc.add(cand{start: n.end + len(sep), end: end, kind: kDay, y: y, m: m, d: n2.v, src: src, rangeEnd: true})
		return end
	}
	return 0
}

// dayFollowers may follow a day written without its month (首相は3日、…)
// for it to be read as a date; anything else (20日間, 3日連続, 残り10日。)
// is more likely a count of days.
var dayFollowers = [...]string{"、", "，", ",", "に", "の", "は", "まで", "から", "付", "午前", "午後", "夜", "朝",
	"未明", "深夜", "夕", "正午", "昼", "（", "(", "）", ")", "投", "公示", "告示", "召集", "閉", "開", "発", "解散", "～", "〜", "・"}

// firstFollowers are the only followers of 1日, which is as often "one
// day" (1日に3回, 1日の平均) as the first of the month.
var firstFollowers = [...]string{"、", "，", ",", "付", "から", "投", "公示", "告示", "召集", "午前", "午後", "夜", "朝", "未明", "（", "(", "）", ")"}

// dayBlockers before a number make its 日 a count or a recurring day.
var dayBlockers = [...]string{"毎月", "毎", "約", "計", "残り", "各", "最大", "最長", "最短", "およそ", "わずか", "ほぼ",
	"第", "延べ", "数", "月", "週", "年", "平均", "過去", "直近", "ここ", "この", "今後", "全", "連続", "以上"}

// dayOnly parses a day written without its month, as news does for days
// near its date: 首相は3日、…, 20日投開票. resolve gives it a month.
func (sc *scanner) dayOnly(i int, n num) int {
	if n.v < 1 || n.v > 31 {
		return 0
	}
	e := n.end + len("日")
	followers := dayFollowers[:]
	if n.v == 1 {
		followers = firstFollowers[:]
	}
	ok := false
	for _, f := range followers {
		if sc.has(e, f) {
			ok = true
			break
		}
	}
	if !ok {
		return 0
	}
	before := sc.s[:sc.skipBack(i)]
	for _, b := range dayBlockers {
		if strings.HasSuffix(before, b) {
			return 0
		}
	}
	sc.add(cand{start: i, end: e, kind: kDay, d: n.v})
	return e
}

// rangeMarks join the two ends of a Japanese range.
var rangeMarks = [...]string{"～", "〜", "~", "－", "-", "–", "—", "から"}

// jaRangeDay reads the end of a range whose start, the candidate just
// found, ends at e and whose end gives only the day: 7月3日（木）～20日（日）,
// 7月3日から20日まで.
func (sc *scanner) jaRangeDay(e int) int {
	first := *sc.last()
	k := sc.skipSpace(sc.skipWeekday(e), 1)
	mark := 0
	for _, w := range rangeMarks {
		if sc.has(k, w) {
			mark = len(w)
			break
		}
	}
	if mark == 0 {
		return e
	}
	j := sc.skipSpace(k+mark, 1)
	n, ok := sc.number(j)
	if !ok || n.v <= first.d || n.v > 31 || !sc.has(n.end, "日") {
		return e
	}
	end := n.end + len("日")
	// 20日間, 20日以内, 20日後: a count of days, not a date.
	if r, _ := sc.at(end); strings.ContainsRune("間以後前程ほ余超目", r) {
		return e
	}
	sc.add(cand{start: j, end: end, kind: kDay, y: first.y, m: first.m, d: n.v, src: first.src, rangeEnd: true})
	return end
}

// skipWeekday skips a bracketed Japanese weekday: （日）, (月・祝).
func (sc *scanner) skipWeekday(e int) int {
	var close rune
	j := e
	switch {
	case sc.has(e, "（"):
		close, j = '）', e+len("（")
	case sc.has(e, "("):
		close, j = ')', e+1
	default:
		return e
	}
	for n := 0; n < 4; n++ {
		r, size := sc.at(j)
		if r == close {
			if n == 0 {
				return e
			}
			return j + size
		}
		if !strings.ContainsRune("月火水木金土日祝休・", r) {
			return e
		}
		j += size
	}
	return e
}

// quarterMonths reads the months of a quarter after the number n:
// 7～9月期 (the third quarter); q is 0 when there is none.
func (sc *scanner) quarterMonths(n num) (q, end int) {
	k := n.end
	mark := 0
	for _, w := range rangeMarks[:6] {
		if sc.has(k, w) {
			mark = len(w)
			break
		}
	}
	if mark == 0 {
		return 0, 0
	}
	m, ok := sc.number(k + mark)
	if !ok || !sc.has(m.end, "月期") {
		return 0, 0
	}
	if n.v%3 != 1 || m.v != n.v+2 || m.v > 12 {
		return 0, 0
	}
	return (n.v + 2) / 3, m.end + len("月期")
}

// atJaTime parses 午前/午後 N時[M分|半] and 正午: Japan time.
func (sc *scanner) atJaTime(i int) int {
	if sc.has(i, "正午") {
		e := i + len("正午")
		return sc.finishClock(clock{start: i, end: e, h: 12, ja: true})
	}
	pm := sc.has(i, "午後")
	if !pm && !sc.has(i, "午前") {
		return 0
	}
	n, ok := sc.number(sc.skipSpace(i+len("午前"), 1))
	// 午前12時 and 午後12時 are read both ways in Japan: left out.
	if !ok || n.v > 11 || !sc.has(n.end, "時") {
		return 0
	}
	h := n.v
	if pm {
		h += 12
	}
	return sc.jaClock(i, h, n.end)
}

// jaClock parses the rest of a Japanese time whose hour h is followed by
// 時 at j: 14時, 14時30分, 2時半.
func (sc *scanner) jaClock(start, h, j int) int {
	if h > 23 {
		return 0
	}
	e := j + len("時")
	// 2時間, 時点, 時期: not a time of day.
	if r, _ := sc.at(e); strings.ContainsRune("間点期代限差効刻", r) {
		return 0
	}
	m := 0
	if n, ok := sc.number(e); ok && n.v <= 59 && sc.has(n.end, "分") {
		m, e = n.v, n.end+len("分")
		if r, _ := sc.at(e); r == '間' { // 30分間
			return 0
		}
	} else if sc.has(e, "半") {
		m, e = 30, e+len("半")
	}
	return sc.finishClock(clock{start: start, end: e, h: h, m: m, ja: true})
}

// finishClock reads a zone after a time and records it.
func (sc *scanner) finishClock(c clock) int {
	loc, e, local, ok := sc.zoneAfter(c.end)
	if !ok {
		return 0
	}
	if loc != nil || local {
		c.loc, c.end, c.local = loc, e, local
	}
	sc.addTime(c)
	return c.end
}

// relatives are years counted from the reference date.
var relatives = [...]struct {
	w      string
	dy     int
	fiscal bool
}{
	{"今年度", 0, true}, {"本年度", 0, true}, {"来年度", 1, true}, {"昨年度", -1, true}, {"前年度", -1, true},
	{"今年", 0, false}, {"本年", 0, false}, {"来年", 1, false}, {"昨年", -1, false}, {"去年", -1, false},
}

// atRelative parses 今年, 来年, 昨年, their fiscal years 今年度, 来年度, and
// 今月, 来月, 先月, with what follows them (来年7月, 今月20日).
func (sc *scanner) atRelative(i int) int {
	if !sc.hasRef {
		return 0
	}
	// Inside a word these are no years: 将来年金, 一昨年, 日本年金.
	if p, _ := sc.before(i); isKanji(p) {
		return 0
	}
	for k, w := range [...]string{"先月", "今月", "来月"} {
		if sc.has(i, w) {
			y, m := sc.refYear, sc.refMonth+k-1
			if m == 0 {
				y, m = y-1, 12
			} else if m == 13 {
				y, m = y+1, 1
			}
			return sc.afterMonth(i, y, m, i+len(w), yWritten)
		}
	}
	for _, r := range relatives {
		if !sc.has(i, r.w) {
			continue
		}
		e := i + len(r.w)
		if r.fiscal {
			fy := sc.refYear
			if sc.refMonth < 4 {
				fy--
			}
			return sc.fiscal(i, fy+r.dy, e, yWritten)
		}
		return sc.afterYear(i, sc.refYear+r.dy, e, yWritten)
	}
	return 0
}

// skipBack steps back over one space before i.
func (sc *scanner) skipBack(i int) int {
	if r, n := sc.before(i); n > 0 && (r == ' ' || r == '\u3000' || r == '\u00a0') {
		return i - n
	}
	return i
}
