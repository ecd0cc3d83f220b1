package slack

import (
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
)

// Block Kit and message limits. Slack rejects or silently truncates
// messages beyond them, so Render cuts text to fit, on rune boundaries.
const (
	// MaxBlocks is the number of blocks in one message.
	// https://docs.slack.dev/reference/block-kit/blocks
	MaxBlocks = 50
	// MaxSectionText is the length of a section block's text.
	// https://docs.slack.dev/reference/block-kit/blocks/section-block
	MaxSectionText = 3000
	// MaxHeaderText is the length of a header block's plain text.
	// https://docs.slack.dev/reference/block-kit/blocks/header-block
	MaxHeaderText = 150
	// MaxFields is the number of fields in one section block.
	// https://docs.slack.dev/reference/block-kit/blocks/section-block
	MaxFields = 10
	// MaxFieldText is the length of one section field.
	// https://docs.slack.dev/reference/block-kit/blocks/section-block
	MaxFieldText = 2000
	// MaxContextElements is the number of elements in a context block.
	// https://docs.slack.dev/reference/block-kit/blocks/context-block
	MaxContextElements = 10
	// MaxActionElements is the number of elements in an actions block.
	// https://docs.slack.dev/reference/block-kit/blocks/actions-block
	MaxActionElements = 25
	// MaxButtonText is the length of a button's label.
	// https://docs.slack.dev/reference/block-kit/block-elements/button-element
	MaxButtonText = 75
	// MaxButtonValue is the length of a button's value (our command text).
	// https://docs.slack.dev/reference/block-kit/block-elements/button-element
	MaxButtonValue = 2000
	// MaxFallbackText is the length kept for a message's top-level text,
	// the notification fallback; Slack truncates at 40,000 but advises 4,000.
	// https://docs.slack.dev/reference/methods/chat.postMessage#truncating
	MaxFallbackText = 4000
	// MaxMessageText is the hard limit on a message's top-level text, used for
	// command replies that have no blocks.
	// https://docs.slack.dev/reference/methods/chat.postMessage#truncating
	MaxMessageText = 40000
	// MaxTotalBlockText bounds the text of all blocks together: Slack refuses
	// larger messages with the undocumented msg_blocks_too_long at about
	// 13,200 characters (https://github.com/slackapi/bolt-js/issues/2509).
	MaxTotalBlockText = 12000
	// MaxSocketModeResponse is the size at which Slack drops a Socket Mode
	// acknowledgement frame.
	// https://docs.slack.dev/apis/events-api/using-socket-mode
	MaxSocketModeResponse = 20 * 1024
)

// minFieldRoom is the least text budget worth starting another field with.
const minFieldRoom = 80

// escaper escapes the three characters Slack treats as control sequences.
// https://docs.slack.dev/messaging/formatting-message-text#escaping
var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Escape escapes & < > for Slack message text.
func Escape(s string) string {
	return escaper.Replace(strings.ToValidUTF8(s, "\uFFFD"))
}

// fence closes a code block that a cut left open.
const fence = "\n```"

// cutEscaped is bot.CutText for text already escaped for Slack: the cut
// never ends inside an entity such as "&amp;", and a code block it leaves
// open is closed, so the rest of the message does not render as code.
func cutEscaped(log *slog.Logger, what, s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	keep := limit
	if strings.Count(firstRunes(s, keep-1), "```")%2 == 1 {
		keep -= len(fence) // room to close the block
	}
	// Stop before a trailing partial entity: "&am" would show as text.
	body := firstRunes(s, keep-1)
	if i := strings.LastIndexByte(body, '&'); i >= 0 && len(body)-i < len("&amp;") && !strings.Contains(body[i:], ";") {
		keep = utf8.RuneCountInString(body[:i]) + 1
	}
	out := bot.CutText(log, what, s, max(keep, min(limit, 1)))
	if strings.Count(out, "```")%2 == 1 {
		out += fence
	}
	return out
}

