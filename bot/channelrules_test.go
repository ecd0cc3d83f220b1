package bot

import (
	"strings"
	"testing"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// TestConfigChannels: `channels:` entries parse into canonical settings,
// and each mistake is one error at its line naming the field.
func TestConfigChannels(t *testing.T) {
	cfg := mustParse(t, lines(
		"timezone: Asia/Tokyo",
		"channels:",
		"  - channel: slack:C0123ABCD",
		`    quiet: "22:00-7:00"`,
		"    digest: weekly Monday 8:00",
		"    zone: America/New_York",
		"  - channel: discord:42",
		"    digest: daily 08:00",
	))
	if len(cfg.Channels) != 2 {
		t.Fatalf("channels %+v", cfg.Channels)
	}
	got := cfg.Channels[0]
	if s := got.Settings; s.Channel != "slack:C0123ABCD" || s.Quiet != "22:00-07:00" || s.Digest != "weekly mon 08:00" ||
		s.Zone != "America/New_York" || s.Origin != "config" || got.Line != 3 || got.Hash == "" {
		t.Errorf("first entry %+v", got)
	}
	if cfg.Channels[1].Hash == got.Hash {
		t.Error("two entries with one hash")
	}
	tests := []struct {
		name string
		src  string
		line int
		msg  string
	}{
		{"bad window", lines("channels:", "  - channel: console:local", `    quiet: "25:00-07:00"`), 3, `quiet: bad window "25:00-07:00"`},
		{"empty window", lines("channels:", "  - channel: console:local", `    quiet: "07:00-07:00"`), 3, "starts and ends at the same time"},
		{"bad day", lines("channels:", "  - channel: console:local", "    digest: weekly someday 08:00"), 3, `digest: bad day "someday"`},
		{"bad digest", lines("channels:", "  - channel: console:local", "    digest: hourly"), 3, `digest: bad time "hourly"`},
		{"bad zone", lines("channels:", "  - channel: console:local", "    quiet: 22:00-07:00", "    zone: Mars/Base"), 4, `zone: unknown time zone "Mars/Base"`},
		{"unknown field", lines("channels:", "  - channel: console:local", "    quiet: 22:00-07:00", "    loud: yes"), 4, `unknown field "loud" in channels entry`},
		{"no channel", lines("channels:", "  - quiet: 22:00-07:00"), 2, "channels entry has no channel"},
		{"bad channel", lines("channels:", "  - channel: irc:#x", "    quiet: 22:00-07:00"), 2, "irc"},
		{"nothing set", lines("channels:", "  - channel: console:local"), 2, "sets nothing"},
		{"duplicate", lines("channels:", "  - channel: console:local", "    quiet: 22:00-07:00", "  - channel: console:local", "    digest: daily 08:00"), 4, "duplicate channels entry for console:local (first at line 2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := mustFail(t, tt.src)
			if len(errs) != 1 {
				t.Fatalf("%d errors, want 1: %v", len(errs), errs)
			}
			if errs[0].Line != tt.line || !strings.Contains(errs[0].Msg, tt.msg) {
				t.Errorf("error %v, want line %d with %q", errs[0], tt.line, tt.msg)
			}
		})
	}
}

// TestChannelRules: quiet windows (wrapping midnight or not), digest times
// moved out of quiet hours, and the plan for each kind.
func TestChannelRules(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	jst := func(d, h, m int) time.Time { return time.Date(2026, 12, d, h, m, 0, 0, tokyo) }
	r, err := compileRules(ChannelSettings{Quiet: "22:00-07:00", Digest: "daily 06:00"}, tokyo)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		at    time.Time
		until time.Time // zero: not quiet
	}{
		{jst(1, 21, 59), time.Time{}},
		{jst(1, 22, 0), jst(2, 7, 0)},
		{jst(1, 23, 59), jst(2, 7, 0)},
		{jst(2, 0, 0), jst(2, 7, 0)},
		{jst(2, 6, 59), jst(2, 7, 0)},
		{jst(2, 7, 0), time.Time{}},
	} {
		got, ok := r.quietUntil(tt.at)
		if ok != !tt.until.IsZero() || !got.Equal(tt.until) {
			t.Errorf("quietUntil(%s) = %s, %v; want %s", tt.at, got, ok, tt.until)
		}
	}
	// The 06:00 digest is inside quiet hours: it moves to 07:00, and an
	// alert at 06:30 still goes into it.
	for _, tt := range []struct {
		kind   watchers.Kind
		at     time.Time
		reason string
		until  time.Time
	}{
		{watchers.KindReminder, jst(2, 6, 30), HoldDigest, jst(2, 7, 0)},
		{watchers.KindReminder, jst(2, 7, 0), HoldDigest, jst(3, 7, 0)},
		{watchers.KindFeedItem, jst(2, 12, 0), HoldDigest, jst(3, 7, 0)},
		{watchers.KindChanged, jst(2, 12, 0), "", jst(2, 12, 0)},
		{watchers.KindOverdue, jst(2, 23, 0), HoldQuiet, jst(3, 7, 0)},
		{watchers.KindDeliveryFailed, jst(2, 3, 0), HoldQuiet, jst(2, 7, 0)},
	} {
		reason, until := r.plan(tt.kind, tt.at)
		if reason != tt.reason || !until.Equal(tt.until) {
			t.Errorf("plan(%s, %s) = %q %s; want %q %s", tt.kind, tt.at, reason, until, tt.reason, tt.until)
		}
	}
	// A window within one day, and a weekly digest.
	r, err = compileRules(ChannelSettings{Quiet: "12:00-13:00", Digest: "weekly fri 12:30", Zone: "America/New_York"}, tokyo)
	if err != nil {
		t.Fatal(err)
	}
	ny := r.loc
	if got, ok := r.quietUntil(time.Date(2026, 12, 2, 12, 15, 0, 0, ny)); !ok || !got.Equal(time.Date(2026, 12, 2, 13, 0, 0, 0, ny)) {
		t.Errorf("midday window: %s %v", got, ok)
	}
	if _, ok := r.quietUntil(time.Date(2026, 12, 2, 11, 59, 0, 0, ny)); ok {
		t.Error("11:59 is quiet")
	}
	// Friday 4 Dec 12:30 is inside the window: it moves to 13:00.
	if got, _ := r.nextDigest(time.Date(2026, 12, 1, 0, 0, 0, 0, ny)); !got.Equal(time.Date(2026, 12, 4, 13, 0, 0, 0, ny)) {
		t.Errorf("next weekly digest %s", got)
	}
}
