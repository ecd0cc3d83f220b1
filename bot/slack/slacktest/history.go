package slacktest

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The bot's identity on the fake: auth.test answers with it, and every
// message posted through chat.postMessage carries it, as Slack marks an
// app's posts.
const (
	BotUserID = "U0ALERTBOT"
	BotID     = "B0ALERTBOT"
	AppID     = "A0SLACKTEST"
	TeamID    = "T0SLACKTEST"
)

// Limits of conversations.history.
// https://docs.slack.dev/reference/methods/conversations.history
const (
	defaultHistoryLimit = 100
	maxHistoryLimit     = 999
)

// Message is a message in a channel's history: one the bot posted, or one
// a test put there with AddMessage (another user, another app).
type Message struct {
	Channel  string
	TS       string // "seconds.micros"; AddMessage sets it when empty
	User     string // user id of the poster (the bot user for app posts)
	BotID    string // set on an app's posts
	AppID    string // set on an app's posts
	Text     string
	Blocks   json.RawMessage
	Metadata json.RawMessage // {"event_type":…,"event_payload":{…}}; nil for none
}

// wireMessage is a message as Slack's answers carry it.
type wireMessage struct {
	Channel  string          `json:"-"` // the answer's, not the message's
	Type     string          `json:"type"`
	TS       string          `json:"ts"`
	Text     string          `json:"text"`
	User     string          `json:"user,omitempty"`
	BotID    string          `json:"bot_id,omitempty"`
	AppID    string          `json:"app_id,omitempty"`
	Blocks   json.RawMessage `json:"blocks,omitempty"`
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

// json is m as conversations.history returns it. Without
// include_all_metadata Slack keeps a message's event_type but strips its
// event_payload (for apps that did not subscribe to the event type in
// their manifest: slackapi/python-slack-sdk#1501), so a reader that
// forgets the flag cannot match payloads.
func (m Message) json(allMetadata bool) wireMessage {
	out := wireMessage{Channel: m.Channel, Type: "message", TS: m.TS, Text: m.Text, User: m.User, BotID: m.BotID, AppID: m.AppID, Blocks: m.Blocks}
	if m.Metadata != nil {
		if allMetadata {
			out.Metadata = m.Metadata
		} else {
			var md struct {
				EventType string `json:"event_type"`
			}
			_ = json.Unmarshal(m.Metadata, &md)
			out.Metadata, _ = json.Marshal(md)
		}
	}
	return out
}

// HistoryRequest is one conversations.history request as the fake saw it.
type HistoryRequest struct {
	Token              string
	Channel            string
	Oldest             string // "" when absent
	Latest             string // "" when absent
	Inclusive          bool
	Limit              int // as asked, 0 when absent
	Cursor             string
	IncludeAllMetadata bool
	Failure            *Failure // the failure answered, nil on success
}

// AddMessage puts m into m.Channel's history, as if someone posted it, and
// returns its ts. Without m.TS it is posted now (by the fake's clock);
// with one it goes where that ts puts it, which must be free.
func (s *Server) AddMessage(m Message) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.Channel == "" {
		panic("slacktest: AddMessage without a channel")
	}
	if m.TS == "" {
		m.TS = s.nextTS()
	} else {
		t, ok := parseTS(m.TS)
		if !ok {
			panic(fmt.Sprintf("slacktest: AddMessage: bad ts %q", m.TS))
		}
		m.TS = formatTS(t) // canonical, so equal instants compare equal
		// Later posts get later timestamps than this one.
		s.ts = max(s.ts, t)
	}
	h := s.history[m.Channel]
	t, _ := parseTS(m.TS)
	i, found := slices.BinarySearchFunc(h, t, func(x Message, t int64) int {
		xt, _ := parseTS(x.TS)
		return cmp.Compare(xt, t)
	})
	if found {
		panic(fmt.Sprintf("slacktest: AddMessage: ts %s already taken in %s", m.TS, m.Channel))
	}
	s.history[m.Channel] = slices.Insert(h, i, m)
	s.notify()
	return m.TS
}

