package calendar

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// list writes lo..hi as an RRULE value list.
func list(lo, hi int) string {
	var b strings.Builder
	for i := lo; i <= hi; i++ {
		if i > lo {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(i))
	}
	return b.String()
}

// hostileVEvent is the amplification: a yearly rule whose
// BYHOUR × BYMINUTE × BYSECOND lists make 86,400 instances a day,
// padded with its summary to the 706 bytes.
func hostileVEvent(uid string) string {
	ev := func(summary string) string {
		return crlf("BEGIN:VEVENT", "UID:"+uid, "SUMMARY:"+summary, "DTSTART;TZID=Asia/Tokyo:20250101T000000",
			"RRULE:FREQ=YEARLY;BYMONTH="+list(1, 12)+";BYMONTHDAY="+list(1, 28)+
				";BYHOUR="+list(0, 23)+";BYMINUTE="+list(0, 59)+";BYSECOND="+list(0, 59),
			"END:VEVENT")
	}
	short := ev("")
	return ev(strings.Repeat("x", max(1, 706-len(short))))
}

// measure runs one check of a calendar watcher over body with the given
// timeout and returns how long it took, the bytes it allocated in all,
// and the peak of live heap above what was live before (sampled every
// millisecond): the check's memory.
func measure(t *testing.T, body string, timeout time.Duration) (res watchers.Result, took time.Duration, alloc, peak uint64, err error) {
	t.Helper()
	src := newSource(t, body)
	w := newTestWatcher(t, src, nil)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/allocs:bytes"}}
	read := func() (live, total uint64) {
		metrics.Read(samples)
		return samples[0].Value.Uint64(), samples[1].Value.Uint64()
	}
	runtime.GC()
	base, total0 := read()
	stop := make(chan struct{})
	sampled := make(chan uint64)
	go func() {
		var top uint64
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			live, _ := read()
			top = max(top, live)
			select {
			case <-stop:
				sampled <- top
				return
			case <-tick.C:
			}
		}
	}()
	start := time.Now()
	res, err = w.Check(ctx, watchers.Input{Now: t0})
	took = time.Since(start)
	close(stop)
	top := <-sampled
	_, total1 := read()
	if top > base {
		peak = top - base
	}
	return res, took, total1 - total0, peak, err
}

// TestHostileCalendarBounded: the 706-byte VEVENT and a 128 KB
// calendar of them must finish within the watcher's timeout and hold
// under 100 MB of heap.
func TestHostileCalendarBounded(t *testing.T) {
	one := hostileVEvent("h@x")
	if n := len(one); n != 706 && len(one) > 706 {
		t.Fatalf("hostile VEVENT is %d bytes, want 706", n)
	}
	var big strings.Builder
	big.WriteString(crlf("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//hostile//EN"))
	for i := 0; big.Len() < 128<<10; i++ {
		big.WriteString(hostileVEvent(fmt.Sprintf("h%d@x", i)))
	}
	big.WriteString(crlf("END:VCALENDAR"))
	const timeout = 5 * time.Second
	for _, tc := range []struct{ name, body string }{
		{"one VEVENT", vcal(strings.TrimSuffix(one, "\r\n"))},
		{"128 KB calendar", big.String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, took, alloc, peak, err := measure(t, tc.body, timeout)
			t.Logf("%d bytes: %v, %.1f MB allocated, peak heap %.1f MB; found %q, err %v", len(tc.body), took, mb(alloc), mb(peak), res.Found, err)
			if took > timeout {
				t.Errorf("check took %v, beyond its %v timeout", took, timeout)
			}
			if peak > 100<<20 {
				t.Errorf("check held %.0f MB of heap, want under 100 MB", mb(peak))
			}
			if err != nil || !strings.Contains(res.Found, "BYHOUR × BYMINUTE × BYSECOND make 86400 instances a day") {
				t.Errorf("found %q, err %v; want the rule refused and reported", res.Found, err)
			}
		})
	}
}

// fill repeats a VEVENT made by ev(i) into a calendar of about 128 KB.
func fill(head string, ev func(i int) string) string {
	var b strings.Builder
	b.WriteString(crlf("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//hostile//EN"))
	b.WriteString(head)
	for i := 0; b.Len() < 128<<10; i++ {
		b.WriteString(ev(i))
	}
	b.WriteString(crlf("END:VCALENDAR"))
	return b.String()
}

// TestHostileCalendarOtherShapes: other ways to make expansion costly stop
// within the check's timeout and under 100 MB: rules that match no day
// (rrule-go searches for them up to the year 9999), long COUNT rules from
// the distant past (the calendar-wide walking budget), and VTIMEZONEs with
// thousands of transitions (the transition budget).
func TestHostileCalendarOtherShapes(t *testing.T) {
	never := fill("", func(i int) string {
		return crlf("BEGIN:VEVENT", fmt.Sprintf("UID:n%d@x", i), "DTSTART:20250101T000000Z",
			"RRULE:FREQ=DAILY;BYMONTH=1;BYYEARDAY=200", "END:VEVENT")
	})
	counted := fill("", func(i int) string {
		return crlf("BEGIN:VEVENT", fmt.Sprintf("UID:c%d@x", i), "DTSTART:19000101T000000Z",
			"RRULE:FREQ=DAILY;COUNT=1000000", "END:VEVENT")
	})
	var obs strings.Builder
	obs.WriteString(crlf("BEGIN:VTIMEZONE", "TZID:Busy"))
	for i := 0; obs.Len() < 100<<10; i++ {
		obs.WriteString(crlf("BEGIN:STANDARD", fmt.Sprintf("DTSTART:19700101T%02d0000", i%24), "RRULE:FREQ=DAILY",
			"TZOFFSETFROM:+0900", "TZOFFSETTO:+0900", "END:STANDARD"))
	}
	obs.WriteString(crlf("END:VTIMEZONE"))
	zones := fill(obs.String(), func(i int) string {
		return crlf("BEGIN:VEVENT", fmt.Sprintf("UID:z%d@x", i), "DTSTART;TZID=Busy:20250910T100000", "END:VEVENT")
	})
	for _, tc := range []struct {
		name, body string
		err        string // "" for none
		// The budgets must stop their cases by themselves, so those get a
		// timeout far past what they need (even under -race on a loaded
		// machine); the case no budget stops gets a short one.
		timeout time.Duration
	}{
		{"long COUNT rules from 1900", counted, "recurrence instances to walk", 30 * time.Second},
		{"VTIMEZONE with many transitions", zones, "", 30 * time.Second},
		// Last: the walks it abandons at the deadline run on for a while.
		{"rules that never match", never, "context deadline exceeded", time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			timeout := tc.timeout
			res, took, alloc, peak, err := measure(t, tc.body, timeout)
			t.Logf("%d bytes: %v, %.1f MB allocated, peak heap %.1f MB; found %.200q, err %v", len(tc.body), took, mb(alloc), mb(peak), res.Found, err)
			if took > timeout+500*time.Millisecond {
				t.Errorf("check took %v with a %v timeout", took, timeout)
			}
			if peak > 100<<20 {
				t.Errorf("check held %.0f MB of heap, want under 100 MB", mb(peak))
			}
			if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("err = %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func mb(n uint64) float64 { return float64(n) / (1 << 20) }
