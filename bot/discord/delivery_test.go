package discord

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
)

func TestButtonID(t *testing.T) {
	tests := []struct {
		delivery int64
		command  string
		want     string
	}{
		{42, "mute event:x 1d", "d42:mute event:x 1d"},
		{0, "mute event:x 1d", "cmd:mute event:x 1d"},
		{-3, "help", "cmd:help"},
		{9223372036854775807, "help", "d9223372036854775807:help"},
	}
	for _, tt := range tests {
		got := buttonID(tt.delivery, tt.command)
		if got != tt.want {
			t.Errorf("buttonID(%d, %q) = %q, want %q", tt.delivery, tt.command, got, tt.want)
		}
		cmd, d, ok := parseButtonID(got)
		if !ok || cmd != tt.command || d != max(tt.delivery, 0) {
			t.Errorf("parseButtonID(%q) = %q, %d, %v", got, cmd, d, ok)
		}
	}
	// A command may hold colons and digits of its own.
	if cmd, d, ok := parseButtonID("d7:event set a:1 status=happened"); !ok || d != 7 || cmd != "event set a:1 status=happened" {
		t.Errorf("got %q, %d, %v", cmd, d, ok)
	}
	for _, bad := range []string{"", "cmd:", "cmd: ", "d42:", "d:x", "d042:x", "d-1:x", "d+1:x", "d0:x", "dx:x", "d99999999999999999999:x", "D42:x", "x"} {
		if cmd, d, ok := parseButtonID(bad); ok {
			t.Errorf("parseButtonID(%q) = %q, %d, ok", bad, cmd, d)
		}
	}
}

func TestRefs(t *testing.T) {
	footers := map[string]int64{
		"delivery 42":                        42,
		"deadlines · reminder · delivery 42": 42,
		"deadlines · reminder":               0,
		"deadlines · delivery 42 · reminder": 0,
		"deadlines · reminder · delivery 4x": 0,
		"deadlines · reminder · delivery 0":  0,
		"deadlines · reminder delivery 42":   0,
		"":                                   0,
	}
	for in, want := range footers {
		d, ok := footerDelivery(in)
		if d != want || ok != (want != 0) {
			t.Errorf("footerDelivery(%q) = %d, %v; want %d", in, d, ok, want)
		}
	}
	contents := map[string]int64{
		"-# delivery 42":               42,
		"Plain words.\n-# delivery 42": 42,
		"-# delivery 42\nmore":         0,
		"Plain words. -# delivery 42":  0,
		"\\-# delivery 42":             0,
		"":                             0,
	}
	for in, want := range contents {
		d, ok := contentDelivery(in)
		if d != want || ok != (want != 0) {
			t.Errorf("contentDelivery(%q) = %d, %v; want %d", in, d, ok, want)
		}
	}
	// Text from outside cannot write a reference: escape takes "-#".
	if got := render(bot.Message{Text: "hi\n-# delivery 42"}, 0, slog.New(slog.DiscardHandler)).Content; got != "hi\n\\-# delivery 42" {
		t.Errorf("content %q", got)
	}
	if _, ok := contentDelivery(escape("hi\n-# delivery 42")); ok {
		t.Error("escaped text carries a delivery")
	}
}

// TestRenderCarriesDelivery: the delivery survives every cut, and a
// message whose buttons carry it looks as before.
func TestRenderCarriesDelivery(t *testing.T) {
	discard := slog.New(slog.DiscardHandler)
	t.Run("buttons carry it, the footer stays", func(t *testing.T) {
		msg := alertMessage()
		msg.Buttons = append(msg.Buttons, bot.Button{Label: "Pause", Command: "watcher pause deadlines", AdminOnly: true}, bot.Button{Label: "Help", Command: "help"})
		m := render(msg, 42, discard)
		checkLimits(t, m)
		row := m.Components[0].(discordgo.ActionsRow).Components
		if len(row) != 2 || row[0].(discordgo.Button).CustomID != "d42:"+msg.Buttons[0].Command || row[1].(discordgo.Button).CustomID != "d42:help" {
			t.Errorf("row %+v", row)
		}
		if f := m.Embeds[0].Footer.Text; f != msg.Footer {
			t.Errorf("footer %q, want %q", f, msg.Footer)
		}
	})
	t.Run("a preview carries none", func(t *testing.T) {
		m := Render(alertMessage())
		if id := m.Components[0].(discordgo.ActionsRow).Components[0].(discordgo.Button).CustomID; !strings.HasPrefix(id, buttonPrefix) {
			t.Errorf("custom_id %q", id)
		}
	})
	t.Run("only admin buttons", func(t *testing.T) {
		msg := alertMessage()
		msg.Buttons = []bot.Button{{Label: "Pause", Command: "watcher pause deadlines", AdminOnly: true}}
		m := render(msg, 42, discard)
		if len(m.Components) != 0 || m.Embeds[0].Footer.Text != "deadlines · reminder · delivery 42" {
			t.Errorf("components %d, footer %+v", len(m.Components), m.Embeds[0].Footer)
		}
	})
	t.Run("embed without a footer", func(t *testing.T) {
		m := render(bot.Message{Title: "t"}, 42, discard)
		if f := m.Embeds[0].Footer; f == nil || f.Text != "delivery 42" {
			t.Errorf("footer %+v", f)
		}
	})
	t.Run("long footer", func(t *testing.T) {
		m := render(bot.Message{Title: "t", Footer: long(3000)}, 42, discard)
		checkLimits(t, m)
		f := m.Embeds[0].Footer.Text
		if runes(f) != MaxFooter || !strings.HasSuffix(f, "… · delivery 42") {
			t.Errorf("footer of %d runes ending %q", runes(f), f[max(0, len(f)-30):])
		}
	})
	t.Run("6000 total", func(t *testing.T) {
		var fs []watchers.Field
		for range 10 {
			fs = append(fs, watchers.Field{Name: "field", Value: long(1000)})
		}
		m := render(bot.Message{Title: long(300), Text: long(5000), Fields: fs, Footer: long(3000)}, 9223372036854775807, discard)
		checkLimits(t, m)
		if d, ok := footerDelivery(m.Embeds[0].Footer.Text); !ok || d != 9223372036854775807 {
			t.Errorf("footer %q carries %d, %v", m.Embeds[0].Footer.Text, d, ok)
		}
	})
	t.Run("long content", func(t *testing.T) {
		m := render(bot.Message{Text: long(3000)}, 42, discard)
		checkLimits(t, m)
		if runes(m.Content) != MaxContent || !strings.HasSuffix(m.Content, "…\n-# delivery 42") {
			t.Errorf("content of %d runes ending %q", runes(m.Content), m.Content[max(0, len(m.Content)-30):])
		}
	})
	t.Run("empty content", func(t *testing.T) {
		if m := render(bot.Message{}, 42, discard); m.Content != "-# delivery 42" {
			t.Errorf("content %q", m.Content)
		}
	})
}
