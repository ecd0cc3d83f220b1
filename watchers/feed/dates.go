package feed

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/policyteam/alertbot/watchers"
)

// itemDate is an item's publication date: its published date, else its
// updated one. reason says why an item is left undated ("" when it is
// dated): the feed gives no date, or gives one that cannot be read.
//
// Our own parser (parseDate) goes first: gofeed reads an unknown zone
// abbreviation such as MET as UTC, an hour or two off, and reads no date
// at all from about a third of feedparser's date cases. gofeed's reading
// is kept for the forms ours does not know, unless it rests on such an
// unknown abbreviation.
func itemDate(it *gofeed.Item) (t time.Time, reason string) {
	for _, d := range []struct {
		raw    string
		parsed *time.Time
	}{{it.Published, it.PublishedParsed}, {it.Updated, it.UpdatedParsed}} {
		raw := strings.TrimSpace(d.raw)
		if raw == "" {
			if d.parsed != nil {
				return *d.parsed, ""
			}
			continue
		}
		if t, err := parseDate(raw); err == nil {
			return t, ""
		}
		if d.parsed != nil && !unknownZone(raw) {
			return *d.parsed, ""
		}
		if reason == "" {
			shown, _ := watchers.Truncate(raw, 60)
			reason = fmt.Sprintf("unreadable date %q", shown)
		}
	}
	if reason == "" {
		reason = "no date in the feed"
	}
	return time.Time{}, reason
}

// unknownZone reports whether a date ends in a zone abbreviation we do
// not know. gofeed reads such a date, but with the zone as UTC (and hands
// it over in UTC, so only the text tells).
func unknownZone(raw string) bool {
	f := strings.Fields(raw)
	if len(f) == 0 {
		return false
	}
	last := strings.ToUpper(f[len(f)-1])
	if !isAlpha(last) || last == "AM" || last == "PM" {
		return false
	}
	_, known := zoneOffsets[last]
	return !known
}

const hour = 3600

// zoneOffsets are the zone names seen in feed dates, in seconds east of
// UTC. Ambiguous abbreviations take the reading that dominates feeds
// (CST: U.S. Central; BST: British Summer Time; IST is left out). ET, CT,
// MT, PT and AT are read as standard time, as feedparser does.
var zoneOffsets = map[string]int{
	"Z": 0, "UT": 0, "UTC": 0, "GMT": 0, "WET": 0, "UCT": 0, "ZULU": 0,
	"WEST": 1 * hour, "BST": 1 * hour, "CET": 1 * hour, "MET": 1 * hour, "MEZ": 1 * hour,
	"CEST": 2 * hour, "MEST": 2 * hour, "MESZ": 2 * hour, "EET": 2 * hour, "SAST": 2 * hour,
	"EEST": 3 * hour, "MSK": 3 * hour,
	"HKT": 8 * hour, "SGT": 8 * hour, "AWST": 8 * hour,
	"JST": 9 * hour, "KST": 9 * hour, "ACST": 9*hour + 1800, "ACDT": 10*hour + 1800,
	"AEST": 10 * hour, "AEDT": 11 * hour, "NZST": 12 * hour, "NZDT": 13 * hour,
	"AT": -4 * hour, "AST": -4 * hour, "ADT": -3 * hour, "NST": -3*hour - 1800, "NDT": -2*hour - 1800,
	"ET": -5 * hour, "EST": -5 * hour, "EDT": -4 * hour,
	"CT": -6 * hour, "CST": -6 * hour, "CDT": -5 * hour,
	"MT": -7 * hour, "MST": -7 * hour, "MDT": -6 * hour,
	"PT": -8 * hour, "PST": -8 * hour, "PDT": -7 * hour,
	"AKST": -9 * hour, "AKDT": -8 * hour, "HST": -10 * hour,
}

// monthNames maps month names and abbreviations of the languages feeds
// are written in (lowercase, without a trailing dot) to months.
var monthNames = func() map[string]time.Month {
	out := map[string]time.Month{}
	for m, names := range [12]string{
		"jan january januar janvier janv enero ene gennaio gen janeiro januari január ιαν ιανουαρίου ιανουάριος",
		"feb february februar février févr fevr febrero febbraio fevereiro fev februari február φεβ φεβρουαρίου φεβρουάριος",
		"mar march märz mär maerz mars marzo março maart mrt március márc μάρ μαρ μαρτίου μάρτιος",
		"apr april avril avr abril abr aprile április ápr απρ απριλίου απρίλιος",
		"may mai mayo maggio mag maio mei május máj μάι μαι μαϊ μαΐ μαΐου μάιος",
		"jun june juni juin junio giugno giu junho június jún ιούν ιουν ιουνίου ιούνιος",
		"jul july juli juillet juil julio luglio lug julho július júl ιούλ ιουλ ιουλίου ιούλιος",
		"aug august août aout agosto ago augustus augusztus αύγ αυγ αυγούστου αύγουστος",
		"sep september sept septembre septiembre settembre set setembro szeptember szept σεπ σεπτεμβρίου σεπτέμβριος",
		"oct october oktober okt octobre octubre ottobre ott outubro out október οκτ οκτωβρίου οκτώβριος",
		"nov november novembre noviembre novembro νοέ νοε νοεμβρίου νοέμβριος",
		"dec december dezember dez décembre déc diciembre dic dicembre dezembro δεκ δεκεμβρίου δεκέμβριος",
	} {
		for _, n := range strings.Fields(names) {
			out[n] = time.Month(m + 1)
		}
	}
	return out
}()

