package discord

import (
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
)

// Message and embed limits, counted in characters (runes). See
// https://discord.com/developers/docs/resources/message#embed-object-embed-limits
// and https://discord.com/developers/docs/resources/message#create-message
// (content "up to 2000 characters"; the OpenAPI spec's 4000 is not what
// the docs promise).
const (
	MaxContent         = 2000
	MaxEmbeds          = 10
	MaxEmbedTotal      = 6000 // title + description + field names/values + footer + author, over all embeds
	MaxEmbedTitle      = 256
	MaxEmbedDesc       = 4096
	MaxEmbedFields     = 25
	MaxFieldName       = 256
	MaxFieldValue      = 1024
	MaxFooter          = 2048
	MaxAuthor          = 256
	MaxCustomID        = 100 // https://discord.com/developers/docs/interactions/message-components#button-object
	MaxButtonLabel     = 80
	MaxButtonsPerRow   = 5 // https://discord.com/developers/docs/interactions/message-components#action-rows
	MaxActionRows      = 5
	MaxChoices         = 25  // autocomplete results, https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-autocomplete
	MaxChoiceLength    = 100 // choice name and value
	MaxURL             = 2048
	minDescriptionKept = 1024 // description always keeps at least this much of the 6000 total
)

// Embed colours: by kind where the kind says more than the severity.
const (
	colorCritical  = 0xD83C3E
	colorWarning   = 0xE3B341
	colorNotice    = 0x1F6FEB
	colorInfo      = 0x8B949E
	colorRecovered = 0x2EA043
	colorChanged   = 0x8957E5
)

// buttonPrefix marks a button's custom_id as a command to run.
const buttonPrefix = "cmd:"

// Render turns a platform-neutral message into a Discord message: one embed
// within Discord's limits, no mentions, and its buttons. A message that is
// only text is sent as plain content. Render is a preview and logs
// nothing; Send renders with the adapter's logger, which gets every cut.
func Render(msg bot.Message) *discordgo.MessageSend {
	return render(msg, 0, slog.New(slog.DiscardHandler))
}

// render is Render for the delivery with id delivery (0 for none), which
// the message carries so that Resolve can find it again: in its buttons'
// custom_ids, or when no button carries it, at the end of the footer or
// of the text (delivery.go).
func render(msg bot.Message, delivery int64, log *slog.Logger) *discordgo.MessageSend {
	c := cutter{log: log}
	out := &discordgo.MessageSend{
		AllowedMentions: noMentions(),
	}
	var carried bool
	out.Components, carried = c.buttons(msg.Buttons, delivery)
	ref := ""
	if delivery > 0 && !carried {
		ref = deliveryRef(delivery)
	}
	if msg.Title == "" && len(msg.Fields) == 0 && msg.Link == "" && len(msg.Tags) == 0 && msg.Footer == "" {
		out.Content = c.content(msg.Text, ref)
	} else {
		out.Embeds = []*discordgo.MessageEmbed{c.embed(msg, ref)}
	}
	return out
}

// content is the text of a message without an embed, with ref (if any) as
// a last line of subtext that the cut never reaches.
func (c cutter) content(text, ref string) string {
	if ref == "" {
		return c.cut("content", escape(text), MaxContent)
	}
	line := subtext + ref
	body := c.cut("content", escape(text), MaxContent-runes(line)-1)
	if strings.TrimSpace(body) == "" {
		return line
	}
	return body + "\n" + line
}

func noMentions() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
}

// cutter fits a message's parts to Discord's limits and logs every cut
// and every part it drops.
type cutter struct {
	log *slog.Logger
}

// cut shortens s to at most n runes, logging the cut as what.
func (c cutter) cut(what, s string, n int) string { return bot.CutText(c.log, what, s, n) }

func runes(s string) int { return utf8.RuneCountInString(s) }

// blank stands in for empty field names and values, which Discord rejects.
const blank = "\u200b"