// History returns channel's messages, oldest first.
func (s *Server) History(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.history[channel])
}

// DeleteChannel makes channel unknown: posts to it and reads of its
// history answer channel_not_found.
func (s *Server) DeleteChannel(channel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleted[channel] = true
	delete(s.history, channel)
}

// FailHistory makes the next conversations.history calls fail with fs, in
// order.
func (s *Server) FailHistory(fs ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failHistory = append(s.failHistory, fs...)
}

// FailHistoryChannel makes every conversations.history call on channel
// fail with f until ClearFailures, e.g. MissingScope("groups:history").
func (s *Server) FailHistoryChannel(channel string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failHistCh[channel] = f
}

// HistoryRequests returns every conversations.history request, in order.
func (s *Server) HistoryRequests() []HistoryRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.historyReqs)
}

// conversationsHistory fakes conversations.history: a channel's messages
// newest first, between oldest and latest (both exclusive unless
// inclusive is set), limit per page, with cursor paging through
// response_metadata.next_cursor.
// https://docs.slack.dev/reference/methods/conversations.history
func (s *Server) conversationsHistory(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_form_data"})
		return
	}
	q := HistoryRequest{
		Token:              requestToken(r),
		Channel:            r.Form.Get("channel"),
		Oldest:             r.Form.Get("oldest"),
		Latest:             r.Form.Get("latest"),
		Inclusive:          truthy(r.Form.Get("inclusive")),
		Cursor:             r.Form.Get("cursor"),
		IncludeAllMetadata: truthy(r.Form.Get("include_all_metadata")),
	}
	q.Limit, _ = strconv.Atoi(r.Form.Get("limit"))

	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notify()
	fail := s.historyFailure(q)
	var page []wireMessage
	var next string
	if fail == nil {
		page, next, fail = s.historyPage(q)
	}
	q.Failure = fail
	s.historyReqs = append(s.historyReqs, q)
	if fail != nil {
		writeFailure(w, fail)
		return
	}
	resp := map[string]any{"ok": true, "messages": page, "has_more": next != "", "pin_count": 0}
	if next != "" {
		resp["response_metadata"] = map[string]any{"next_cursor": next}
	}
	writeJSON(w, http.StatusOK, resp)
}

// historyFailure is the failure q meets before its page is looked at:
// the token, the channel, then any the test asked for. Call with s.mu
// held.
func (s *Server) historyFailure(q HistoryRequest) *Failure {
	switch {
	case q.Token == "":
		return &Failure{Error: "not_authed"}
	case s.Token != "" && q.Token != s.Token:
		return &Failure{Error: "invalid_auth"}
	case !validChannel(q.Channel) || s.deleted[q.Channel]:
		return &Failure{Error: "channel_not_found"}
	case len(s.failHistory) > 0:
		f := s.failHistory[0]
		s.failHistory = s.failHistory[1:]
		return &f
	}
	if f, ok := s.failHistCh[q.Channel]; ok {
		return &f
	}
	return nil
}

// historyPage returns the page q asks for, newest first, and the cursor of
// the next one ("" when this is the last). Call with s.mu held.
func (s *Server) historyPage(q HistoryRequest) ([]wireMessage, string, *Failure) {
	oldest, latest := int64(0), int64(-1) // latest -1: now, i.e. no bound
	var ok bool
	if q.Oldest != "" {
		if oldest, ok = parseTS(q.Oldest); !ok {
			return nil, "", &Failure{Error: "invalid_ts_oldest"}
		}
	}
	if q.Latest != "" {
		if latest, ok = parseTS(q.Latest); !ok {
			return nil, "", &Failure{Error: "invalid_ts_latest"}
		}
	}
	from := int64(-1) // the cursor: the newest ts this page may hold
	if q.Cursor != "" {
		if from, ok = decodeCursor(q.Cursor); !ok {
			return nil, "", &Failure{Error: "invalid_cursor"}
		}
	}
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = defaultHistoryLimit
	case limit > maxHistoryLimit:
		limit = maxHistoryLimit
	}
	h := s.history[q.Channel]
	var page []wireMessage
	for i := len(h) - 1; i >= 0; i-- {
		t, _ := parseTS(h[i].TS)
		if (from >= 0 && t > from) || (latest >= 0 && (t > latest || (t == latest && !q.Inclusive))) {
			continue
		}
		if t < oldest || (t == oldest && !q.Inclusive) {
			break // older still, all of them
		}
		if len(page) == limit {
			return page, encodeCursor(t), nil
		}
		page = append(page, h[i].json(q.IncludeAllMetadata))
	}
	return page, "", nil
}