// month reads a month name or a number 1-12 (also written 012).
func month(s string) (time.Month, bool) {
	if allDigits(s) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 12 {
			return 0, false
		}
		return time.Month(n), true
	}
	m, ok := monthNames[strings.TrimSuffix(strings.ToLower(s), ".")]
	return m, ok
}

var (
	// 2003-12-31T10:14:55.123Z, 2003-012-31, 2004-07-08 23:56:58 -00:20,
	// 2003-12, 2003, 2004-július-13T9:15-05:00.
	isoDate = regexp.MustCompile(`^(\d{4})(?:-(\d{1,3}|\pL+\.?)(?:-(\d{1,2}))?)?(?:[T ]` + clock + `)?(?:\s*` + zone + `)?$`)
	// Thu, 01 Jan 2004 19:48:21 GMT; 5 Apr 2012; 13 Feb, 2012 06:28 UTC.
	dayFirst = regexp.MustCompile(`^(\d{1,2})\s+(\pL+\.?),?\s+(\d{2}|\d{4})(?:,?\s+` + clock + `)?(?:\s*` + zone + `)?$`)
	// Aug 30 2012 17:26:16 +0200; Jan 4 16:29:06 2004; Jul 15 01:16:00 +0000 2012.
	monthFirst = regexp.MustCompile(`^(\pL+\.?)\s+(\d{1,2}),?\s+(?:(\d{4})\s+` + clock + `(?:\s*` + zone + `)?|` + clock + `(?:\s*` + zone + `)?\s+(\d{4}))$`)
	// 2006/09/15 08:19:53 EDT (Perforce).
	slashed = regexp.MustCompile(`^(\d{4})/(\d{1,2})/(\d{1,2})(?:\s+` + clock + `)?(?:\s*` + zone + `)?$`)
	// 2004-05-25 오후 11:23:17 and 2004년 05월 28일 01:31:15, Korean blogs
	// (in Korean time).
	korean = regexp.MustCompile(`^(\d{4})(?:-|년\s*)(\d{1,2})(?:-|월\s*)(\d{1,2})일?\s+(?:(오전|오후)\s*)?(\d{1,2}):(\d{2})(?::(\d{2}))?$`)
	// A leading weekday in any language, with or without a comma.
	weekday = regexp.MustCompile(`^\pL+\.?(?:,\s*|\s+)`)
)

// clock is h:mm[:ss[.fff]]; zone a name or a numeric offset.
const (
	clock = `(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?`
	zone  = `(Z|[+-]\d{2}:?\d{2}|(?:GMT|UTC|UT)[+-]\d{1,2}(?::?\d{2})?|Etc/(?:GMT|UTC)(?:[+-]\d{1,2})?|[A-Za-z]{1,5})`
)

// errDate is what parseDate returns for a string it cannot read.
var errDate = errors.New("not a date")

