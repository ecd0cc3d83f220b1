// Package datex finds date expressions in running text — Japanese and
// English announcements, news items and government notices — and gives
// each as a due date in a form of DESIGN §4, with the sentence it is in,
// so that alertbot can propose it for a tracked event (DESIGN §10).
//
// It is pure: no I/O and no clock. The reference date for dates written
// without a year, and the zone for times written without one, come in
// Options.
//
// What each form becomes (the due is always one that watchers.ParseDue
// reads, so a proposal can be stored as typed):
//
//	2025-07-20, 2025/7/20, 7/20/2025, 2025年7月20日, 令和7年7月20日,
//	令和七年七月二十日, ２０２５年７月２０日, R7.7.20, July 20, 2025,
//	20 July 2025, Jul. 20, 7月20日                 → day 2025-07-20
//	7月末, end of July 2025, 2025年末, 2025年度末  → day: the last day
//	a day with a time: 7月20日午後2時, July 20 at 2:00 p.m. ET,
//	2025-07-20T10:30, 2025-02-07 10:30 JST         → instant with its offset
//	2025-07, 2025年7月, July 2025, in July, 7月    → month 2025-07
//	early/mid/late July 2025, 7月上旬/中旬/下旬     → month 2025-07, with
//	                                                 Match.From/Until the
//	                                                 days 1–10, 11–20, 21–end
//	Q3 2026, 2026 Q3, 2026-Q3, the third quarter of 2026,
//	2026年第3四半期, 2026年7～9月期                  → quarter 2026-Q3
//	H1 2026, the first half of 2026, 2026年上半期/前半 → half 2026-H1
//	2026年, 令和8年, in/by/since 2026, early 2026, 今年/来年/昨年 → year 2026
//	2025年度, 令和7年度, 今年度, JFY2025            → JFY2025
//	FY2026, FY26, fiscal year 2026, fiscal 2026, USFY2026 → USFY2026, or
//	                                                 JFY2026 when written in
//	                                                 Japanese text or after
//	                                                 "Japan's"/"Japanese"
//
// A month and day without a year take the year of a date written earlier
// in the same sentence (the next year when it ends a range and would fall
// before its start: 12月28日～1月4日), else the year that puts them nearest
// to Options.Ref. Both ends of a range are reported, each as its own
// match: 7月3日～20日, July 3–20, 2025.
//
// Not dates: numbers inside URLs, ids, e-mail addresses and version
// strings (a date must not be glued to letters, digits or path characters:
// /2025/07/20/, id=2025-07-20, v2025.07), phone numbers (03-3581-0101),
// ordinals (第7回), counts and durations (20日間, 2000年代), and times with
// no date next to them. Dotted dates (2025.7.20) are left out because they
// cannot be told from calendar-versioned releases; era-dotted ones
// (R7.7.20) are read.
//
// Hostile input: Extract reads at most MaxInput bytes and returns at most
// MaxMatches matches. Every form is recognised by a hand-written scanner
// that looks a bounded distance ahead of each position and never backs
// up, a context reaches at most 400 bytes either side, and a date is
// settled as soon as the next one is found, so the work and the memory
// per match do not grow with the input; there are no regular expressions.
package datex

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// MaxInput is how many bytes of a text Extract reads; the rest is ignored.
// Four MiB is far more than any announcement or feed item.
const MaxInput = 4 << 20

// MaxMatches caps the matches of one text: no real document has this many
// dates, and the cap bounds the memory a hostile one can take.
const MaxMatches = 10000

// Match is one date expression found in a text.
type Match struct {
	// Text is the expression as written: text[Offset:Offset+len(Text)].
	Text string
	// Offset is the byte offset of Text in the text.
	Offset int
	// Due is the date as a DESIGN §4 form (Due.Raw, e.g. "2025-07-20",
	// "2025-Q3", "JFY2025", "2025-07-20T14:00+09:00") and its window in
	// Options.Location; Due.Precision says how exact it is.
	Due watchers.Due
	// From and Until narrow Due's window where the text is more exact than
	// any §4 form: "mid-July 2025" is Due 2025-07 with From 11 July and
	// Until 21 July. Otherwise they equal Due.Start and Due.End.
	From, Until time.Time
	// Context is the sentence around Text, with runs of white space made
	// one space and cut with "…" when it is very long.
	Context string
}

