package slack

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/policyteam/alertbot/bot"
)

// replyJSON is the part of a command reply with blocks that the tests
// read; response cannot be decoded, as its blocks are interfaces.
type replyJSON struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
	Blocks       []struct {
		Type string `json:"type"`
		Text *struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"text"`
		Elements []struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
			Text     struct {
				Text string `json:"text"`
			} `json:"text"`
		} `json:"elements"`
	} `json:"blocks"`
}

func decodeReplyJSON(t *testing.T, b []byte) replyJSON {
	t.Helper()
	var r replyJSON
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("reply %q: %v", b, err)
	}
	return r
}

// TestReplyMoreButton: a reply with a button is sent as blocks, its text
// escaped in sections and the button running its command; the text stays
// as the fallback.
func TestReplyMoreButton(t *testing.T) {
	h := &fakeHandler{reply: func(req bot.Request) bot.Reply {
		return bot.Reply{Text: "Open events (1–10 of 23):\n• <Diet> & budget\nMore: /alerts events page=2",
			Buttons: []bot.Button{{Label: "More", Command: "events page=2"}}}
	}}
	e := newHTTPEnv(t, h)
	resp, body := e.post(t, "/slack/commands", commandForm("U1", "C1", "events", e.fake.ResponseURL("r")))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	r := decodeReplyJSON(t, body)
	want := "Open events (1–10 of 23):\n• &lt;Diet&gt; &amp; budget\nMore: /alerts events page=2"
	if r.ResponseType != "ephemeral" || r.Text != want {
		t.Errorf("reply type %q text %q", r.ResponseType, r.Text)
	}
	if len(r.Blocks) != 2 || r.Blocks[0].Type != "section" || r.Blocks[0].Text == nil || r.Blocks[0].Text.Text != want ||
		r.Blocks[0].Text.Type != "mrkdwn" {
		t.Fatalf("blocks %s", body)
	}
	act := r.Blocks[1]
	if act.Type != "actions" || len(act.Elements) != 1 || act.Elements[0].Type != "button" ||
		act.Elements[0].Value != "events page=2" || act.Elements[0].Text.Text != "More" {
		t.Errorf("actions block %+v", act)
	}

	// Pressed, the button runs its command as the presser.
	resp, _ = e.post(t, "/slack/interactions", interactionBody(t, "U2", "C1", act.Elements[0].Value, e.fake.ResponseURL("more")))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("interaction status %d", resp.StatusCode)
	}
	if _, err := e.fake.WaitResponses(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	reqs := h.requests()
	if len(reqs) != 2 || reqs[1].Text != "events page=2" || reqs[1].User != "slack:U2" {
		t.Errorf("requests %+v", reqs)
	}
}

var discard = slog.New(slog.DiscardHandler)

// TestReplyBlocksLimits: long text is split into sections within Slack's
// limit, at line ends; unusable buttons leave a plain text reply.
func TestReplyBlocksLimits(t *testing.T) {
	line := strings.Repeat("a", 99) + "\n"
	text := strings.Repeat(line, 80) // 8000 characters
	blocks := replyBlocks(discard, text, []bot.Button{{Label: "More", Command: "events page=2"}})
	var joined strings.Builder
	for i, b := range blocks[:len(blocks)-1] {
		data, _ := json.Marshal(b)
		var s struct {
			Text struct{ Text string } `json:"text"`
		}
		if err := json.Unmarshal(data, &s); err != nil {
			t.Fatal(err)
		}
		if n := utf8.RuneCountInString(s.Text.Text); n > MaxSectionText || n == 0 {
			t.Errorf("section %d: %d characters", i, n)
		}
		if !strings.HasSuffix(s.Text.Text, strings.Repeat("a", 99)) {
			t.Errorf("section %d not cut at a line end", i)
		}
		joined.WriteString(s.Text.Text + "\n")
	}
	if joined.String() != text {
		t.Errorf("sections hold %d characters of %d", joined.Len(), len(text))
	}
	if len(blocks) != 4 || blocks[len(blocks)-1].BlockType() != "actions" {
		t.Errorf("%d blocks, last %s", len(blocks), blocks[len(blocks)-1].BlockType())
	}
	for _, bs := range [][]bot.Button{nil, {{Label: "Mark happened", Command: "event set x status=happened", AdminOnly: true}}, {{Label: "Empty"}},
		{{Label: "Long", Command: strings.Repeat("x", MaxButtonValue+1)}}} {
		if got := replyBlocks(discard, "text", bs); got != nil {
			t.Errorf("buttons %+v: blocks %v, want none", bs, got)
		}
	}
}

// TestSocketModeReplyButtons: in Socket Mode the ack carries the blocks;
// one too large for a frame goes without them, its text cut to fit.
func TestSocketModeReplyButtons(t *testing.T) {
	big := false
	h := &fakeHandler{reply: func(bot.Request) bot.Reply {
		text := "page one"
		if big {
			text = strings.Repeat("日米&\n", 5000)
		}
		return bot.Reply{Text: text, Buttons: []bot.Button{{Label: "More", Command: "events page=2"}}}
	}}
	e := newSocketEnv(t, h)
	if err := e.fake.SendSlashCommand(e.ctx, "small", map[string]string{"user_id": "U1", "channel_id": "C1", "text": "events"}); err != nil {
		t.Fatal(err)
	}
	ack, err := e.fake.WaitAck(e.ctx, "small")
	if err != nil {
		t.Fatal(err)
	}
	r := decodeReplyJSON(t, ack.Payload)
	if len(r.Blocks) != 2 || r.Blocks[1].Elements[0].Value != "events page=2" {
		t.Errorf("ack %s", ack.Payload)
	}
	big = true
	if err := e.fake.SendSlashCommand(e.ctx, "big", map[string]string{"user_id": "U1", "channel_id": "C1", "text": "events"}); err != nil {
		t.Fatal(err)
	}
	if ack, err = e.fake.WaitAck(e.ctx, "big"); err != nil {
		t.Fatal(err)
	}
	if frame, _ := json.Marshal(ack); len(frame) >= MaxSocketModeResponse {
		t.Errorf("ack frame %d bytes, limit %d", len(frame), MaxSocketModeResponse)
	}
	if r := decodeReplyJSON(t, ack.Payload); len(r.Blocks) != 0 || !strings.HasSuffix(r.Text, "…") {
		t.Errorf("big reply: %d blocks, text ending %q", len(r.Blocks), r.Text[len(r.Text)-8:])
	}
}
