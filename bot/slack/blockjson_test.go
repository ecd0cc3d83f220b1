package slack

import (
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
)

// TestPostBodyMatchesMarshal: the body written by hand is the body
// encoding/json writes, for every kind of message render and the replies
// make.
func TestPostBodyMatchesMarshal(t *testing.T) {
	type blocksCase struct {
		name   string
		blocks []slack.Block
		text   string
	}
	var cases []blocksCase
	for name, msg := range goldenMessages() {
		blocks, fallback := Render(msg)
		cases = append(cases, blocksCase{name, blocks, fallback})
	}
	many := make([]bot.Button, 30) // two actions blocks
	for i := range many {
		many[i] = bot.Button{Label: "B\u2028" + strings.Repeat("x", i), Command: "mute event:e 1d"}
	}
	hostile := bot.Message{Title: "\"quoted\"\t\x01 \xff", Text: "line\nline\\ <@U1> & \u2029",
		Fields: []watchers.Field{{Name: "n", Value: "v"}, {Name: "", Value: "only value"}}, Tags: []string{"a", "#b"},
		Link: "https://x.example/?a=1&b=<2>|3", Footer: "f", Buttons: many}
	blocks, fallback := Render(hostile)
	cases = append(cases, blocksCase{"hostile", blocks, fallback})
	cases = append(cases, blocksCase{"no blocks", nil, "text only"})
	reply := replyBlocks(slog.New(slog.DiscardHandler), "Next: budget\n"+strings.Repeat("long line\n", 400),
		[]bot.Button{{Label: "More", Command: "events page=2"}})
	cases = append(cases, blocksCase{"reply", reply, "Next"})
	// Nil parts encoding/json writes as null.
	cases = append(cases, blocksCase{"nil parts", []slack.Block{
		&slack.ContextBlock{Type: slack.MBTContext},
		&slack.ActionBlock{Type: slack.MBTAction},
		&slack.ActionBlock{Type: slack.MBTAction, Elements: &slack.BlockElements{}},
		&slack.HeaderBlock{Type: slack.MBTHeader},
		&slack.ActionBlock{Type: slack.MBTAction, BlockID: "a", Elements: &slack.BlockElements{ElementSet: []slack.BlockElement{
			&slack.ButtonBlockElement{Type: slack.METButton, Value: "v", Style: slack.StylePrimary, URL: "https://x.example"}}}},
	}, "t"})

	for _, c := range cases {
		for _, meta := range []json.RawMessage{nil, deliveryMetadata(7)} {
			got, ok := appendPostBody(nil, "C0123ABCD", c.text, c.blocks, meta)
			if !ok {
				t.Errorf("%s: appendPostBody refused render's blocks", c.name)
				continue
			}
			if !json.Valid(got) {
				t.Fatalf("%s: invalid JSON: %s", c.name, got)
			}
			want, err := json.Marshal(postBody{Channel: "C0123ABCD", Text: c.text, Blocks: c.blocks, Metadata: meta})
			if err != nil {
				t.Fatal(err)
			}
			var gotV, wantV any
			_ = json.Unmarshal(got, &gotV)
			_ = json.Unmarshal(want, &wantV)
			if !reflect.DeepEqual(gotV, wantV) {
				t.Errorf("%s: body differs from encoding/json's\n got %s\nwant %s", c.name, got, want)
			}
		}
	}
}

// TestPostBodyFallsBack: blocks appendPostBody does not write are refused,
// and Send posts them through encoding/json instead.
func TestPostBodyFallsBack(t *testing.T) {
	text := slack.NewTextBlockObject(slack.MarkdownType, "x", false, false)
	for name, blk := range map[string]slack.Block{
		"divider":          slack.NewDividerBlock(),
		"accessory":        slack.NewSectionBlock(text, nil, slack.NewAccessory(slack.NewButtonBlockElement("a", "v", text))),
		"header level":     &slack.HeaderBlock{Type: slack.MBTHeader, Text: text, Level: 2},
		"image in context": slack.NewContextBlock("c", slack.NewImageBlockElement("https://x.example/i.png", "alt")),
		"confirm":          slack.NewActionBlock("a", slack.NewButtonBlockElement("b", "v", text).WithConfirm(slack.NewConfirmationBlockObject(text, text, text, text))),
	} {
		if _, ok := appendPostBody(nil, "C1", "t", []slack.Block{blk}, nil); ok {
			t.Errorf("%s: written by hand", name)
		}
	}
}
