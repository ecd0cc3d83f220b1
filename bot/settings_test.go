package bot_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSettingsCommands: /alerts settings shows and changes the channel's
// quiet hours, digest and zone, for everyone, shown to the channel and
// audited; every mistake is one sentence with an example.
func TestSettingsCommands(t *testing.T) {
	runCommandCases(t, []commandCase{
		{name: "show none", user: member, text: "settings",
			want: []string{"This channel's settings:", "Quiet hours: none", "Digest: none", "Zone: Asia/Tokyo, the bot's"}, wantPublic: true},
		{name: "quiet", user: member, text: "settings quiet 22:00-07:00",
			want: []string{"Settings changed by slack:U0MEMBER.", "Quiet hours: 22:00-07:00 Asia/Tokyo"}, wantPublic: true, wantAudit: "settings quiet"},
		{name: "quiet with zone", user: member, text: "settings quiet 7:30-9:00 America/New_York",
			want: []string{"Quiet hours: 07:30-09:00 America/New_York", "Zone: America/New_York"}, wantPublic: true, wantAudit: "settings quiet"},
		{name: "quiet off", setup: []string{"settings quiet 22:00-07:00"}, user: member, text: "settings quiet off",
			want: []string{"Quiet hours: none"}, wantPublic: true, wantAudit: "settings quiet"},
		{name: "show after", setup: []string{"settings quiet 22:00-07:00", "settings digest weekly Monday 8:00"}, user: member, text: "settings",
			want: []string{"Quiet hours: 22:00-07:00 Asia/Tokyo", "Digest: weekly mon 08:00 Asia/Tokyo", "Last changed by console:local."}, wantPublic: true},
		{name: "digest daily", user: member, text: "settings digest daily 08:00 Europe/London",
			want: []string{"Digest: daily 08:00 Europe/London"}, wantPublic: true, wantAudit: "settings digest"},
		{name: "digest weekly", user: member, text: "settings digest weekly fri 17:30",
			want: []string{"Digest: weekly fri 17:30 Asia/Tokyo"}, wantPublic: true, wantAudit: "settings digest"},
		{name: "digest off", setup: []string{"settings digest daily 08:00"}, user: member, text: "settings digest off",
			want: []string{"Digest: none"}, wantPublic: true, wantAudit: "settings digest"},
		{name: "zone", user: member, text: "settings zone America/New_York",
			want: []string{"Zone: America/New_York"}, wantPublic: true, wantAudit: "settings zone"},

		{name: "bad window", user: member, text: "settings quiet 25:00-07:00",
			want: []string{`Bad window "25:00-07:00"`, "e.g. /alerts settings quiet 22:00-07:00"}, wantErr: true},
		{name: "empty window", user: member, text: "settings quiet 07:00-07:00",
			want: []string{"starts and ends at the same time"}, wantErr: true},
		{name: "bad zone", user: member, text: "settings quiet 22:00-07:00 Mars/Olympus",
			want: []string{`Unknown time zone "Mars/Olympus"`}, wantErr: true},
		{name: "bad zone alone", user: member, text: "settings zone Local",
			want: []string{"Unknown time zone", "e.g. /alerts settings zone Asia/Tokyo"}, wantErr: true},
		{name: "bad day", user: member, text: "settings digest weekly funday 08:00",
			want: []string{`Bad day "funday"`, "weekly mon 08:00"}, wantErr: true},
		{name: "bad digest time", user: member, text: "settings digest daily 8am",
			want: []string{`Bad time of day "8am"`}, wantErr: true},
		{name: "bad digest form", user: member, text: "settings digest monthly 08:00",
			want: []string{`Bad time "monthly 08:00"`, "daily 08:00"}, wantErr: true},
		{name: "missing quiet", user: member, text: "settings quiet",
			want: []string{"Missing the quiet hours"}, wantErr: true},
		{name: "too many", user: member, text: "settings quiet 22:00-07:00 Asia/Tokyo extra",
			want: []string{`Too many words: "extra"`}, wantErr: true},
		{name: "unknown setting", user: member, text: "settings loud 22:00",
			want: []string{`Unknown setting "loud"`, "settings quiet 22:00-07:00"}, wantErr: true},
	})
}

