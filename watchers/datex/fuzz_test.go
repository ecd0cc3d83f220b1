package datex

import (
	"testing"
	"time"
	"unicode/utf8"

	"github.com/policyteam/alertbot/watchers"
)

// FuzzExtract: no input panics; every match lies inside the text and is
// the text at its offset; its due parses as DESIGN §4 to the same window
// and precision; From and Until lie within that window.
func FuzzExtract(f *testing.F) {
	for _, c := range corpus {
		f.Add(c.text)
	}
	for _, s := range []string{"", "7", "7月", "令和", "令和元年度末", "R7.7.", "2025-07-20T", "2025-07-20T25:00", "July 3–", "July 3–20,",
		"午後12時", "二二十日", "十十月", "〇月〇日", "2月30日", "2025年2月29日", "12月28日～1月4日", "\xff7月20日\xfe", "FY99", "Q5 2026",
		"from 9:00 to 17:00 on", "(", "（日本時間", "7月20日（", "July\n\n20, 2025", "end of", "the first half of 99999"} {
		f.Add(s)
	}
	ref := time.Date(2025, 6, 1, 9, 0, 0, 0, tokyoLoc)
	f.Fuzz(func(t *testing.T, text string) {
		for _, m := range Extract(text, Options{Ref: ref}) {
			if m.Offset < 0 || m.Offset+len(m.Text) > len(text) || text[m.Offset:m.Offset+len(m.Text)] != m.Text || m.Text == "" {
				t.Fatalf("match %q at %d is not the text there", m.Text, m.Offset)
			}
			d, err := watchers.ParseDue(m.Due.Raw, tokyoLoc)
			if err != nil {
				t.Fatalf("%q: due %q does not parse: %v", m.Text, m.Due.Raw, err)
			}
			if d.Precision != m.Due.Precision || !d.Start.Equal(m.Due.Start) || !d.End.Equal(m.Due.End) {
				t.Fatalf("%q: due %q parses to %v, match says %v", m.Text, m.Due.Raw, d, m.Due)
			}
			if m.From.Before(d.Start) || m.Until.After(d.End) || m.Until.Before(m.From) {
				t.Fatalf("%q: [%v, %v) outside %s", m.Text, m.From, m.Until, d.Raw)
			}
			// Bytes that are not UTF-8 may each become a 3-byte U+FFFD.
			if len(m.Context) > 3*(2*ctxMax+len(m.Text))+8 || m.Context == "" || !utf8.ValidString(m.Context) {
				t.Fatalf("%q: context of %d bytes: %q", m.Text, len(m.Context), m.Context)
			}
		}
	})
}