// firstRunes returns the first n runes of s.
func firstRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// plain makes text for a plain_text object valid UTF-8, so cuts count
// what Slack will show.
func plain(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// Render turns a platform-neutral message into Block Kit blocks and the
// plain-text fallback Slack shows in notifications. Every limit of Block
// Kit is enforced. Render is a preview and logs nothing; Send renders with
// the adapter's logger, which gets every cut and every part dropped.
func Render(msg bot.Message) (blocks []slack.Block, fallback string) {
	return render(msg, slog.New(slog.DiscardHandler))
}

func render(msg bot.Message, log *slog.Logger) ([]slack.Block, string) {
	drop := func(part string, limit int) {
		log.Warn("slack: message part dropped to fit a limit", "part", part, "limit", limit)
	}
	used := 0 // runes of text in blocks so far, against MaxTotalBlockText
	// section escapes text, cuts it to a section's limit and counts it.
	section := func(part, text string) string {
		t := cutEscaped(log, part, Escape(text), MaxSectionText)
		used += utf8.RuneCountInString(t)
		return t
	}

	var head []slack.Block
	if title := strings.TrimSpace(strings.Join(strings.Fields(msg.Title), " ")); title != "" {
		t := bot.CutText(log, "header", plain(severityEmoji(msg.Severity)+title), MaxHeaderText)
		used += utf8.RuneCountInString(t)
		head = append(head, slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, t, true, false)))
	}
	if strings.TrimSpace(msg.Text) != "" {
		t := section("text", msg.Text)
		head = append(head, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, t, false, false), nil, nil))
	}

	var tail []slack.Block
	var meta []slack.MixedElement
	if len(msg.Tags) > 0 {
		var tags []string
		for _, t := range msg.Tags {
			if t = strings.TrimSpace(t); t != "" {
				tags = append(tags, "#"+strings.TrimPrefix(t, "#"))
			}
		}
		if len(tags) > 0 {
			t := section("tags", strings.Join(tags, " "))
			meta = append(meta, slack.NewTextBlockObject(slack.MarkdownType, t, false, false))
		}
	}
	if msg.Link != "" {
		if link, ok := slackLink(msg.Link, "Source"); ok {
			used += utf8.RuneCountInString(link)
			meta = append(meta, slack.NewTextBlockObject(slack.MarkdownType, link, false, false))
		} else {
			drop("source link", MaxSectionText)
		}
	}
	if len(meta) > 0 {
		tail = append(tail, slack.NewContextBlock("alertbot_meta", meta...))
	}
	if strings.TrimSpace(msg.Footer) != "" {
		t := section("footer", msg.Footer)
		tail = append(tail, slack.NewContextBlock("alertbot_footer", slack.NewTextBlockObject(slack.MarkdownType, t, false, false)))
	}

	var actions []slack.Block
	var buttons []slack.BlockElement
	for i, b := range msg.Buttons {
		cmd := strings.TrimSpace(b.Command)
		if cmd == "" || utf8.RuneCountInString(cmd) > MaxButtonValue || !utf8.ValidString(cmd) {
			// A cut command would run something else: drop the button.
			drop(fmt.Sprintf("button %d", i+1), MaxButtonValue)
			continue
		}
		label := strings.TrimSpace(b.Label)
		if label == "" {
			label = cmd
		}
		l := bot.CutText(log, "button "+strconv.Itoa(i+1)+" label", plain(label), MaxButtonText)
		// The index keeps action_id unique within the message, as Slack requires.
		btn := slack.NewButtonBlockElement("alertbot_button_"+strconv.Itoa(i), cmd, slack.NewTextBlockObject(slack.PlainTextType, l, true, false))
		used += utf8.RuneCountInString(l)
		buttons = append(buttons, btn)
		if len(buttons) == MaxActionElements {
			actions = append(actions, slack.NewActionBlock("alertbot_actions_"+strconv.Itoa(len(actions)), buttons...))
			buttons = nil
		}
	}
	if len(buttons) > 0 {
		actions = append(actions, slack.NewActionBlock("alertbot_actions_"+strconv.Itoa(len(actions)), buttons...))
	}

	// Fields get the text budget the rest left, in as many sections as
	// needed rather than being dropped.
	budget := MaxTotalBlockText - used
	var fieldSections []slack.Block
	var fields []*slack.TextBlockObject
	for i, f := range msg.Fields {
		room := min(MaxFieldText, budget)
		if room < minFieldRoom {
			drop(fmt.Sprintf("fields %d to %d", i+1, len(msg.Fields)), MaxTotalBlockText)
			break
		}
		text := fieldText(log, "field "+strconv.Itoa(i+1), f, room)
		if text == "" {
			continue
		}
		budget -= utf8.RuneCountInString(text)
		fields = append(fields, slack.NewTextBlockObject(slack.MarkdownType, text, false, false))
		if len(fields) == MaxFields {
			fieldSections = append(fieldSections, slack.NewSectionBlock(nil, fields, nil))
			fields = nil
		}
	}
	if len(fields) > 0 {
		fieldSections = append(fieldSections, slack.NewSectionBlock(nil, fields, nil))
	}

	// Keep within MaxBlocks: header, text and context first, then actions,
	// then as many field sections as still fit.
	room := MaxBlocks - len(head) - len(tail)
	if len(actions) > room {
		drop("actions blocks", MaxBlocks)
		actions = actions[:room]
	}
	room -= len(actions)
	if len(fieldSections) > room {
		drop("field sections", MaxBlocks)
		fieldSections = fieldSections[:room]
	}
	blocks := make([]slack.Block, 0, len(head)+len(fieldSections)+len(tail)+len(actions))
	blocks = append(blocks, head...)
	blocks = append(blocks, fieldSections...)
	blocks = append(blocks, tail...)
	blocks = append(blocks, actions...)

	return blocks, cutEscaped(log, "fallback text", fallbackText(msg), MaxFallbackText)
}

