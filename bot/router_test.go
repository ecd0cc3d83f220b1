package bot

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/watchers"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"", nil, false},
		{"upcoming", []string{"upcoming"}, false},
		{"  upcoming   #budget\t30d ", []string{"upcoming", "#budget", "30d"}, false},
		{`event add x 2025-07 "Upper House election" #japan`, []string{"event", "add", "x", "2025-07", "Upper House election", "#japan"}, false},
		{`event set x note="officially announced"`, []string{"event", "set", "x", "note=officially announced"}, false},
		{"event add x 2025 “curly quoted title”", []string{"event", "add", "x", "2025", "curly quoted title"}, false},
		{`say "a \"quoted\" word"`, []string{"say", `a "quoted" word`}, false},
		{`""`, []string{""}, false},
		{`event add "unterminated`, nil, true},
	}
	for _, tt := range tests {
		got, err := Tokenize(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("Tokenize(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Tokenize(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

// FuzzTokenize checks that any text splits without panicking, and that
// words joined back with quotes split into the same words.
func FuzzTokenize(f *testing.F) {
	for _, s := range []string{
		"upcoming", "upcoming #budget 30d", `event add x 2025-07 "Upper House" #japan`,
		`event set x due=2025-07-20 note="announced"`, "“curly", `a\"b`, "mute all 2h", "\x00\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := Tokenize(s)
		if err != nil {
			return
		}
		var b strings.Builder
		for _, w := range words {
			b.WriteString(`"`)
			b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`, "“", `\“`, "”", `\”`).Replace(w))
			b.WriteString(`" `)
		}
		again, err := Tokenize(b.String())
		if err != nil {
			t.Fatalf("re-tokenizing %q: %v", b.String(), err)
		}
		if utf8.ValidString(s) {
			if diff := cmp.Diff(words, again, cmp.Comparer(func(a, b string) bool { return a == b })); diff != "" && !(len(words) == 0 && len(again) == 0) {
				t.Fatalf("round trip of %q (-first +second):\n%s", s, diff)
			}
		}
	})
}

func TestNormalizeTargetForms(t *testing.T) {
	for in, want := range map[string]string{
		"#budget": "tag:budget", "tag:budget": "tag:budget", "all": "all",
		"watcher:deadlines": "watcher:deadlines", "event:ishiba-trump-summit": "event:ishiba-trump-summit",
	} {
		got, err := NormalizeTarget(in)
		if err != nil || got != want {
			t.Errorf("NormalizeTarget(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "#", "budget", "user:x", "event:", "watcher:Bad Id"} {
		if _, err := NormalizeTarget(bad); err == nil {
			t.Errorf("NormalizeTarget(%q) succeeded, want error", bad)
		}
	}
}

func TestRouteTableChannels(t *testing.T) {
	rt := newRouteTable([]Subscription{
		{Channel: "slack:C1", Target: "tag:budget"},
		{Channel: "slack:C1", Target: "all"}, // same channel twice: one delivery
		{Channel: "discord:2", Target: "event:jp-fy2025-budget"},
		{Channel: "discord:3", Target: "watcher:other"},
		{Channel: "discord:4", Target: "tag:japan"},
		{Channel: "discord:4", Target: "watcher:deadlines"},
		{Channel: "discord:5", Target: "tag:other"},
		{Channel: "console:local", Target: "all"},
	}, []Mute{{Channel: "console:local", Target: "tag:budget"}, {Channel: "discord:5", Target: "all"}}, nil)
	a := watchers.Alert{Key: "k", Watcher: "deadlines", Event: "jp-fy2025-budget", Tags: []string{"japan", "budget"}}
	if diff := cmp.Diff([]string{"discord:2", "discord:4", "slack:C1"}, rt.channels(a)); diff != "" {
		t.Errorf("channels (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"console:local", "slack:C1"}, rt.channels(watchers.Alert{Key: "k2", Watcher: "x"})); diff != "" {
		t.Errorf("channels of an alert only \"all\" matches (-want +got):\n%s", diff)
	}
	rt.enabled = map[string]bool{"slack": true}
	if diff := cmp.Diff([]string{"slack:C1"}, rt.channels(a)); diff != "" {
		t.Errorf("channels on enabled platforms (-want +got):\n%s", diff)
	}
}

func TestTruncate(t *testing.T) {
	got, cut := Truncate("日本の予算案が成立", 5)
	if got != "日本の予…" || !cut || utf8.RuneCountInString(got) != 5 {
		t.Errorf("Truncate = %q, %v", got, cut)
	}
	if got, cut := Truncate("short", 10); got != "short" || cut {
		t.Errorf("Truncate(short) = %q, %v", got, cut)
	}
}

func TestCountdown(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	now := time.Date(2025, 7, 16, 9, 0, 0, 0, tokyo)
	for _, tt := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2025, 7, 20, 0, 0, 0, 0, tokyo), "in 4 days"},
		{time.Date(2025, 7, 17, 0, 0, 0, 0, tokyo), "tomorrow"},
		{time.Date(2025, 7, 16, 12, 30, 0, 0, tokyo), "today, in 3h 30m"},
		{time.Date(2025, 7, 16, 8, 0, 0, 0, tokyo), "today"},
		{time.Date(2025, 7, 14, 0, 0, 0, 0, tokyo), "2 days ago"},
	} {
		if got := Countdown(now, tt.t, tokyo); got != tt.want {
			t.Errorf("Countdown(%s) = %q, want %q", tt.t, got, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	for attempt := 1; attempt < 30; attempt++ {
		d := Backoff(attempt, 0)
		base := backoffBase << min(attempt-1, 20)
		if base > backoffMax {
			base = backoffMax
		}
		if d < time.Duration(float64(base)*0.8) || d > time.Duration(float64(base)*1.2) {
			t.Errorf("Backoff(%d) = %s, want within 20%% of %s", attempt, d, base)
		}
	}
	if d := Backoff(1, 5*time.Second); d < 5*time.Second {
		t.Errorf("Backoff with Retry-After 5s = %s", d)
	}
}

func TestNonce(t *testing.T) {
	if n := Nonce(1<<62 - 1); len(n) > 25 {
		t.Errorf("nonce %q longer than 25", n)
	}
	// The same delivery id always gives the same nonce (so a retry is
	// recognised), and different ids give different nonces.
	ids := []int64{0, 1, 7, 8, 35, 36, 1<<62 - 1}
	seen := make(map[string]int64, len(ids))
	for _, id := range ids {
		n := Nonce(id)
		if again := Nonce(id); again != n {
			t.Errorf("Nonce(%d) = %q, then %q", id, n, again)
		}
		if other, dup := seen[n]; dup {
			t.Errorf("Nonce(%d) = Nonce(%d) = %q", id, other, n)
		}
		seen[n] = id
	}
}
