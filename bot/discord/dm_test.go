package discord

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
)

const dmUser = "80351110224678912"

// dmOpens returns the recipient of every POST /users/@me/channels.
func (e *env) dmOpens(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, r := range e.fake.Requests() {
		if r.Method == http.MethodPost && r.Path == "/api/v9/users/@me/channels" {
			var b struct {
				RecipientID string `json:"recipient_id"`
			}
			if err := json.Unmarshal(r.Body, &b); err != nil {
				t.Fatal(err)
			}
			out = append(out, b.RecipientID)
		}
	}
	return out
}

// TestSendDirectMessage: a delivery to "dm:<user>" opens the user's DM
// channel once (POST /users/@me/channels {recipient_id}) and posts there,
// with the delivery's nonce as for any channel.
func TestSendDirectMessage(t *testing.T) {
	e := newEnv(t, nil)
	for id := int64(1); id <= 2; id++ {
		if _, err := e.adapter.Send(ctxTimeout(t), bot.Outgoing{DeliveryID: id, Channel: "dm:" + dmUser, Message: alertMessage()}); err != nil {
			t.Fatalf("send %d: %v", id, err)
		}
	}
	if diff := cmp.Diff([]string{dmUser}, e.dmOpens(t)); diff != "" {
		t.Errorf("DM opens (-want +got):\n%s", diff)
	}
	dm := e.fake.DMChannel(dmUser)
	msgs := e.fake.Messages(dm)
	if dm == "" || len(msgs) != 2 || msgs[0].Nonce != bot.Nonce(1) || !msgs[0].EnforceNonce {
		t.Fatalf("DM channel %q has %+v, want 2 messages with nonces", dm, msgs)
	}
	// A bad user id never reaches Discord.
	_, err := e.adapter.Send(ctxTimeout(t), bot.Outgoing{DeliveryID: 3, Channel: "dm:../x", Message: alertMessage()})
	if se := sendErr(t, err); se.Retry {
		t.Errorf("bad user id: %v, want permanent", err)
	}
}

// TestSendDirectMessageOpenFails: a 5xx opening the DM is retried later;
// nothing was posted.
func TestSendDirectMessageOpenFails(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.FailNext(http.StatusInternalServerError)
	_, err := e.adapter.Send(ctxTimeout(t), bot.Outgoing{DeliveryID: 1, Channel: "dm:" + dmUser, Message: alertMessage()})
	if se := sendErr(t, err); !se.Retry {
		t.Fatalf("5xx on open: %v, want transient", err)
	}
	if _, err := e.adapter.Send(ctxTimeout(t), bot.Outgoing{DeliveryID: 1, Channel: "dm:" + dmUser, Message: alertMessage()}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.fake.Messages(e.fake.DMChannel(dmUser))); n != 1 {
		t.Errorf("%d DM messages, want 1", n)
	}
}

// TestResolveDirectMessage: past the nonce window a DM post whose answer
// was lost is found among the DM channel's messages.
func TestResolveDirectMessage(t *testing.T) {
	e := resolveEnv(t, nil)
	// The DM is open already (an earlier message), so the lost answer is
	// the message's.
	if _, err := e.adapter.Send(ctxTimeout(t), bot.Outgoing{DeliveryID: 41, Channel: "dm:" + dmUser, Message: alertMessage()}); err != nil {
		t.Fatal(err)
	}
	e.fake.DropNextResponse()
	out := bot.Outgoing{DeliveryID: 42, Channel: "dm:" + dmUser, Message: alertMessage()}
	out.Message.Buttons = bot.AgainButtons(42)
	if _, err := e.adapter.Send(ctxTimeout(t), out); err == nil {
		t.Fatal("Send succeeded though the response was dropped")
	}
	dm := e.fake.DMChannel(dmUser)
	msgs := e.fake.Messages(dm)
	if len(msgs) != 2 {
		t.Fatalf("%d DM messages, want the first and the lost one", len(msgs))
	}
	got, err := e.adapter.Resolve(ctxTimeout(t), unconfirmed("dm:"+dmUser, 10*time.Minute, 42))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[int64]string{42: msgs[1].ID}, got); diff != "" {
		t.Errorf("found (-want +got):\n%s", diff)
	}
	if len(e.pages(dm)) != 1 {
		t.Errorf("listings of the DM channel: %v", e.pages(dm))
	}
}

// TestRenderRemindAgainButtons: the Remind again buttons go out as
// buttons whose custom_id carries the delivery and the command, within
// Discord's limits (five to a row, custom_id ≤ 100); the admin-only
// button is not shown on a channel message.
func TestRenderRemindAgainButtons(t *testing.T) {
	msg := alertMessage()
	msg.Event = "upper-house-election-2025"
	msg.Buttons = append([]bot.Button{{Label: "Mute 1 day", Command: "mute event:upper-house-election-2025 1d"},
		{Label: "Mark happened", Command: "event set upper-house-election-2025 status=happened", AdminOnly: true}},
		bot.AgainButtons(1<<53)...)
	ms := render(msg, 1<<53, testLogger(t))
	var ids []string
	for _, c := range ms.Components {
		row, ok := c.(discordgo.ActionsRow)
		if !ok {
			t.Fatalf("component %T, want an action row", c)
		}
		if len(row.Components) > MaxButtonsPerRow {
			t.Errorf("%d buttons in a row", len(row.Components))
		}
		for _, b := range row.Components {
			id := b.(discordgo.Button).CustomID
			if len(id) > MaxCustomID {
				t.Errorf("custom_id %q over %d", id, MaxCustomID)
			}
			ids = append(ids, id)
		}
	}
	want := []string{
		"d9007199254740992:mute event:upper-house-election-2025 1d",
		"d9007199254740992:again 9007199254740992 1h",
		"d9007199254740992:again 9007199254740992 tomorrow",
	}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("custom_ids (-want +got):\n%s", diff)
	}
	for _, id := range ids {
		cmd, d, ok := parseButtonID(id)
		if !ok || d != 1<<53 || cmd == "" {
			t.Errorf("parseButtonID(%q) = %q, %d, %v", id, cmd, d, ok)
		}
	}
}
