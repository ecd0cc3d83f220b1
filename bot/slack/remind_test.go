package slack

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
)

// TestRenderRemindAgainButtons: an alert as the dispatcher sends it
// carries its Remind again buttons, each running its command as the
// button's value.
func TestRenderRemindAgainButtons(t *testing.T) {
	msg := bot.MessageFor(watchers.Alert{
		Key: "deadlines/ev/reminder/7d@2027-03-31", Kind: watchers.KindReminder, Watcher: "deadlines", Event: "ev",
		At: time.Date(2027, 3, 24, 0, 0, 0, 0, time.UTC), Title: "Diet passes the budget", Text: "in 7 days",
	})
	msg.Buttons = append(msg.Buttons, bot.AgainButtons(42)...)
	log, _ := testLogger()
	blocks, _ := render(msg, log)
	data, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	var decoded []struct {
		Type     string `json:"type"`
		Elements []struct {
			Text  json.RawMessage `json:"text"`
			Value string          `json:"value"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(data, &decoded); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, b := range decoded {
		if b.Type != "actions" {
			continue
		}
		for _, e := range b.Elements {
			var label struct{ Text string }
			if err := json.Unmarshal(e.Text, &label); err != nil {
				t.Fatal(err)
			}
			got[label.Text] = e.Value
		}
	}
	want := map[string]string{
		"Mute 1 day":             "mute event:ev 1d",
		"Mark happened":          "event set ev status=happened",
		"Remind again in 1 hour": "again 42 1h",
		"Remind again tomorrow":  "again 42 tomorrow",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("buttons (-want +got):\n%s", diff)
	}
}
