package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/sharedtest"
)

var tokyo = time.FixedZone("JST", 9*3600)

func goldenMessages() map[string]bot.Message {
	return map[string]bot.Message{
		"reminder": {
			Kind:     watchers.KindReminder,
			Severity: watchers.Notice,
			Title:    "Diet passes the FY2025 budget (FY starts April 1)",
			Text:     "In 7 days: the Diet is expected to pass the FY2025 budget & related bills <before April 1>.",
			Fields: []watchers.Field{
				{Name: "Due", Value: "2025-03-31 (Mon)", Time: time.Date(2025, 3, 31, 0, 0, 0, 0, tokyo)},
				{Name: "Countdown", Value: "in 7 days"},
				{Name: "Status", Value: "scheduled"},
			},
			Link:     "https://crsreports.congress.gov/product/pdf/IN/IN12466",
			Tags:     []string{"japan", "budget"},
			Footer:   "deadlines · reminder",
			Buttons:  []bot.Button{{Label: "Mute 1 day", Command: "mute event:jp-fy2025-budget 1d"}, {Label: "Mark happened", Command: "event set jp-fy2025-budget status=happened", AdminOnly: true}},
			AlertKey: "deadlines/jp-fy2025-budget/reminder/7d@2025-03-31",
			Event:    "jp-fy2025-budget",
		},
		"window_open_tentative": {
			Kind:     watchers.KindWindowOpen,
			Severity: watchers.Warning,
			Title:    "House of Councillors (Upper House) election",
			Text:     "Expected in July 2025 — exact date not set.",
			Fields: []watchers.Field{
				{Name: "Due", Value: "July 2025 (tentative)"},
				{Name: "Window opens", Value: "2025-07-01 09:00 JST", Time: time.Date(2025, 7, 1, 9, 0, 0, 0, tokyo)},
				{Name: "Status", Value: "tentative"},
				{Name: "Precision", Value: "month"},
			},
			Tags:    []string{"japan", "election"},
			Footer:  "deadlines · window_open",
			Buttons: []bot.Button{{Label: "Mute 1 day", Command: "mute event:upper-house-election-2025 1d"}},
		},
		"date_proposal": bot.MessageFor(watchers.Alert{
			Key: "proposals/upper-house-election-2025/date_proposal@2025-07-20", Kind: watchers.KindDateProposal,
			Watcher: "nhk-politics", Event: "upper-house-election-2025", Severity: watchers.Notice,
			Title: "Date proposal: House of Councillors (Upper House) election",
			Text:  "July 2025 → Sun 20 July 2025\n“政府は参院選を7月20日投開票とする日程を決めた。”",
			Link:  "https://news.example/politics/1",
			Fields: []watchers.Field{{Name: "Event", Value: "upper-house-election-2025"}, {Name: "Due now", Value: "2025-07"},
				{Name: "Proposed", Value: "2025-07-20"}, {Name: "Proposal", Value: "p26871459"}},
		}),
		"page_changed_long_diff": {
			Kind:     watchers.KindPageChanged,
			Severity: watchers.Info,
			Title:    "Page changed: MOFA Japan–U.S. relations",
			Text:     "```\n" + longDiff(400) + "```",
			Link:     "https://www.mofa.go.jp/na/na1/us/page?a=1&b=<2>|x",
			Footer:   "mofa-us · page_changed",
		},
	}
}

// longDiff is a unified diff of n changed lines with characters that need
// escaping.
func longDiff(n int) string {
	var b strings.Builder
	b.WriteString("--- before\n+++ after\n@@ -1 +1 @@\n")
	for i := range n {
		fmt.Fprintf(&b, "-old line %d <a href=\"x\">R&D</a>\n+new line %d 日米関係 & more\n", i, i)
	}
	return b.String()
}

func TestRenderGolden(t *testing.T) {
	for name, msg := range goldenMessages() {
		t.Run(name, func(t *testing.T) {
			blocks, fallback := Render(msg)
			// Unescaped HTML keeps the golden files readable.
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(map[string]any{"fallback": fallback, "blocks": blocks}); err != nil {
				t.Fatal(err)
			}
			sharedtest.Golden(t, filepath.Join("testdata", name+".golden"), buf.Bytes())
			checkLimits(t, blocks)
		})
	}
}