// Options tell Extract what the text itself does not say.
type Options struct {
	// Ref is the reference date: dates written without a year take the
	// year that puts them nearest to it, and 今年/来年/今年度 count from it.
	// DESIGN §10 makes it today for the command line and the publication
	// date for a feed item. When zero, such dates are left out.
	Ref time.Time
	// Location is the zone of the windows and of times written without a
	// zone (nil: Asia/Tokyo). Times written in Japanese (午後2時, 14時30分)
	// are Japan time whatever Location is: that is what a Japanese notice
	// means by them.
	Location *time.Location
}

// PrecisionName is the name DESIGN §10 gives p in `alertbot dates --json`:
// instant, day, month, quarter, half, year or fiscal_year.
func PrecisionName(p watchers.Precision) string {
	return strings.ReplaceAll(p.String(), " ", "_")
}

// Extract returns the date expressions in text, in the order they appear.
func Extract(text string, opt Options) []Match {
	if len(text) > MaxInput {
		cut := MaxInput
		for cut > 0 && text[cut]&0xC0 == 0x80 { // back to a rune start
			cut--
		}
		text = text[:cut]
	}
	sc := &scanner{s: text}
	sc.loc = opt.Location
	if sc.loc == nil {
		sc.loc = tokyo()
	}
	if !opt.Ref.IsZero() {
		r := opt.Ref.In(sc.loc)
		sc.ref = civil(r.Year(), int(r.Month()), r.Day())
		sc.refYear, sc.refMonth = r.Year(), int(r.Month())
		sc.hasRef = true
	}
	sc.scan()
	sc.flush()
	return sc.matches()
}

// emit keeps a match. Matches go into chunks that are never regrown: a
// text full of dates would otherwise copy its growing slice again and
// again.
func (sc *scanner) emit(m Match) {
	n := len(sc.chunks)
	if n == 0 || len(sc.chunks[n-1]) == cap(sc.chunks[n-1]) {
		size := 16
		if n > 0 {
			size = min(2*cap(sc.chunks[n-1]), 1024)
		}
		sc.chunks = append(sc.chunks, make([]Match, 0, size))
		n++
	}
	sc.chunks[n-1] = append(sc.chunks[n-1], m)
}

// matches returns the matches kept, in one slice.
func (sc *scanner) matches() []Match {
	switch len(sc.chunks) {
	case 0:
		return nil
	case 1:
		return sc.chunks[0]
	}
	total := 0
	for _, c := range sc.chunks {
		total += len(c)
	}
	out := make([]Match, 0, total)
	for _, c := range sc.chunks {
		out = append(out, c...)
	}
	return out
}

// kind is the shape of a candidate date before its due form is written.
type kind uint8

const (
	kDay kind = iota
	kMonth
	kQuarter
	kHalf
	kYear
	kJFY
	kUSFY
)

// ysrc says where a candidate's year came from.
type ysrc uint8

const (
	yNone      ysrc = iota // not known yet
	yWritten               // in the text (2025年, 令和7年, 来年 counted from Ref)
	yInherited             // from a written year earlier in the sentence
	yRef                   // nearest to Ref
)

// lastDay in cand.d means the month's last day (7月末), known once the
// year is.
const lastDay = 99

// Parts of a month (early/mid/late, 上旬/中旬/下旬).
const (
	partNone = iota
	partEarly
	partMid
	partLate
)

// cand is a date found by the scanner; resolve fills in missing years.
type cand struct {
	start, end int
	kind       kind
	y, m, d    int // y 0: not written; d 0: no day
	n          int // quarter 1–4 or half 1–2
	part       int
	src        ysrc
	rangeEnd   bool // ends the range the candidate before it starts
	local      bool // after 現地時間: takes no time of day
	timed      bool
	clk        clock
}

// clock is a time of day found by the scanner.
type clock struct {
	start, end int
	h, m, sec  int
	loc        *time.Location // written zone, or nil
	ja         bool           // written in Japanese: Japan time
	local      bool           // "local time", 現地時間: a zone the text does not name
}

// settle resolves the oldest open candidate once the one after it is
// known, and emits it: a candidate's year depends only on its neighbours,
// so the scanner holds two candidates, not the whole text's.
func (sc *scanner) settle() {
	c := &sc.open[0]
	var next *cand
	if len(sc.open) > 1 {
		next = &sc.open[1]
	}
	var prev *cand
	if sc.hasPrev {
		prev = &sc.prev
	}
	sc.resolve(prev, c, next)
	if m, ok := sc.match(c); ok {
		sc.emit(m)
	}
	sc.prev, sc.hasPrev = *c, true
	sc.open = append(sc.open[:0], sc.open[1:]...)
}