// TestSettingsPersist: settings changed in chat persist over a restart
// and a reload of an unchanged file; the file wins where its entry
// changed.
func TestSettingsPersist(t *testing.T) {
	const base = `
timezone: Asia/Tokyo
admins: [console:local]
channels:
  - channel: slack:CQ
    quiet: "22:00-07:00"
`
	a := newApp(t, base, commandsNow)
	a.must(member, "slack:CQ", "settings quiet 23:00-06:00")
	// Restart with the same file.
	b := openApp(t, base, commandsNow, appOptions{path: a.path, noSeed: true})
	if _, err := b.bot.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := b.must(member, "slack:CQ", "settings"); !strings.Contains(r.Text, "Quiet hours: 23:00-06:00") {
		t.Errorf("after a restart:\n%s", r.Text)
	}
	// The file's entry changes: the file wins.
	changed := strings.Replace(base, `"22:00-07:00"`, `"21:00-08:00"`, 1)
	c := openApp(t, changed, commandsNow, appOptions{path: a.path, noSeed: true})
	rep, err := c.bot.Seed(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.ChannelSettingsApplied != 1 {
		t.Errorf("seed report %+v", rep)
	}
	if r := c.must(member, "slack:CQ", "settings"); !strings.Contains(r.Text, "Quiet hours: 21:00-08:00") || !strings.Contains(r.Text, "the config file") {
		t.Errorf("after the file changed:\n%s", r.Text)
	}
}

// TestPreview: preview shows, in time order, what the channel receives
// and when, what quiet hours hold and until when, what goes into the
// digest, and what a mute keeps out — from the same replay as `replay`.
func TestPreview(t *testing.T) {
	a := newApp(t, quietConfig, at(1, 21, 0))
	a.stepTo(at(1, 21, 0))
	got := func(ch string) []string {
		r := a.must(member, ch, "preview 1d")
		return strings.Split(r.Text, "\n")
	}
	want := []string{
		"What this channel will receive until 2026-12-02 21:00 JST:",
		"• [reminder] Event one — 2026-12-01 22:30 JST, held by quiet hours: arrives 2026-12-02 07:00 JST",
		"• [reminder] Event one — 2026-12-01 23:30 JST, held by quiet hours: arrives 2026-12-02 07:00 JST",
		"• [reminder] Event two — 2026-12-02 01:00 JST, held by quiet hours: arrives 2026-12-02 07:00 JST",
		"• [reminder] Event three — 2026-12-02 06:30 JST, held by quiet hours: arrives 2026-12-02 07:00 JST",
		"• [overdue] Event one — arrives 2026-12-02 09:00 JST",
	}
	if diff := cmp.Diff(want, got("slack:CQUIET")); diff != "" {
		t.Errorf("quiet channel (-want +got):\n%s", diff)
	}
	wantDigest := []string{
		"What this channel will receive until 2026-12-02 21:00 JST:",
		"• [reminder] Event one — 2026-12-01 22:30 JST, not posted by itself: goes into the digest of 2026-12-02 08:00 JST",
		"• [reminder] Event one — 2026-12-01 23:30 JST, not posted by itself: goes into the digest of 2026-12-02 08:00 JST",
		"• [reminder] Event two — 2026-12-02 01:00 JST, not posted by itself: goes into the digest of 2026-12-02 08:00 JST",
		"• [reminder] Event three — 2026-12-02 06:30 JST, not posted by itself: goes into the digest of 2026-12-02 08:00 JST",
		"• [digest] Digest: 4 alerts — arrives 2026-12-02 08:00 JST",
		"• [overdue] Event one — arrives 2026-12-02 09:00 JST",
	}
	if diff := cmp.Diff(wantDigest, got("slack:CDIGEST")); diff != "" {
		t.Errorf("digest channel (-want +got):\n%s", diff)
	}
	a.must(member, "slack:CPLAIN", "mute event:e2 5h")
	wantPlain := []string{
		"What this channel will receive until 2026-12-02 21:00 JST:",
		"• [reminder] Event one — arrives 2026-12-01 22:30 JST",
		"• [reminder] Event one — arrives 2026-12-01 23:30 JST",
		"• [reminder] Event two — 2026-12-02 01:00 JST, not posted: muted until 2026-12-02 02:00 JST",
		"• [reminder] Event three — arrives 2026-12-02 06:30 JST",
		"• [overdue] Event one — arrives 2026-12-02 09:00 JST",
	}
	if diff := cmp.Diff(wantPlain, got("slack:CPLAIN")); diff != "" {
		t.Errorf("plain channel (-want +got):\n%s", diff)
	}
	// Preview changes nothing: no delivery was made by it.
	if n := len(a.history("slack:CPLAIN")); n != 0 {
		t.Errorf("preview left %d deliveries", n)
	}
}

// TestPreviewWithHeld: what the database holds now is in the preview
// once, released with what the period adds; what the bot already sent
// is not previewed again.
func TestPreviewWithHeld(t *testing.T) {
	a := newApp(t, quietConfig, at(1, 21, 0))
	a.stepTo(at(1, 22, 30)) // e1's 1h reminder: held in CQUIET, sent to CPLAIN
	a.clock.Set(at(1, 22, 40))
	want := []string{
		"What this channel will receive until 2026-12-02 06:40 JST:",
		"• [reminder] Event one — 2026-12-01 22:30 JST, held by quiet hours: arrives 2026-12-02 07:00 JST",
		"• [reminder] Event one — 2026-12-01 23:30 JST, held by quiet hours: arrives 2026-12-02 07:00 JST",
		"• [reminder] Event two — 2026-12-02 01:00 JST, held by quiet hours: arrives 2026-12-02 07:00 JST",
		"• [reminder] Event three — 2026-12-02 06:30 JST, held by quiet hours: arrives 2026-12-02 07:00 JST",
	}
	if diff := cmp.Diff(want, strings.Split(a.must(member, "slack:CQUIET", "preview 8h").Text, "\n")); diff != "" {
		t.Errorf("quiet channel (-want +got):\n%s", diff)
	}
	wantPlain := []string{
		"What this channel will receive until 2026-12-02 06:40 JST:",
		"• [reminder] Event one — arrives 2026-12-01 23:30 JST",
		"• [reminder] Event two — arrives 2026-12-02 01:00 JST",
		"• [reminder] Event three — arrives 2026-12-02 06:30 JST",
	}
	if diff := cmp.Diff(wantPlain, strings.Split(a.must(member, "slack:CPLAIN", "preview 8h").Text, "\n")); diff != "" {
		t.Errorf("plain channel (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"preview soon", "preview 0d", "preview 400d"} {
		if r := a.do(member, "slack:CPLAIN", bad); !r.Error {
			t.Errorf("/alerts %s: %q, want an error", bad, r.Text)
		}
	}
}
