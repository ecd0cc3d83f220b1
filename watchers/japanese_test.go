package watchers

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestParseLeadCombined: units combine from largest to smallest and
// become one lead in the smallest unit, which fires as its single-unit
// spelling does.
func TestParseLeadCombined(t *testing.T) {
	tests := []struct {
		in   string
		want Lead
	}{
		{"1h30m", Lead{90, 'm'}},
		{"2w3d", Lead{17, 'd'}},
		{"1d12h", Lead{36, 'h'}},
		{"1w0d", Lead{7, 'd'}},
		{"1w1d1h1m", Lead{8*24*60 + 61, 'm'}},
		{"７ｄ", Lead{7, 'd'}},
		{"１ｈ３０ｍ", Lead{90, 'm'}},
	}
	for _, tt := range tests {
		got, err := ParseLead(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseLead(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	// Out of order, repeated, or without a unit between numbers.
	for _, in := range []string{"30m1h", "1h1h", "1h30", "1h-30m", "1h 30m", "2w3", "h30m"} {
		if l, err := ParseLead(in); err == nil || !strings.Contains(err.Error(), "e.g. 7d, 12h, 1h30m or 2w3d") {
			t.Errorf("ParseLead(%q) = %+v, %v; want an error with examples", in, l, err)
		}
	}
	// Each number stays within the old bound, and the whole within what a
	// time.Duration holds (100000w used to overflow it silently).
	if _, err := ParseLead("100000d"); err != nil {
		t.Errorf("100000d: %v", err)
	}
	if _, err := ParseLead("100000w"); err == nil || !strings.Contains(err.Error(), "longer than 290 years") {
		t.Errorf("100000w: %v", err)
	}
	if d, err := ParseDuration("100000d"); err != nil || d <= 0 {
		t.Errorf("ParseDuration(100000d) = %s, %v", d, err)
	}
}

// TestParseDueJapanese: the Japanese forms of DESIGN §9 resolve to the
// window of their canonical form, which becomes Raw.
func TestParseDueJapanese(t *testing.T) {
	tokyo := loadLoc(t, "Asia/Tokyo")
	tests := []struct {
		in, raw string
		prec    Precision
		start   string
	}{
		{"2027年3月31日", "2027-03-31", Day, "2027-03-31T00:00:00+09:00"},
		{"2027年3月", "2027-03", Month, "2027-03-01T00:00:00+09:00"},
		{"2027年", "2027", Year, "2027-01-01T00:00:00+09:00"},
		{"2027年度", "JFY2027", FiscalYear, "2027-04-01T00:00:00+09:00"},
		{"令和9年3月31日", "2027-03-31", Day, "2027-03-31T00:00:00+09:00"},
		{"令和9年3月", "2027-03", Month, "2027-03-01T00:00:00+09:00"},
		{"令和9年", "2027", Year, "2027-01-01T00:00:00+09:00"},
		{"令和9年度", "JFY2027", FiscalYear, "2027-04-01T00:00:00+09:00"},
		{"令和元年5月1日", "2019-05-01", Day, "2019-05-01T00:00:00+09:00"},
		{"令和元年度", "JFY2019", FiscalYear, "2019-04-01T00:00:00+09:00"},
		{"平成31年4月30日", "2019-04-30", Day, "2019-04-30T00:00:00+09:00"},
		{"平成元年", "1989", Year, "1989-01-01T00:00:00+09:00"},
		{"令和九年三月三十一日", "2027-03-31", Day, "2027-03-31T00:00:00+09:00"},
		{"令和十年十二月", "2028-12", Month, "2028-12-01T00:00:00+09:00"},
		{"二〇二七年三月", "2027-03", Month, "2027-03-01T00:00:00+09:00"},
		{"二千二十七年度", "JFY2027", FiscalYear, "2027-04-01T00:00:00+09:00"},
		{"令和９年３月３１日", "2027-03-31", Day, "2027-03-31T00:00:00+09:00"},
		{"２０２７年３月３１日", "2027-03-31", Day, "2027-03-31T00:00:00+09:00"},
		{"令和 9 年 3 月", "2027-03", Month, "2027-03-01T00:00:00+09:00"},
		{"２０２７－０３－３１", "2027-03-31", Day, "2027-03-31T00:00:00+09:00"},
		{"ＪＦＹ２０２７", "JFY2027", FiscalYear, "2027-04-01T00:00:00+09:00"},
	}
	for _, tt := range tests {
		d, err := ParseDue(tt.in, tokyo)
		if err != nil {
			t.Errorf("ParseDue(%q): %v", tt.in, err)
			continue
		}
		if d.Raw != tt.raw || d.Precision != tt.prec || d.Start.Format(time.RFC3339) != tt.start {
			t.Errorf("ParseDue(%q) = %q %s %s; want %q %s %s", tt.in, d.Raw, d.Precision, d.Start.Format(time.RFC3339), tt.raw, tt.prec, tt.start)
		}
		// The canonical form means the same window.
		c, err := ParseDue(d.Raw, tokyo)
		if err != nil || !c.Start.Equal(d.Start) || !c.End.Equal(d.End) || c.Raw != d.Raw {
			t.Errorf("canonical %q of %q = %+v, %v", d.Raw, tt.in, c, err)
		}
	}
}

func TestParseDueJapaneseErrors(t *testing.T) {
	tokyo := loadLoc(t, "Asia/Tokyo")
	tests := []struct{ in, reason string }{
		{"令和元年4月30日", "令和元年4月30日 is before 令和 began on 2019-05-01"},
		{"令和元年4月", "令和元年4月 is before 令和 began on 2019-05-01"},
		{"令和0年", "令和0年: an era year runs from 元 (1) to 99"},
		{"元年", "元年 needs an era before it, e.g. 令和元年"},
		{"令和", "令和 needs a year after it, e.g. 令和9年 or 令和元年"},
		{"令和9", "want the year followed by 年, e.g. 2027年3月31日 or 令和9年3月31日"},
		{"2027年13月", "month 13 out of range 1-12"},
		{"2027年2月30日", "February 2027 has no day 30"},
		{"2027年3月31", "want the day followed by 日 and nothing after it, e.g. 31日"},
		{"2027年3月31日午後", "want the day followed by 日 and nothing after it, e.g. 31日"},
		{"2027年度末", `nothing may follow 年度 (a fiscal year), got "末"`},
		{"27年3月", "year 27 out of range 1900-2999"},
		{"十十年", "not a date form"},
		{"来年", "not a date form"},
		{"Q3 ２０２７", `year "Q32027" must have four digits`},
	}
	for _, tt := range tests {
		_, err := ParseDue(tt.in, tokyo)
		var de *DueError
		if !errors.As(err, &de) || de.Reason != tt.reason || de.Input != tt.in {
			t.Errorf("ParseDue(%q) = %v; want reason %q", tt.in, err, tt.reason)
		}
	}
}

func TestReadNumber(t *testing.T) {
	for in, want := range map[string]int{"9": 9, "31": 31, "九": 9, "十": 10, "十二": 12, "三十一": 31, "二〇二七": 2027,
		"二千二十七": 2027, "百": 100, "千九百八十九": 1989} {
		n, rest, ok := readNumber(in + "年")
		if !ok || n != want || rest != "年" {
			t.Errorf("readNumber(%q) = %d, %q, %v; want %d", in, n, rest, ok, want)
		}
	}
	for _, in := range []string{"", "年", "十百", "十十", "12十", "1234567"} {
		if n, _, ok := readNumber(in); ok {
			t.Errorf("readNumber(%q) = %d, want no number", in, n)
		}
	}
}

func TestTagPatternAnyScript(t *testing.T) {
	for tag, ok := range map[string]bool{
		"budget": true, "us-japan": true, "fy_2027": true, "予算": true, "参院選": true, "élection": true, "выборы": true,
		"한미": true, "9": true, "Budget": false, "ÉLECTION": false, "-x": false, "_x": false, "a b": false, "a!": false,
		"": false, strings.Repeat("予", 64): true, strings.Repeat("予", 65): false,
	} {
		if TagPattern.MatchString(tag) != ok {
			t.Errorf("TagPattern(%q) = %v, want %v", tag, !ok, ok)
		}
	}
}

// FuzzParseDueJapanese: no input panics, and every accepted window is
// ordered and has a canonical Raw that parses to the same window.
func FuzzParseDueJapanese(f *testing.F) {
	for _, s := range []string{"令和9年3月31日", "令和元年度", "二千二十七年", "２０２７年", "十", "令和", "年月日度"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDue(s, time.UTC)
		if err != nil {
			return
		}
		if d.End.Before(d.Start) || hasNonASCII(d.Raw) {
			t.Errorf("ParseDue(%q) = %+v", s, d)
		}
	})
}