// checkLimits checks the rendered JSON, as Slack would get it, against
// every Block Kit limit, and that all text is valid UTF-8.
func checkLimits(t *testing.T, blocks any) {
	t.Helper()
	raw, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	var bs []map[string]any
	if err := json.Unmarshal(raw, &bs); err != nil {
		t.Fatal(err)
	}
	if len(bs) > MaxBlocks {
		t.Errorf("%d blocks, limit %d", len(bs), MaxBlocks)
	}
	runes := func(v any) int {
		s, _ := v.(string)
		if !utf8.ValidString(s) {
			t.Errorf("invalid UTF-8: %q", s)
		}
		return utf8.RuneCountInString(s)
	}
	text := func(v any) string {
		m, _ := v.(map[string]any)
		s, _ := m["text"].(string)
		return s
	}
	total := 0
	actionIDs := map[string]bool{}
	for i, b := range bs {
		switch b["type"] {
		case "header":
			if n := runes(text(b["text"])); n > MaxHeaderText || n == 0 {
				t.Errorf("block %d: header %d runes", i, n)
			}
			total += runes(text(b["text"]))
		case "section":
			if b["text"] != nil {
				if n := runes(text(b["text"])); n > MaxSectionText || n == 0 {
					t.Errorf("block %d: section text %d runes", i, n)
				}
				total += runes(text(b["text"]))
			}
			fields, _ := b["fields"].([]any)
			if len(fields) > MaxFields {
				t.Errorf("block %d: %d fields", i, len(fields))
			}
			if b["text"] == nil && len(fields) == 0 {
				t.Errorf("block %d: empty section", i)
			}
			for _, f := range fields {
				if n := runes(text(f)); n > MaxFieldText || n == 0 {
					t.Errorf("block %d: field %d runes", i, n)
				}
				total += runes(text(f))
			}
		case "context":
			els, _ := b["elements"].([]any)
			if len(els) > MaxContextElements || len(els) == 0 {
				t.Errorf("block %d: %d context elements", i, len(els))
			}
			for _, e := range els {
				total += runes(text(e))
			}
		case "actions":
			els, _ := b["elements"].([]any)
			if len(els) > MaxActionElements || len(els) == 0 {
				t.Errorf("block %d: %d action elements", i, len(els))
			}
			for _, e := range els {
				m := e.(map[string]any)
				if n := runes(text(m["text"])); n > MaxButtonText || n == 0 {
					t.Errorf("block %d: button text %d runes", i, n)
				}
				total += runes(text(m["text"]))
				if n := runes(m["value"]); n > MaxButtonValue || n == 0 {
					t.Errorf("block %d: button value %d runes", i, n)
				}
				id, _ := m["action_id"].(string)
				if id == "" || len(id) > 255 || actionIDs[id] {
					t.Errorf("block %d: action_id %q empty, long or repeated", i, id)
				}
				actionIDs[id] = true
			}
		default:
			t.Errorf("block %d: unexpected type %v", i, b["type"])
		}
	}
	if total > MaxTotalBlockText {
		t.Errorf("%d runes of block text, limit %d", total, MaxTotalBlockText)
	}
}

// renderCuts renders msg as Send does and returns, with the blocks and the
// fallback, the part named by every cut or drop logged, in order.
func renderCuts(msg bot.Message) ([]slack.Block, string, []string) {
	h := &partsHandler{}
	blocks, fallback := render(msg, slog.New(h))
	return blocks, fallback, h.parts
}

// partsHandler is a slog.Handler that keeps the "part" of every record.
type partsHandler struct{ parts []string }

func (h *partsHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *partsHandler) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "part" {
			h.parts = append(h.parts, a.Value.String())
		}
		return true
	})
	return nil
}

func (h *partsHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *partsHandler) WithGroup(string) slog.Handler      { return h }

func TestCutEscaped(t *testing.T) {
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"a&amp;b", 7, "a&amp;b"},
		{"a&amp;b", 3, "a…"},
		{"ab&lt;cd", 6, "ab…"},
		{"&amp;&amp;", 7, "&amp;…"},
		{"```\ncode here long", 10, "```\nc…\n```"},
		{"abc", 1, "…"},
		{"abc", 0, ""},
	}
	for _, tt := range tests {
		h := &partsHandler{}
		got := cutEscaped(slog.New(h), "text", tt.in, tt.limit)
		if got != tt.want || utf8.RuneCountInString(got) > max(tt.limit, 0) {
			t.Errorf("cutEscaped(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
		}
		if cut := got != tt.in; cut != (len(h.parts) == 1) {
			t.Errorf("cutEscaped(%q, %d): logged %v", tt.in, tt.limit, h.parts)
		}
	}
}