// embed builds the embed of msg; ref, when set, ends the footer and is
// kept whole, whatever else is cut.
func (c cutter) embed(msg bot.Message, ref string) *discordgo.MessageEmbed {
	e := &discordgo.MessageEmbed{Color: color(msg.Kind, msg.Severity)}
	if u, ok := embedURL(msg.Link); ok {
		e.URL = u
	} else if msg.Link != "" {
		c.log.Warn("link dropped: not an http(s) url within discord's limit")
	}
	e.Title = c.cut("title", escape(msg.Title), MaxEmbedTitle)

	type field struct{ name, value string }
	var fields []field
	for i, f := range msg.Fields {
		part := "field " + strconv.Itoa(i)
		name := c.cut(part+" name", escape(f.Name), MaxFieldName)
		var value string
		if !f.Time.IsZero() {
			// Every reader sees these in their own zone.
			ts := strconv.FormatInt(f.Time.Unix(), 10)
			value = "<t:" + ts + ":F> (<t:" + ts + ":R>)"
		} else {
			value = c.cut(part+" value", escape(f.Value), MaxFieldValue)
		}
		fields = append(fields, field{orBlank(name), orBlank(value)})
	}
	if len(msg.Tags) > 0 {
		tags := make([]string, 0, len(msg.Tags))
		for _, t := range msg.Tags {
			tags = append(tags, "#"+escapeInline(strings.TrimPrefix(t, "#")))
		}
		fields = append(fields, field{"Tags", c.cut("tags", strings.Join(tags, " "), MaxFieldValue)})
	}
	if len(fields) > MaxEmbedFields {
		c.log.Warn("fields dropped over discord limit", "limit", MaxEmbedFields, "fields", len(fields))
		// Keep the tags field, which is last, over the fields just before it.
		if len(msg.Tags) > 0 {
			fields = append(fields[:MaxEmbedFields-1], fields[len(fields)-1])
		} else {
			fields = fields[:MaxEmbedFields]
		}
	}

	// The 6000 total: the title comes first, then the description keeps at
	// least minDescriptionKept, fields go in order while they fit, the
	// footer gets what fits, and the description the rest.
	desc := escape(msg.Text)
	budget := MaxEmbedTotal - runes(e.Title)
	tail := "" // what ref adds to the footer, reserved before anything else
	if ref != "" {
		tail = ref
		if msg.Footer != "" {
			tail = footerSep + ref
		}
		budget -= runes(tail)
	}
	reserve := min(runes(desc), MaxEmbedDesc, minDescriptionKept)
	avail := budget - reserve
	for i, f := range fields {
		cost := runes(f.name) + runes(f.value)
		if cost > avail {
			c.log.Warn("fields dropped over discord's 6000 total", "kept", i, "fields", len(fields))
			break
		}
		avail -= cost
		budget -= cost
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: f.name, Value: f.value})
	}
	ft := ""
	if msg.Footer != "" {
		// Footers render no markdown, so escaping would show backslashes.
		ft = c.cut("footer", msg.Footer, min(MaxFooter-runes(tail), max(avail, 0)))
		budget -= runes(ft)
	}
	if ref != "" {
		if ft != "" {
			ft += footerSep
		}
		ft += ref
	}
	if ft != "" {
		e.Footer = &discordgo.MessageEmbedFooter{Text: ft}
	}
	e.Description = c.cut("description", desc, min(MaxEmbedDesc, max(budget, 0)))
	return e
}

func orBlank(s string) string {
	if strings.TrimSpace(s) == "" {
		return blank
	}
	return s
}

// embedURL accepts only absolute http(s) URLs: Discord answers 400 to
// anything else, which would fail the whole delivery.
func embedURL(s string) (string, bool) {
	if s == "" || len(s) > MaxURL {
		return "", false
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false
	}
	return u.String(), true
}

func color(k watchers.Kind, s watchers.Severity) int {
	if s >= watchers.Critical {
		return colorCritical
	}
	switch k {
	case watchers.KindWatcherFailing, watchers.KindDeliveryFailed, watchers.KindOverdue:
		return colorCritical
	case watchers.KindWatcherRecovered:
		return colorRecovered
	case watchers.KindChanged, watchers.KindCalendarChanged:
		return colorChanged
	}
	switch s {
	case watchers.Warning:
		return colorWarning
	case watchers.Notice:
		return colorNotice
	}
	return colorInfo
}

// buttons lays out message buttons in action rows of five. Admin-only
// buttons are left out, since Discord cannot show a button to admins
// only, unless the button is ShownToAll (a date proposal's Confirm and
// Dismiss); the router refuses (and audits) a non-admin who presses one.
// Each custom_id carries delivery when it fits; carried reports whether
// any button does, else the message must carry it elsewhere.
func (c cutter) buttons(bs []bot.Button, delivery int64) (rows []discordgo.MessageComponent, carried bool) {
	var row discordgo.ActionsRow
	for i, b := range bs {
		if b.AdminOnly && !b.ShownToAll {
			continue
		}
		id := buttonID(0, b.Command)
		if b.Command == "" || len(id) > MaxCustomID {
			c.log.Warn("button dropped: command empty or longer than discord's custom_id limit", "limit", MaxCustomID)
			continue
		}
		if len(rows) == MaxActionRows {
			c.log.Warn("button dropped: action rows full", "limit", MaxActionRows)
			break
		}
		if long := buttonID(delivery, b.Command); delivery > 0 && len(long) <= MaxCustomID {
			id, carried = long, true
		}
		label := b.Label
		if strings.TrimSpace(label) == "" {
			label = b.Command
		}
		label = c.cut("button "+strconv.Itoa(i)+" label", label, MaxButtonLabel)
		row.Components = append(row.Components, discordgo.Button{
			Label:    label,
			Style:    discordgo.SecondaryButton,
			CustomID: id,
		})
		if len(row.Components) == MaxButtonsPerRow {
			rows = append(rows, row)
			row = discordgo.ActionsRow{}
		}
	}
	if len(row.Components) > 0 && len(rows) < MaxActionRows {
		rows = append(rows, row)
	}
	return rows, carried
}

// escape makes chat text literal in Discord markdown: inline markers are
// backslash-escaped, and so are line starts that would make a heading,
// quote or list. Mentions are disabled separately with allowed_mentions.
func escape(s string) string {
	if s == "" {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		l = escapeInline(l)
		t := strings.TrimLeft(l, " ")
		// "-#" starts subtext, which also marks a delivery reference:
		// text from outside must not be able to write one.
		if strings.HasPrefix(t, "#") || strings.HasPrefix(t, ">") || strings.HasPrefix(t, "- ") || strings.HasPrefix(t, "-#") {
			l = l[:len(l)-len(t)] + `\` + t
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}

// escapeInline escapes Discord's inline markdown characters.
func escapeInline(s string) string {
	if !strings.ContainsAny(s, "\\*_~`|<[]") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		switch r {
		case '\\', '*', '_', '~', '`', '|', '<', '[', ']':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
