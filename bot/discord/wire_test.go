package discord

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
)

// generalForm decodes b, a create-message body, leaving out what
// discordgo's MessageSend sends at its defaults and wireCreate omits: tts
// false, sticker_ids, embeds and components null, and buttons' disabled
// false. Both forms must be the same message to Discord.
func generalForm(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %s: %v", b, err)
	}
	for _, k := range []string{"tts", "sticker_ids", "embeds", "components"} {
		if v, ok := m[k]; ok && (v == nil || v == false) {
			delete(m, k)
		}
	}
	rows, _ := m["components"].([]any)
	for _, r := range rows {
		for _, c := range r.(map[string]any)["components"].([]any) {
			if btn := c.(map[string]any); btn["disabled"] == false {
				delete(btn, "disabled")
			}
		}
	}
	return m
}

func TestCreateBodyMatchesMessageSend(t *testing.T) {
	many := make([]bot.Button, 12) // three rows
	for i := range many {
		many[i] = bot.Button{Label: fmt.Sprintf("B%d", i), Command: fmt.Sprintf("mute event:e%d 1d", i)}
	}
	msgs := map[string]bot.Message{
		"alert":        alertMessage(),
		"text only":    {Text: "Delivery to discord:1 failed: <@123> & \"quotes\" \u2028"},
		"no buttons":   {Title: "t", Fields: []watchers.Field{{Name: "Due", Value: "2025-07"}}},
		"many buttons": {Title: "t", Buttons: many},
		"buttons only": {Buttons: []bot.Button{{Label: "Confirm", Command: "proposal confirm p1"}}},
	}
	for name, msg := range msgs {
		for _, delivery := range []int64{0, 42} {
			t.Run(fmt.Sprintf("%s/%d", name, delivery), func(t *testing.T) {
				ms := render(msg, delivery, slog.New(slog.DiscardHandler))
				for _, e := range ms.Embeds {
					e.Timestamp = "2025-07-13T00:00:00Z"
				}
				n := ""
				if delivery != 0 {
					n = bot.Nonce(delivery)
				}
				got, err := createBody(ms, n)
				if err != nil {
					t.Fatal(err)
				}
				want, err := json.Marshal(messageCreate{MessageSend: ms, Nonce: n, EnforceNonce: n != ""})
				if err != nil {
					t.Fatal(err)
				}
				if g, w := generalForm(t, got), generalForm(t, want); !reflect.DeepEqual(g, w) {
					t.Errorf("wire body differs from MessageSend's\n got %s\nwant %s", got, want)
				}
			})
		}
	}
}

// TestCreateBodyFallsBack: what wireCreate cannot carry goes through
// MessageSend as before, nothing dropped.
func TestCreateBodyFallsBack(t *testing.T) {
	for name, ms := range map[string]*discordgo.MessageSend{
		"tts":         {Content: "x", TTS: true},
		"flags":       {Content: "x", Flags: discordgo.MessageFlagsSuppressEmbeds},
		"emoji":       {Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.Button{Label: "a", CustomID: "c", Emoji: &discordgo.ComponentEmoji{Name: "x"}}}}}},
		"disabled":    {Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.Button{Label: "a", CustomID: "c", Disabled: true}}}}},
		"select menu": {Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.SelectMenu{CustomID: "s"}}}}},
		"reference":   {Content: "x", Reference: &discordgo.MessageReference{MessageID: "1"}},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := createBody(ms, "n1")
			if err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(messageCreate{MessageSend: ms, Nonce: "n1", EnforceNonce: true})
			if string(got) != string(want) {
				t.Errorf("got %s\nwant %s", got, want)
			}
		})
	}
}

// TestAppendCreateMatchesMarshal: every part appendCreate writes, as
// encoding/json writes it.
func TestAppendCreateMatchesMarshal(t *testing.T) {
	hostile := "\"q\" \\ \n\t\x01 <@1> & \u2028 \xff 日米"
	ws := []wireCreate{
		{},
		{Content: hostile, Nonce: "n", EnforceNonce: true, AllowedMentions: &discordgo.MessageAllowedMentions{}},
		{
			Embeds: []*discordgo.MessageEmbed{nil, {
				URL: "https://x.example/?a=1&b=2", Type: discordgo.EmbedTypeRich, Title: hostile, Description: hostile,
				Timestamp: "2025-07-13T00:00:00Z", Color: 0xD83C3E,
				Footer: &discordgo.MessageEmbedFooter{Text: hostile, IconURL: "https://x.example/i.png", ProxyIconURL: "https://p.example/i.png"},
				Fields: []*discordgo.MessageEmbedField{{Name: hostile, Value: hostile, Inline: true}, nil, {Name: "n", Value: "v"}},
			}, {Footer: &discordgo.MessageEmbedFooter{}}},
			Components: []wireRow{{Type: discordgo.ActionsRowComponent}, {Type: discordgo.ActionsRowComponent, Components: []wireButton{
				{Type: discordgo.ButtonComponent, Label: hostile, Style: discordgo.LinkButton, URL: "https://x.example"},
				{Type: discordgo.ButtonComponent, Style: discordgo.SecondaryButton, CustomID: hostile},
			}}},
			AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{discordgo.AllowedMentionTypeUsers},
				Roles: []string{"1"}, Users: []string{"2", "3"}, RepliedUser: true},
		},
	}
	for i, w := range ws {
		got, ok := appendCreate(nil, &w)
		if !ok {
			t.Fatalf("%d: refused", i)
		}
		want, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		var gotV, wantV any
		if err := json.Unmarshal(got, &gotV); err != nil {
			t.Fatalf("%d: invalid JSON %s: %v", i, got, err)
		}
		_ = json.Unmarshal(want, &wantV)
		if !reflect.DeepEqual(gotV, wantV) {
			t.Errorf("%d:\n got %s\nwant %s", i, got, want)
		}
	}
	if _, ok := appendCreate(nil, &wireCreate{Embeds: []*discordgo.MessageEmbed{{Author: &discordgo.MessageEmbedAuthor{Name: "a"}}}}); ok {
		t.Error("an embed with an author written by hand")
	}
}