// parseDate reads the date forms of feeds that gofeed misses or misreads:
// RFC 822 dates with any zone name or offset, two-digit years, month names
// in several languages, ISO 8601 / W3DTF dates down to a bare year,
// asctime, Perforce and Korean blog dates. A date without a zone is UTC,
// and a partial date is the start of its month or year, as in feedparser.
// It does not read ISO 8601's truncated two-digit-year forms (031231,
// -0312): they clash with W3DTF, which rejects 22013 as a date.
func parseDate(s string) (time.Time, error) {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return time.Time{}, errDate
	}
	// A leading weekday says nothing the date does not; it is dropped
	// unless it is a month name (Mar 5 …) without a comma.
	if w := weekday.FindString(s); w != "" && w != s {
		if _, isMonth := month(strings.TrimSpace(w)); !isMonth || strings.Contains(w, ",") {
			s = s[len(w):]
		}
	}
	if strings.Contains(s, "년") || strings.Contains(s, "오전") || strings.Contains(s, "오후") {
		m := korean.FindStringSubmatch(s)
		if m == nil {
			return time.Time{}, errDate
		}
		h := atoi(m[5])
		switch {
		case m[4] == "오후" && h < 12:
			h += 12
		case m[4] == "오전" && h == 12:
			h = 0
		}
		return build(atoi(m[1]), m[2], atoi(m[3]), strconv.Itoa(h), m[6], m[7], "", "KST")
	}
	if m := isoDate.FindStringSubmatch(s); m != nil {
		mo, day := m[2], m[3]
		if mo == "" {
			mo = "1"
		}
		if day == "" {
			day = "1"
		}
		return build(atoi(m[1]), mo, atoi(day), m[4], m[5], m[6], m[7], m[8])
	}
	if m := slashed.FindStringSubmatch(s); m != nil {
		return build(atoi(m[1]), m[2], atoi(m[3]), m[4], m[5], m[6], m[7], m[8])
	}
	if m := dayFirst.FindStringSubmatch(s); m != nil {
		return build(year(m[3]), m[2], atoi(m[1]), m[4], m[5], m[6], m[7], m[8])
	}
	if m := monthFirst.FindStringSubmatch(s); m != nil {
		if m[3] != "" {
			return build(atoi(m[3]), m[1], atoi(m[2]), m[4], m[5], m[6], m[7], m[8])
		}
		return build(atoi(m[14]), m[1], atoi(m[2]), m[9], m[10], m[11], m[12], m[13])
	}
	return time.Time{}, errDate
}

// build checks and assembles the parts of a date; empty time parts are 0.
func build(y int, mo string, d int, hh, mm, ss, frac, zone string) (time.Time, error) {
	m, ok := month(mo)
	if !ok || d < 1 || d > daysIn(m, y) {
		return time.Time{}, errDate
	}
	h, mi, sec := atoi(hh), atoi(mm), atoi(ss)
	if h > 23 || mi > 59 || sec > 60 {
		return time.Time{}, errDate
	}
	if sec == 60 { // a leap second reads as the last second of its minute
		sec = 59
	}
	ns := 0
	if frac != "" {
		ns = atoi((frac + "00000000")[:9])
	}
	loc := time.UTC
	if zone != "" {
		off, ok := zoneOffset(zone)
		if !ok {
			return time.Time{}, errDate
		}
		loc = time.FixedZone(zoneLabel(zone, off), off)
	}
	return time.Date(y, m, d, h, mi, sec, ns, loc), nil
}

// zoneOffset reads a zone: Z, +0100, -01:01, GMT-01:01, UTC+9, Etc/GMT+5
// (whose sign is inverted, as in the tz database), or a name.
func zoneOffset(z string) (int, bool) {
	up := strings.ToUpper(z)
	switch {
	case strings.HasPrefix(up, "ETC/"):
		name, n := up[len("ETC/"):], ""
		if i := strings.IndexAny(name, "+-"); i >= 0 {
			name, n = name[:i], name[i:]
		}
		if o, ok := zoneOffsets[name]; !ok || o != 0 {
			return 0, false
		}
		if n == "" {
			return 0, true
		}
		h, err := strconv.Atoi(n)
		if err != nil || h < -14 || h > 12 {
			return 0, false
		}
		return -h * hour, true // Etc/GMT+5 is five hours west
	case up[0] == '+' || up[0] == '-':
		return numericOffset(up)
	case strings.ContainsAny(up, "+-"):
		// GMT-01:01, UTC+9: the sign as written.
		i := strings.IndexAny(up, "+-")
		if o, ok := zoneOffsets[up[:i]]; !ok || o != 0 {
			return 0, false
		}
		return numericOffset(up[i:])
	}
	if v, ok := zoneOffsets[up]; ok {
		return v, true
	}
	return 0, false
}

// numericOffset reads +hh, +hhmm or +hh:mm, at most 14 hours.
func numericOffset(s string) (int, bool) {
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	digits := strings.ReplaceAll(s[1:], ":", "")
	if !allDigits(digits) || len(digits) > 4 || len(digits) == 3 {
		return 0, false
	}
	h, m := atoi(digits[:min(2, len(digits))]), 0
	if len(digits) == 1 {
		h = atoi(digits)
	}
	if len(digits) == 4 {
		m = atoi(digits[2:])
	}
	if h > 14 || m > 59 {
		return 0, false
	}
	return sign * (h*hour + m*60), true
}

// zoneLabel names a fixed zone: its abbreviation, or "" for an offset.
func zoneLabel(z string, off int) string {
	if isAlpha(z) && off != 0 {
		return strings.ToUpper(z)
	}
	if off == 0 {
		return "UTC"
	}
	return ""
}

func year(s string) int {
	y := atoi(s)
	if len(s) == 2 { // RFC 2822 §4.3
		if y < 50 {
			return 2000 + y
		}
		return 1900 + y
	}
	return y
}

func daysIn(m time.Month, y int) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return s != ""
}
