package slack

import (
	"encoding/json"
	"strconv"

	"github.com/slack-go/slack"

	"github.com/policyteam/alertbot/bot/internal/wirejson"
)

// The JSON of chat.postMessage is written here for the blocks render
// makes: encoding/json goes through slack-go's Block interfaces, and its
// context and actions elements marshal themselves, which encoding/json
// then checks and copies again, byte by byte. What is written means what
// json.Marshal of the same blocks means (TestPostBodyMatchesMarshal); a
// block or element of another kind, or with a field set that is not
// written here, makes appendPostBody report false, and the body is
// encoded with encoding/json instead.

// appendPostBody appends chat.postMessage's JSON body to b: channel, text,
// blocks (when any) and metadata (when not nil, written as it is).
func appendPostBody(b []byte, channel, text string, blocks []slack.Block, metadata json.RawMessage) ([]byte, bool) {
	b = append(b, `{"channel":`...)
	b = wirejson.AppendString(b, channel)
	b = append(b, `,"text":`...)
	b = wirejson.AppendString(b, text)
	if len(blocks) > 0 {
		b = append(b, `,"blocks":`...)
		var ok bool
		if b, ok = appendList(b, blocks, appendBlock); !ok {
			return b, false
		}
	}
	if metadata != nil {
		b = append(b, `,"metadata":`...)
		b = append(b, metadata...)
	}
	return append(b, '}'), true
}

// appendBlock appends one block: a header, section, context or actions
// block as render and replyBlocks make them.
func appendBlock(b []byte, blk slack.Block) ([]byte, bool) {
	switch blk := blk.(type) {
	case *slack.HeaderBlock:
		if blk.Level != 0 {
			return b, false
		}
		b = appendTextBlock(b, string(blk.Type), blk.Text, blk.BlockID)
	case *slack.SectionBlock:
		if blk.Accessory != nil || blk.Expand {
			return b, false
		}
		b = appendTextBlock(b, string(blk.Type), blk.Text, blk.BlockID)
		if len(blk.Fields) > 0 {
			b = append(b, `,"fields":[`...)
			for i, f := range blk.Fields {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendText(b, f)
			}
			b = append(b, ']')
		}
	case *slack.ContextBlock:
		b = appendType(b, string(blk.Type))
		b = appendBlockID(b, blk.BlockID)
		var ok bool
		b, ok = appendElements(b, blk.ContextElements.Elements, func(b []byte, e slack.MixedElement) ([]byte, bool) {
			t, ok := e.(*slack.TextBlockObject)
			if !ok {
				return b, false
			}
			return appendText(b, t), true
		})
		if !ok {
			return b, false
		}
	case *slack.ActionBlock:
		b = appendType(b, string(blk.Type))
		b = appendBlockID(b, blk.BlockID)
		var els []slack.BlockElement
		if blk.Elements != nil {
			els = blk.Elements.ElementSet
		}
		var ok bool
		b, ok = appendElements(b, els, func(b []byte, e slack.BlockElement) ([]byte, bool) {
			btn, ok := e.(*slack.ButtonBlockElement)
			if !ok || btn.Confirm != nil || btn.VisibleToUserIDs != nil {
				return b, false
			}
			return appendButton(b, btn), true
		})
		if !ok {
			return b, false
		}
	default:
		return b, false
	}
	return append(b, '}'), true
}

// appendTextBlock opens a header or section block: its type, its text
// when set, its block_id.
func appendTextBlock(b []byte, typ string, text *slack.TextBlockObject, id string) []byte {
	b = appendType(b, typ)
	if text != nil {
		b = append(b, `,"text":`...)
		b = appendText(b, text)
	}
	return appendBlockID(b, id)
}

// appendElements appends a block's elements: null for none (nil), else
// each through add, which says false for one it cannot write.
func appendElements[E any](b []byte, els []E, add func([]byte, E) ([]byte, bool)) ([]byte, bool) {
	b = append(b, `,"elements":`...)
	if els == nil {
		return append(b, "null"...), true
	}
	return appendList(b, els, add)
}

// appendList appends a JSON array of els, each through add, which says
// false for one it cannot write.
func appendList[E any](b []byte, els []E, add func([]byte, E) ([]byte, bool)) ([]byte, bool) {
	b = append(b, '[')
	for i, e := range els {
		if i > 0 {
			b = append(b, ',')
		}
		var ok bool
		if b, ok = add(b, e); !ok {
			return b, false
		}
	}
	return append(b, ']'), true
}

// appendType opens an object with its type.
func appendType(b []byte, typ string) []byte {
	b = append(b, `{"type":`...)
	return wirejson.AppendString(b, typ)
}

// appendBlockID appends block_id when it is set (omitempty).
func appendBlockID(b []byte, id string) []byte {
	if id == "" {
		return b
	}
	b = append(b, `,"block_id":`...)
	return wirejson.AppendString(b, id)
}

// appendButton appends a button element without confirm or
// visible_to_user_ids (appendBlock falls back for those).
func appendButton(b []byte, btn *slack.ButtonBlockElement) []byte {
	b = append(b, '{')
	if btn.Type != "" {
		b = append(b, `"type":`...)
		b = wirejson.AppendString(b, string(btn.Type))
		b = append(b, ',')
	}
	b = append(b, `"text":`...)
	b = appendText(b, btn.Text)
	for _, f := range [...]struct{ key, val string }{
		{"action_id", btn.ActionID}, {"url", btn.URL}, {"value", btn.Value}, {"style", string(btn.Style)},
		{"accessibility_label", btn.AccessibilityLabel}, {"agent_prompt", btn.AgentPrompt},
		{"agent_prompt_display", btn.AgentPromptDisplay},
	} {
		if f.val != "" {
			b = append(b, ',', '"')
			b = append(b, f.key...)
			b = append(b, '"', ':')
			b = wirejson.AppendString(b, f.val)
		}
	}
	return append(b, '}')
}

// appendText appends a text object, or null for none.
func appendText(b []byte, t *slack.TextBlockObject) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	b = appendType(b, t.Type)
	b = append(b, `,"text":`...)
	b = wirejson.AppendString(b, t.Text)
	if t.Emoji != nil {
		b = append(b, `,"emoji":`...)
		b = strconv.AppendBool(b, *t.Emoji)
	}
	if t.Verbatim {
		b = append(b, `,"verbatim":true`...)
	}
	return append(b, '}')
}
