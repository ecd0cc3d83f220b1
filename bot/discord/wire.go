package discord

import (
	"strconv"

	"github.com/bwmarrin/discordgo"

	"github.com/policyteam/alertbot/bot/internal/wirejson"
)

// appendCreate appends w as JSON, as encoding/json writes it
// (TestCreateBodyMatchesMessageSend), without reflection. It reports false
// for an embed with parts render never sets (image, thumbnail, video,
// provider, author); createBody then uses encoding/json.
func appendCreate(b []byte, w *wireCreate) ([]byte, bool) {
	for _, e := range w.Embeds {
		if e != nil && (e.Image != nil || e.Thumbnail != nil || e.Video != nil || e.Provider != nil || e.Author != nil) {
			return b, false
		}
	}
	b = append(b, '{')
	sep := func() {
		if len(b) > 0 && b[len(b)-1] != '{' {
			b = append(b, ',')
		}
	}
	str := func(key, val string) {
		if val == "" {
			return
		}
		sep()
		b = append(b, '"')
		b = append(b, key...)
		b = append(b, '"', ':')
		b = wirejson.AppendString(b, val)
	}
	str("content", w.Content)
	if len(w.Embeds) > 0 {
		sep()
		b = append(b, `"embeds":[`...)
		for i, e := range w.Embeds {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendEmbed(b, e)
		}
		b = append(b, ']')
	}
	if len(w.Components) > 0 {
		sep()
		b = append(b, `"components":[`...)
		for i, r := range w.Components {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"type":`...)
			b = strconv.AppendInt(b, int64(r.Type), 10)
			b = append(b, `,"components":`...)
			if r.Components == nil {
				b = append(b, "null"...)
			} else {
				b = append(b, '[')
				for j, btn := range r.Components {
					if j > 0 {
						b = append(b, ',')
					}
					b = appendButton(b, btn)
				}
				b = append(b, ']')
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if m := w.AllowedMentions; m != nil {
		sep()
		b = append(b, `"allowed_mentions":{"parse":`...)
		b = appendStrings(b, m.Parse)
		if len(m.Roles) > 0 {
			b = append(b, `,"roles":`...)
			b = appendStrings(b, m.Roles)
		}
		if len(m.Users) > 0 {
			b = append(b, `,"users":`...)
			b = appendStrings(b, m.Users)
		}
		b = append(b, `,"replied_user":`...)
		b = strconv.AppendBool(b, m.RepliedUser)
		b = append(b, '}')
	}
	str("nonce", w.Nonce)
	if w.EnforceNonce {
		sep()
		b = append(b, `"enforce_nonce":true`...)
	}
	return append(b, '}'), true
}

// appendEmbed appends an embed without image, thumbnail, video, provider
// or author (appendCreate falls back for those), or null.
func appendEmbed(b []byte, e *discordgo.MessageEmbed) []byte {
	if e == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	first := true
	key := func(k string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, '"', ':')
	}
	for _, f := range [...]struct{ k, v string }{{"url", e.URL}, {"type", string(e.Type)}, {"title", e.Title},
		{"description", e.Description}, {"timestamp", e.Timestamp}} {
		if f.v != "" {
			key(f.k)
			b = wirejson.AppendString(b, f.v)
		}
	}
	if e.Color != 0 {
		key("color")
		b = strconv.AppendInt(b, int64(e.Color), 10)
	}
	if ft := e.Footer; ft != nil {
		key("footer")
		b = append(b, '{')
		inner := true
		for _, f := range [...]struct{ k, v string }{{"text", ft.Text}, {"icon_url", ft.IconURL}, {"proxy_icon_url", ft.ProxyIconURL}} {
			if f.v == "" {
				continue
			}
			if !inner {
				b = append(b, ',')
			}
			inner = false
			b = append(b, '"')
			b = append(b, f.k...)
			b = append(b, '"', ':')
			b = wirejson.AppendString(b, f.v)
		}
		b = append(b, '}')
	}
	if len(e.Fields) > 0 {
		key("fields")
		b = append(b, '[')
		for i, f := range e.Fields {
			if i > 0 {
				b = append(b, ',')
			}
			if f == nil {
				b = append(b, "null"...)
				continue
			}
			b = append(b, `{"name":`...)
			b = wirejson.AppendString(b, f.Name)
			b = append(b, `,"value":`...)
			b = wirejson.AppendString(b, f.Value)
			if f.Inline {
				b = append(b, `,"inline":true`...)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendButton appends a button of a wireRow.
func appendButton(b []byte, btn wireButton) []byte {
	b = append(b, `{"type":`...)
	b = strconv.AppendInt(b, int64(btn.Type), 10)
	b = append(b, `,"label":`...)
	b = wirejson.AppendString(b, btn.Label)
	b = append(b, `,"style":`...)
	b = strconv.AppendInt(b, int64(btn.Style), 10)
	if btn.CustomID != "" {
		b = append(b, `,"custom_id":`...)
		b = wirejson.AppendString(b, btn.CustomID)
	}
	if btn.URL != "" {
		b = append(b, `,"url":`...)
		b = wirejson.AppendString(b, btn.URL)
	}
	return append(b, '}')
}

// appendStrings appends a list of strings, or null for a nil one.
func appendStrings[S ~string](b []byte, list []S) []byte {
	if list == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = wirejson.AppendString(b, string(s))
	}
	return append(b, ']')
}
