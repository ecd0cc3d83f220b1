package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/policyteam/alertbot/watchers/sharedtest"
)

// channelsExample is the embedded example with three more channels on
// tag japan: a quiet one (08:00-10:00 Tokyo, so the 09:00 alerts are
// held), a digest one (weekly, Monday 08:00), and a plain one.
func channelsExample(t *testing.T) string {
	t.Helper()
	text := string(exampleConfig)
	const subs = "subscriptions:\n  - channel: console:local\n    to: [all, proposals]\n"
	if !strings.Contains(text, subs) {
		t.Fatal("the example's subscriptions changed; update channelsExample")
	}
	return strings.Replace(text, subs, subs+`  - channel: slack:CQUIET
    to: [tag:japan]
  - channel: slack:CDIGEST
    to: [tag:japan]
  - channel: slack:CPLAIN
    to: [tag:japan]
channels:
  - channel: slack:CQUIET
    quiet: "08:00-10:00"
  - channel: slack:CDIGEST
    digest: weekly mon 08:00
`, 1)
}

// TestReplayChannelsGolden replays the example's season with a quiet, a
// digest and a plain channel (DESIGN §9). The golden was checked by hand
// against §9:
//   - console:local and slack:CPLAIN (no settings) keep one shared line
//     per alert, exactly as without settings (trump-inauguration, tag us,
//     reaches console:local alone); each channel with settings gets lines
//     of its own.
//   - slack:CQUIET (quiet 08:00-10:00 Tokyo): every 09:00 alert —
//     reminders, window_open and the changed alerts of 02-07, 03-31,
//     07-03 and 07-20 — arrives at 10:00 the same day with "held_from"
//     09:00; none reaches it at 09:00. (The season never holds two at
//     once; the summary of several is checked in package bot.)
//   - slack:CDIGEST (weekly mon 08:00): no reminder or window_open line of
//     its own; each Monday digest lists the keys collected since the last
//     one, by event then kind — 01-06 the summit's 30d reminder, 01-27 its
//     7d, 02-03 its 1d and the February window_open, 03-03 the budget's
//     30d, 03-31 its 7d and 1d, 04-07 the election's 90d, 06-02 its 30d,
//     06-30 its 7d, 07-07 its 1d and the July window_open, 07-14 the
//     07-20 day's 7d, 07-21 its 1d — which is every japan reminder and
//     window_open of the season: nothing dropped. 03-24 has nothing
//     collected but the budget (03-31) in the next 7 days: a digest with
//     empty items and the agenda; Mondays with neither post nothing (the
//     us-only inauguration on 01-20 is not in this channel's agenda).
//     changed alerts arrive at once at 09:00.
func TestReplayChannelsGolden(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "channels.yaml")
	writeFile(t, cfg, channelsExample(t))
	out, _, err := runMain(t, "replay", "--config", cfg, "--from", "2024-12-01", "--to", "2025-09-01", "--json")
	if err != nil {
		t.Fatal(err)
	}
	sharedtest.Golden(t, filepath.Join("testdata", "replay_channels.golden"), []byte(out))
	// The same checks in code, so a regenerated golden cannot drift from
	// them unnoticed.
	var digested, individual []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r struct {
			replayLine
			Key string `json:"key"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("bad line %q: %v", line, err)
		}
		onlyOne := len(r.Channels) == 1
		switch {
		case r.Kind == "digest":
			if !onlyOne || r.Channels[0] != "slack:CDIGEST" || r.Items == nil || !strings.HasSuffix(r.At, "T08:00:00+09:00") {
				t.Errorf("digest line %s", line)
			}
			digested = append(digested, *r.Items...)
		case r.HeldFrom != "":
			if !onlyOne || r.Channels[0] != "slack:CQUIET" || !strings.HasSuffix(r.HeldFrom, "T09:00:00+09:00") || !strings.HasSuffix(r.At, "T10:00:00+09:00") {
				t.Errorf("held line %s", line)
			}
		}
		for _, ch := range r.Channels {
			if ch == "slack:CQUIET" && r.HeldFrom == "" && strings.Contains(r.At, "T09:00") {
				t.Errorf("a 09:00 alert reached the quiet channel at once: %s", line)
			}
			if ch == "slack:CDIGEST" && (r.Kind == "reminder" || r.Kind == "window_open") {
				individual = append(individual, line)
			}
			if (ch == "slack:CQUIET" || ch == "slack:CDIGEST") && !onlyOne {
				t.Errorf("a channel with settings shares a line: %s", line)
			}
		}
	}
	if len(individual) > 0 {
		t.Errorf("routine alerts posted to the digest channel one by one:\n%s", strings.Join(individual, "\n"))
	}
	if len(digested) == 0 {
		t.Error("no digest listed any alert")
	}
}