// authTest fakes auth.test for the bot token.
// https://docs.slack.dev/reference/methods/auth.test
func (s *Server) authTest(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_form_data"})
		return
	}
	tok := requestToken(r)
	switch {
	case tok == "":
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "not_authed"})
	case s.Token != "" && tok != s.Token:
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_auth"})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "url": "https://slacktest.slack.com/",
			"team": "slacktest", "user": "alertbot", "team_id": TeamID, "user_id": BotUserID,
			"bot_id": BotID, "is_enterprise_install": false})
	}
}

// now is the fake's clock.
func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// nextTS hands out the ts of a new message: the clock's time, or a
// microsecond after the last one, so timestamps are unique and rising as
// in a Slack channel. Call with s.mu held.
func (s *Server) nextTS() string {
	t := s.now().UnixMicro()
	if t <= s.ts {
		t = s.ts + 1
	}
	s.ts = t
	return formatTS(t)
}

// formatTS writes microseconds since 1970 as Slack does, "seconds.micros".
func formatTS(us int64) string { return fmt.Sprintf("%d.%06d", us/1e6, us%1e6) }

// parseTS reads "seconds" or "seconds.fraction" (at most 6 digits) into
// microseconds since 1970.
func parseTS(s string) (int64, bool) {
	secs, frac, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || sec < 0 || sec > 1<<40 || len(frac) > 6 {
		return 0, false
	}
	us := int64(0)
	if frac != "" {
		f, err := strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64)
		if err != nil || f < 0 {
			return 0, false
		}
		us = f
	}
	return sec*1e6 + us, true
}

// encodeCursor makes a cursor in Slack's style, base64 of "next_ts:<µs>":
// opaque to clients, and stable while new messages arrive.
func encodeCursor(us int64) string {
	return base64.StdEncoding.EncodeToString([]byte("next_ts:" + strconv.FormatInt(us, 10)))
}

// decodeCursor reads a cursor of encodeCursor.
func decodeCursor(c string) (int64, bool) {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	rest, ok := strings.CutPrefix(string(b), "next_ts:")
	if !ok {
		return 0, false
	}
	us, err := strconv.ParseInt(rest, 10, 64)
	return us, err == nil && us >= 0
}

// validChannel checks a conversation id: uppercase letters and digits.
// conversations.history takes ids only, not names.
func validChannel(id string) bool {
	if len(id) < 2 || len(id) > 32 {
		return false
	}
	for _, r := range id {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// validMetadata checks message metadata as Slack does before posting:
// an object with a non-empty event_type and an event_payload object.
// https://docs.slack.dev/messaging/message-metadata
func validMetadata(raw json.RawMessage) bool {
	var md struct {
		EventType    string          `json:"event_type"`
		EventPayload json.RawMessage `json:"event_payload"`
	}
	// The payload is checked to be an object without building a map of it.
	return json.Unmarshal(raw, &md) == nil && md.EventType != "" && len(md.EventPayload) > 0 && md.EventPayload[0] == '{'

}

// truthy reads a Slack boolean argument: "1" or "true".
func truthy(v string) bool { return v == "1" || v == "true" }