// flush settles what is still open at the end of the text.
func (sc *scanner) flush() {
	for len(sc.open) > 0 {
		sc.settle()
	}
}

// resolve gives c a year, or leaves it 0 (dropped) when none can be
// chosen; p is the candidate before it (resolved), q the one after.
func (sc *scanner) resolve(p, c, q *cand) {
	if c.y != 0 {
		return
	}
	if c.kind == kDay && c.m == 0 {
		sc.resolveDayOnly(p, c)
		return
	}
	switch {
	case c.rangeEnd && p != nil:
		c.y, c.src = p.y, p.src
		if p.y != 0 && c.before(p) {
			c.y++
		}
	case p != nil && p.y != 0 && (p.src == yWritten || p.src == yInherited) && p.calendar() && !sc.boundaryBetween(p.end, c.start):
		c.y, c.src = p.y, yInherited
		if sc.rangeGap(p.end, c.start) && c.before(p) {
			c.y++
		}
	case p != nil && p.y != 0 && sc.rangeGap(p.end, c.start):
		c.y, c.src = p.y, p.src
		if c.before(p) {
			c.y++
		}
	case q != nil && q.src == yWritten && sc.rangeGap(c.end, q.start):
		c.y, c.src = q.y, yInherited
		if q.before(c) {
			c.y--
		}
	case sc.hasRef:
		c.y, c.src = sc.nearest(c), yRef
	}
}

// calendar reports whether c's year is a calendar year that a later date
// in its sentence may take. A fiscal year's is not: 令和7年度予算は3月31日に
// 成立 speaks of March 2025, before that fiscal year, as often as of March
// 2026 within it.
func (c *cand) calendar() bool { return c.kind != kJFY && c.kind != kUSFY }

// resolveDayOnly gives a day written without its month (首相は3日、…;
// 7月3日公示、20日投開票) the month of the date before it in the sentence —
// the next month when the day is earlier than that date's — or else the
// month that puts it nearest to Ref.
func (sc *scanner) resolveDayOnly(p, c *cand) {
	if p != nil {
		if p.y != 0 && p.m != 0 && (p.kind == kDay || p.kind == kMonth) && !sc.boundaryBetween(p.end, c.start) {
			c.y, c.m, c.src = p.y, p.m, yInherited
			if p.kind == kDay && p.d != lastDay && c.d < p.d {
				c.m++
				if c.m == 13 {
					c.y, c.m = c.y+1, 1
				}
			}
			return
		}
	}
	if !sc.hasRef {
		return
	}
	bestDist := -1
	for k := -1; k <= 1; k++ {
		y, m := sc.refYear, sc.refMonth+k
		if m == 0 {
			y, m = y-1, 12
		} else if m == 13 {
			y, m = y+1, 1
		}
		if c.d > daysIn(m, y) {
			continue
		}
		dist := civil(y, m, c.d) - sc.ref
		if dist < 0 {
			dist = -dist
		}
		if bestDist < 0 || dist <= bestDist {
			c.y, c.m, c.src, bestDist = y, m, yRef, dist
		}
	}
}

// before reports whether c's month and day come before p's in a year;
// false when either has no month.
func (c *cand) before(p *cand) bool {
	if c.m == 0 || p.m == 0 || (c.kind != kDay && c.kind != kMonth) || (p.kind != kDay && p.kind != kMonth) {
		return false
	}
	if c.m != p.m {
		return c.m < p.m
	}
	return c.d != 0 && p.d != 0 && c.d < p.d
}

// window is c's first and last civil day in year y, or ok false when c has
// no such day (29 February in a common year).
func (c *cand) window(y int) (first, last int, ok bool) {
	switch c.kind {
	case kDay:
		d := c.d
		if d == lastDay {
			d = daysIn(c.m, y)
		}
		if d > daysIn(c.m, y) {
			return 0, 0, false
		}
		day := civil(y, c.m, d)
		return day, day, true
	case kMonth:
		return civil(y, c.m, 1), civil(y, c.m, daysIn(c.m, y)), true
	case kQuarter:
		m := 3*c.n - 2
		return civil(y, m, 1), civil(y, m+2, daysIn(m+2, y)), true
	}
	return civil(y, 1, 1), civil(y, 12, 31), true
}