// fieldText renders one field as "*Name*\nValue" within max runes. A
// field with a time shows it in each reader's own zone, with Value as the
// fallback for clients that cannot. part names the field in logged cuts.
func fieldText(log *slog.Logger, part string, f watchers.Field, max int) string {
	name := Escape(strings.TrimSpace(f.Name))
	value := Escape(f.Value)
	if name == "" && value == "" && f.Time.IsZero() {
		return ""
	}
	// The name gets at most a tenth of the room; the value the rest.
	name = cutEscaped(log, part+" name", name, max/10)
	prefix := ""
	if name != "" {
		prefix = "*" + name + "*\n"
	}
	room := max - utf8.RuneCountInString(prefix)
	if f.Time.IsZero() {
		return prefix + cutEscaped(log, part+" value", value, room)
	}
	if value == "" {
		value = f.Time.UTC().Format("2006-01-02 15:04 UTC")
	}
	token := "<!date^" + strconv.FormatInt(f.Time.Unix(), 10) + "^{date_short_pretty} {time}|"
	return prefix + token + cutEscaped(log, part+" value", value, room-utf8.RuneCountInString(token)-1) + ">"
}

// fallbackText is the notification text: the title and the text, escaped.
func fallbackText(msg bot.Message) string {
	var parts []string
	if t := strings.TrimSpace(msg.Title); t != "" {
		parts = append(parts, Escape(t))
	}
	if t := strings.TrimSpace(msg.Text); t != "" {
		parts = append(parts, Escape(t))
	}
	if len(parts) == 0 {
		if t := strings.TrimSpace(msg.Footer); t != "" {
			parts = append(parts, Escape(t))
		} else {
			parts = append(parts, "alertbot alert")
		}
	}
	return strings.Join(parts, "\n")
}

// linkEscaper escapes a URL for <url|label>: | and > end the link in
// Slack's syntax; & must be escaped like text.
var linkEscaper = strings.NewReplacer("&", "&amp;", "<", "%3C", ">", "%3E", "|", "%7C")

// slackLink renders an http(s) URL as <url|label>. Other schemes are
// refused: a config or feed should not smuggle javascript: or slack:// links.
func slackLink(raw, label string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false
	}
	s := u.String()
	s = linkEscaper.Replace(s)
	link := "<" + s + "|" + label + ">"
	if utf8.RuneCountInString(link) > MaxSectionText {
		return "", false
	}
	return link, true
}

// severityEmoji marks urgent alerts in the header.
func severityEmoji(s watchers.Severity) string {
	switch s {
	case watchers.Critical:
		return ":rotating_light: "
	case watchers.Warning:
		return ":warning: "
	default:
		return ""
	}
}