func TestRenderLimits(t *testing.T) {
	many := func(n int, f func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	long := strings.Repeat("日米", 5000) // 10,000 runes, 3 bytes each
	t.Run("header", func(t *testing.T) {
		blocks, _, cuts := renderCuts(bot.Message{Title: long})
		checkLimits(t, blocks)
		got := headerText(t, blocks)
		if n := utf8.RuneCountInString(got); n != MaxHeaderText || !strings.HasSuffix(got, "…") {
			t.Errorf("header %d runes, suffix %q", n, got[len(got)-3:])
		}
		if len(cuts) == 0 || cuts[0] != "header" {
			t.Errorf("cut not reported: %+v", cuts)
		}
	})
	t.Run("section", func(t *testing.T) {
		blocks, fallback, cuts := renderCuts(bot.Message{Text: strings.Repeat("a&b", 2000)})
		checkLimits(t, blocks)
		if n := utf8.RuneCountInString(fallback); n > MaxFallbackText {
			t.Errorf("fallback %d runes", n)
		}
		raw, _ := json.Marshal(blocks)
		if bytes.Contains(raw, []byte("&am…")) || bytes.Contains(raw, []byte("&a…")) {
			t.Error("cut left half an entity")
		}
		if len(cuts) < 2 {
			t.Errorf("cuts %+v, want text and fallback", cuts)
		}
	})
	t.Run("code block closed", func(t *testing.T) {
		blocks, _ := Render(bot.Message{Text: "```\n" + long})
		raw, _ := json.Marshal(blocks)
		var bs []struct {
			Text struct{ Text string } `json:"text"`
		}
		_ = json.Unmarshal(raw, &bs)
		if got := bs[0].Text.Text; strings.Count(got, "```")%2 != 0 || utf8.RuneCountInString(got) > MaxSectionText {
			t.Errorf("fences %d, %d runes", strings.Count(got, "```"), utf8.RuneCountInString(got))
		}
	})
	t.Run("12 fields", func(t *testing.T) {
		var fs []watchers.Field
		for i := range 12 {
			fs = append(fs, watchers.Field{Name: fmt.Sprintf("F%d", i), Value: "v"})
		}
		blocks, _ := Render(bot.Message{Title: "t", Fields: fs})
		checkLimits(t, blocks)
		if len(blocks) != 3 {
			t.Fatalf("%d blocks, want header + 2 field sections", len(blocks))
		}
		raw, _ := json.Marshal(blocks)
		for i := range 12 {
			if !bytes.Contains(raw, []byte(fmt.Sprintf("*F%d*", i))) {
				t.Errorf("field %d lost", i)
			}
		}
	})
	t.Run("long fields", func(t *testing.T) {
		var fs []watchers.Field
		for i := range 12 {
			fs = append(fs, watchers.Field{Name: long, Value: long, Time: time.Unix(int64(i)*86400, 0)})
		}
		blocks, _, cuts := renderCuts(bot.Message{Title: "t", Text: long, Fields: fs})
		checkLimits(t, blocks)
		if len(cuts) == 0 {
			t.Error("no cut reported")
		}
	})
	t.Run("30 buttons", func(t *testing.T) {
		var bs []bot.Button
		for i, l := range many(30, func(i int) string { return fmt.Sprintf("%d %s", i, long) }) {
			bs = append(bs, bot.Button{Label: l, Command: fmt.Sprintf("mute event:e%d 1d", i)})
		}
		blocks, _, cuts := renderCuts(bot.Message{Title: "t", Buttons: bs})
		checkLimits(t, blocks)
		raw, _ := json.Marshal(blocks)
		for i := range 30 {
			if !bytes.Contains(raw, []byte(fmt.Sprintf(`"value":"mute event:e%d 1d"`, i))) {
				t.Errorf("button %d lost", i)
			}
		}
		if len(cuts) != 30 {
			t.Errorf("%d cuts, want 30 labels", len(cuts))
		}
	})
	t.Run("button value over limit dropped", func(t *testing.T) {
		blocks, _, cuts := renderCuts(bot.Message{Title: "t", Buttons: []bot.Button{{Label: "x", Command: strings.Repeat("a", MaxButtonValue+1)}}})
		checkLimits(t, blocks)
		if len(blocks) != 1 || len(cuts) != 1 {
			t.Errorf("%d blocks, cuts %+v", len(blocks), cuts)
		}
	})
	t.Run("block count", func(t *testing.T) {
		var fs []watchers.Field
		for i := range 1000 {
			fs = append(fs, watchers.Field{Name: "n", Value: fmt.Sprint(i)})
		}
		var bs []bot.Button
		for i := range 2000 {
			bs = append(bs, bot.Button{Label: "b", Command: fmt.Sprint("c", i)})
		}
		blocks, _ := Render(bot.Message{Title: "t", Text: "x", Tags: []string{"a"}, Footer: "f", Fields: fs, Buttons: bs})
		checkLimits(t, blocks)
		if len(blocks) != MaxBlocks {
			t.Errorf("%d blocks, want exactly %d", len(blocks), MaxBlocks)
		}
	})
	t.Run("invalid utf8", func(t *testing.T) {
		blocks, fallback := Render(bot.Message{Title: "a\xffb", Text: "c\xfe", Footer: "\xc3"})
		checkLimits(t, blocks)
		if !utf8.ValidString(fallback) {
			t.Error("fallback not UTF-8")
		}
	})
}

func headerText(t *testing.T, blocks any) string {
	t.Helper()
	raw, _ := json.Marshal(blocks)
	var bs []struct {
		Type string
		Text struct{ Text string }
	}
	if err := json.Unmarshal(raw, &bs); err != nil || len(bs) == 0 || bs[0].Type != "header" {
		t.Fatalf("no header block in %s", raw)
	}
	return bs[0].Text.Text
}

func TestRenderEscapingAndLinks(t *testing.T) {
	tests := []struct {
		name string
		msg  bot.Message
		want []string // substrings of the blocks JSON
		not  []string
	}{
		{"escape text", bot.Message{Text: "a < b & c > d <!channel>"},
			[]string{`a &lt; b &amp; c &gt; d &lt;!channel&gt;`}, []string{"<!channel>"}},
		{"escape fields", bot.Message{Fields: []watchers.Field{{Name: "<b>", Value: "x&y"}}},
			[]string{`*&lt;b&gt;*\nx&amp;y`}, nil},
		{"date field", bot.Message{Fields: []watchers.Field{{Name: "Due", Value: "Mar 31 <JST>", Time: time.Unix(1743346800, 0)}}},
			[]string{`<!date^1743346800^{date_short_pretty} {time}|Mar 31 &lt;JST&gt;>`}, nil},
		{"date field without value", bot.Message{Fields: []watchers.Field{{Name: "Due", Time: time.Unix(0, 0)}}},
			[]string{`|1970-01-01 00:00 UTC>`}, nil},
		{"link", bot.Message{Link: "https://example.org/a?x=1&y=<2>|z"},
			[]string{`<https://example.org/a?x=1&amp;y=%3C2%3E%7Cz|Source>`}, nil},
		{"javascript link dropped", bot.Message{Title: "t", Link: "javascript:alert(1)"}, nil, []string{"javascript", "Source"}},
		{"tags", bot.Message{Tags: []string{"japan", "#budget"}}, []string{`#japan #budget`}, []string{"##"}},
		{"critical", bot.Message{Title: "x", Severity: watchers.Critical}, []string{`:rotating_light: x`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blocks, _ := Render(tt.msg)
			checkLimits(t, blocks)
			raw, _ := json.Marshal(blocks)
			// Decode and re-encode without HTML escaping, so \u003c etc.
			// become readable characters for the comparisons.
			var v any
			_ = json.Unmarshal(raw, &v)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(v)
			got := buf.String()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %s in %s", w, got)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("unexpected %s in %s", n, got)
				}
			}
		})
	}
}

func TestFallback(t *testing.T) {
	_, fb := Render(bot.Message{Title: "Budget <due>", Text: "in 7 days & counting"})
	if want := "Budget &lt;due&gt;\nin 7 days &amp; counting"; fb != want {
		t.Errorf("fallback %q, want %q", fb, want)
	}
	_, fb = Render(bot.Message{})
	if fb == "" {
		t.Error("empty message has no fallback text")
	}
}