// nearest is the year, of the one before Ref's, Ref's and the one after,
// that puts c nearest to Ref (DESIGN §10); on a tie the later one, as
// announcements speak of what is coming. 0 when none fits.
func (sc *scanner) nearest(c *cand) int {
	best, bestDist := 0, 0
	for y := sc.refYear - 1; y <= sc.refYear+1; y++ {
		first, last, ok := c.window(y)
		if !ok {
			continue
		}
		dist := 0
		if sc.ref < first {
			dist = first - sc.ref
		} else if sc.ref > last {
			dist = sc.ref - last
		}
		if best == 0 || dist <= bestDist {
			best, bestDist = y, dist
		}
	}
	return best
}

// match turns a resolved candidate into a Match; false when it has no
// year or its date does not exist.
func (sc *scanner) match(c *cand) (Match, bool) {
	if c.y < 1900 || c.y > 2999 {
		return Match{}, false
	}
	var buf [40]byte
	raw := buf[:0]
	switch c.kind {
	case kDay:
		d := c.d
		if d == lastDay {
			d = daysIn(c.m, c.y)
		}
		if c.m < 1 || c.m > 12 || d < 1 || d > daysIn(c.m, c.y) {
			return Match{}, false
		}
		if c.timed {
			loc := c.clk.loc
			if loc == nil && c.clk.ja {
				loc = tokyo()
			}
			if loc == nil {
				loc = sc.loc
			}
			t := time.Date(c.y, time.Month(c.m), d, c.clk.h, c.clk.m, c.clk.sec, 0, loc)
			layout := "2006-01-02T15:04Z07:00"
			if c.clk.sec != 0 {
				layout = "2006-01-02T15:04:05Z07:00"
			}
			raw = t.AppendFormat(raw, layout)
		} else {
			raw = appendDate(raw, c.y, c.m, d)
		}
	case kMonth:
		raw = appendDate(raw, c.y, c.m, 0)
	case kQuarter:
		raw = append(appendPad(raw, c.y, 4), '-', 'Q', byte('0'+c.n))
	case kHalf:
		raw = append(appendPad(raw, c.y, 4), '-', 'H', byte('0'+c.n))
	case kYear:
		raw = appendPad(raw, c.y, 4)
	case kJFY:
		raw = appendPad(append(raw, "JFY"...), c.y, 4)
	case kUSFY:
		raw = appendPad(append(raw, "USFY"...), c.y, 4)
	}
	due, err := watchers.ParseDue(string(raw), sc.loc)
	if err != nil {
		// Cannot happen for the forms above; dropping keeps the promise
		// that every due parses.
		return Match{}, false
	}
	m := Match{
		Text:    sc.s[c.start:c.end],
		Offset:  c.start,
		Due:     due,
		From:    due.Start,
		Until:   due.End,
		Context: sc.context(c.start, c.end),
	}
	if c.kind == kMonth && c.part != partNone {
		from := [...]int{partEarly: 1, partMid: 11, partLate: 21}[c.part]
		m.From = time.Date(c.y, time.Month(c.m), from, 0, 0, 0, 0, sc.loc)
		if c.part != partLate {
			m.Until = time.Date(c.y, time.Month(c.m), from+10, 0, 0, 0, 0, sc.loc)
		}
	}
	return m, true
}

// appendDate appends YYYY-MM or, with d > 0, YYYY-MM-DD.
func appendDate(b []byte, y, m, d int) []byte {
	b = appendPad(b, y, 4)
	b = appendPad(append(b, '-'), m, 2)
	if d > 0 {
		b = appendPad(append(b, '-'), d, 2)
	}
	return b
}

// appendPad appends n with leading zeros to width w.
func appendPad(b []byte, n, w int) []byte {
	for p := 10; w > 1; w-- {
		if n < p {
			b = append(b, '0')
		}
		p *= 10
	}
	return strconv.AppendInt(b, int64(n), 10)
}

// civil numbers days so that consecutive dates differ by one.
func civil(y, m, d int) int {
	return int(time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func daysIn(m, y int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// zones caches time.LoadLocation, which reads the zone database each call.
var zones sync.Map // name → *time.Location

// zone loads a zone by name, or returns nil when the host has no zone
// database (the alertbot binary embeds one).
func zone(name string) *time.Location {
	if v, ok := zones.Load(name); ok {
		return v.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	zones.Store(name, loc)
	return loc
}

// tokyo is Asia/Tokyo, or its fixed +09:00 offset without a zone database:
// Japan has had no daylight saving time since 1951.
func tokyo() *time.Location {
	if l := zone("Asia/Tokyo"); l != nil {
		return l
	}
	return time.FixedZone("JST", 9*3600)
}
