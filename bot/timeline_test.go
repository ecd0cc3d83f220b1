package bot_test

import (
	"bytes"
	"fmt"
	"image/png"
	"strings"
	"testing"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/chart"
)

// TestTimelineCommand: /alerts timeline draws the open events whose
// window starts within the period (overdue ones included, happened ones
// not), filtered by tag, as a PNG attached to a reply for the channel;
// an empty selection and bad input are answered in text alone.
func TestTimelineCommand(t *testing.T) {
	cfg := teamConfig(t)
	tests := []struct {
		name, text string
		setup      []string
		want       []string // substrings of the text
		alt        []string // substrings of the picture's alt text
		notAlt     []string
		file       string // "" when no picture is wanted
		wantErr    bool
	}{
		{name: "default year", text: "timeline",
			want: []string{"Timeline of the open events within 365d: 4 events (2 tentative windows, 2 dates), Jan 2027 – Mar 2028."},
			alt:  []string{"Diet passes the FY2027 budget — 31 Mar 2027 (scheduled)", "— JFY2027 (tentative)", "reaches 2% of GDP", "U.S. FY2028 appropriations"},
			// Past July 2028 (beyond a year), and the past season's
			// happened events, are not drawn.
			notAlt: []string{"House of Councillors", "presidential", "FY2025", "Ishiba"},
			file:   "alertbot-timeline.png"},
		{name: "tag", text: "timeline #budget",
			want:   []string{"Timeline of the open events #budget within 365d: 2 events (2 dates), Mar 2027 – Sep 2027."},
			alt:    []string{"FY2027 budget", "FY2028 appropriations"},
			notAlt: []string{"defense"},
			file:   "alertbot-timeline-budget.png"},
		{name: "tag and window in either order", text: "timeline 730d tag:election",
			want: []string{"#election within 730d: 2 events (1 tentative window, 1 date)"},
			alt:  []string{"House of Councillors", "presidential election — 7 Nov 2028"},
			file: "alertbot-timeline-election.png"},
		{name: "overdue and postponed stay on it", text: "timeline #late",
			setup: []string{"event add late-report 2026-10-15 Report that never came #late",
				"event add held-talks 2027-02 Talks on hold #late", "event set held-talks status=postponed"},
			want: []string{"2 events (1 tentative window, 1 date)"},
			alt:  []string{"Report that never came — 15 Oct 2026 (overdue) (scheduled)", "Talks on hold — Feb 2027 (postponed) (postponed)"},
			file: "alertbot-timeline-late.png"},
		{name: "empty", text: "timeline #election",
			want: []string{"No open events #election within 365d, so no timeline to draw.", "/alerts timeline 730d"}},
		{name: "bad window", text: "timeline soon", wantErr: true,
			want: []string{`Expected #tag or a duration like 90d or 2w3d, got "soon"`, "Usage: /alerts timeline [#tag] [within]"}},
		{name: "zero window", text: "timeline 0d", wantErr: true,
			want: []string{`got "0d"`, "Usage: /alerts timeline [#tag] [within]"}},
		{name: "bad tag", text: "timeline #Bad!", wantErr: true,
			want: []string{`Bad tag "#Bad!"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newApp(t, cfg, commandsNow)
			for _, s := range tt.setup {
				a.must(admin, channel, s)
			}
			r := a.do(member, channel, tt.text)
			for _, w := range tt.want {
				if !strings.Contains(r.Text, w) {
					t.Errorf("reply %q\nlacks %q", r.Text, w)
				}
			}
			if r.Error != tt.wantErr {
				t.Errorf("Error = %v, want %v (%q)", r.Error, tt.wantErr, r.Text)
			}
			if tt.file == "" {
				if r.Attachment != nil || r.Public {
					t.Errorf("attachment %v public %v, want neither", r.Attachment != nil, r.Public)
				}
				return
			}
			if r.Attachment == nil {
				t.Fatalf("no picture; reply %q", r.Text)
			}
			if !r.Public {
				t.Error("a picture for the channel is not public")
			}
			at := r.Attachment
			if at.Name != tt.file || at.ContentType != "image/png" {
				t.Errorf("file %q %q, want %q image/png", at.Name, at.ContentType, tt.file)
			}
			img, err := png.Decode(bytes.NewReader(at.Data))
			if err != nil {
				t.Fatalf("not a PNG: %v", err)
			}
			if got := img.Bounds().Dx(); got != 960*chart.PNGScale {
				t.Errorf("picture %d px wide, want %d", got, 960*chart.PNGScale)
			}
			for _, w := range tt.alt {
				if !strings.Contains(at.Alt, w) {
					t.Errorf("alt %q\nlacks %q", at.Alt, w)
				}
			}
			for _, w := range tt.notAlt {
				if strings.Contains(at.Alt, w) {
					t.Errorf("alt %q\nhas %q", at.Alt, w)
				}
			}
			if !strings.HasPrefix(at.Alt, strings.SplitN(r.Text, "\n", 2)[0]) {
				t.Errorf("alt %q does not start with the caption", at.Alt)
			}
		})
	}
}

// TestTimelineLimit: past MaxTimelineEvents, the nearest events are
// drawn and the reply says how many were left out; the picture's height
// stays bounded and its alt text within the platforms' limit.
func TestTimelineLimit(t *testing.T) {
	a := newApp(t, teamConfig(t), commandsNow)
	n := bot.MaxTimelineEvents + 5
	for i := range n {
		a.must(admin, channel, fmt.Sprintf("event add crowd-%02d 2027-01-%02d Crowded event number %d with a long title #crowd", i, 1+i%28, i))
	}
	r := a.do(member, channel, "timeline #crowd")
	if r.Attachment == nil {
		t.Fatalf("no picture: %q", r.Text)
	}
	if want := fmt.Sprintf("%d events (%d dates)", bot.MaxTimelineEvents, bot.MaxTimelineEvents); !strings.Contains(r.Text, want) {
		t.Errorf("reply %q lacks %q", r.Text, want)
	}
	if !strings.Contains(r.Text, "5 more events not drawn") {
		t.Errorf("reply %q does not say what was left out", r.Text)
	}
	img, err := png.Decode(bytes.NewReader(r.Attachment.Data))
	if err != nil {
		t.Fatal(err)
	}
	// One lane per event at worst, plus the axis and legend.
	if h := img.Bounds().Dy(); h > (bot.MaxTimelineEvents*38+200)*chart.PNGScale {
		t.Errorf("picture %d px high", h)
	}
	if n := len([]rune(r.Attachment.Alt)); n > bot.MaxAltText {
		t.Errorf("alt text %d runes, over %d", n, bot.MaxAltText)
	}
}
