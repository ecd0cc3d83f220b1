// Package slacktest is a fake Slack for tests: a loopback HTTP server that
// speaks enough of the Web API (chat.postMessage with a JSON or form body
// and message metadata, conversations.history, conversations.open,
// auth.test, apps.connections.open, the file upload of
// files.getUploadURLExternal and files.completeUploadExternal),
// response_url and Socket Mode for the real clients (slack-go, and the
// adapter's own chat.postMessage) to talk to it unmodified. It records
// what it was sent and can be told to fail.
package slacktest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/policyteam/alertbot/bot/internal/wirejson"
)

// Post is one chat.postMessage request as the fake saw it, from a JSON
// body or a form.
type Post struct {
	Token   string          // the bearer token, or form field token
	Channel string          // field channel
	Text    string          // field text (the fallback)
	Blocks  json.RawMessage // field blocks as JSON, nil when absent
	// Metadata is the field metadata as JSON,
	// {"event_type":…,"event_payload":{…}}; nil when absent.
	Metadata json.RawMessage
	TS       string    // ts the fake answered with; "" for a failed attempt
	At       time.Time // when the fake received it, by its clock
	Failure  *Failure  // the failure answered, nil on success
}

// Failure is an error the fake answers with instead of posting.
type Failure struct {
	Status     int    // HTTP status; 0 means 200 with {"ok":false}
	RetryAfter string // Retry-After header, "" for none
	Error      string // Slack error code of an ok:false answer
	// Posted makes the fake post the message anyway, like a 429 or
	// timeout after Slack already accepted it.
	Posted bool
	// Drop closes the connection without any answer, as when the
	// response is lost on the way; with Posted the message is in the
	// channel although the client saw only a network error.
	Drop bool
	// Needed is the scope a missing_scope answer names.
	Needed string
}

// Failures the fake can answer with.
var (
	// TooManyRequests is a 429 without Retry-After.
	TooManyRequests = Failure{Status: http.StatusTooManyRequests}
	// InternalError is a 500 with an HTML body, as Slack sends.
	InternalError = Failure{Status: http.StatusInternalServerError}
	// ChannelNotFound is {"ok":false,"error":"channel_not_found"}.
	ChannelNotFound = Failure{Error: "channel_not_found"}
	// ResponseLost posts the message and then drops the connection: the
	// client cannot tell whether it was posted.
	ResponseLost = Failure{Posted: true, Drop: true}
)

// MissingScope is {"ok":false,"error":"missing_scope","needed":scope},
// what Slack answers a token that lacks scope.
func MissingScope(scope string) Failure { return Failure{Error: "missing_scope", Needed: scope} }

// RateLimited is a 429 with Retry-After: seconds.
func RateLimited(seconds int) Failure {
	return Failure{Status: http.StatusTooManyRequests, RetryAfter: strconv.Itoa(seconds)}
}

// SlackError is {"ok":false,"error":code}.
func SlackError(code string) Failure { return Failure{Error: code} }

// Response is one POST to a response_url of the fake.
type Response struct {
	ID              string          // the id in ResponseURL(id)
	Body            json.RawMessage // the JSON posted
	ResponseType    string          `json:"response_type"`
	Text            string          `json:"text"`
	ReplaceOriginal *bool           `json:"replace_original"`
}

// Ack is a Socket Mode acknowledgement the client sent.
type Ack struct {
	EnvelopeID string          `json:"envelope_id"`
	Payload    json.RawMessage `json:"payload"`
}

// Server is the fake Slack. Its methods are safe for concurrent use.
type Server struct {
	// URL is the Web API base, ending in "/": give it to the client as
	// its API URL.
	URL string
	// Token, when set, is the only bot token chat.postMessage,
	// conversations.history and auth.test accept.
	Token string
	// Now is the clock of message timestamps; default time.Now. Set it
	// before the first request.
	Now func() time.Time

	srv      *httptest.Server
	upgrader websocket.Upgrader

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced on every recorded change
	posts     []Post
	attempts  []Post
	failNext  []Failure
	failChan  map[string]Failure
	responses []Response
	ts        int64 // last ts handed out, in microseconds

	history     map[string][]Message // by channel, oldest first
	deleted     map[string]bool      // channels that answer channel_not_found
	failHistory []Failure
	failHistCh  map[string]Failure
	historyReqs []HistoryRequest

	files     []*Upload // by file id order; see files.go
	failFiles []Failure
	outside   map[string]bool // channels the bot is not in: true if private
	joins     []string

	ims      map[string]bool // IM channels conversations.open opened
	openReqs []string        // users of conversations.open requests
	failOpen []Failure

	opens  int // apps.connections.open calls
	hellos int // hello envelopes sent
	acks   []Ack
	conn   *wsConn // the current Socket Mode connection
	all    map[*wsConn]bool
	closed bool
	stop   chan struct{}
}

// wsConn serialises writes to one WebSocket, as gorilla requires.
type wsConn struct {
	mu sync.Mutex
	c  *websocket.Conn
}

func (w *wsConn) writeJSON(v any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	_ = w.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return w.c.WriteJSON(v)
}

// NewServer starts a fake Slack on a loopback port. Close it when done.
func NewServer() *Server {
	s := &Server{
		changed:    make(chan struct{}),
		failChan:   make(map[string]Failure),
		history:    make(map[string][]Message),
		deleted:    make(map[string]bool),
		failHistCh: make(map[string]Failure),
		ims:        make(map[string]bool),
		all:        make(map[*wsConn]bool),
		stop:       make(chan struct{}),
		// The client sends Origin: https://api.slack.com; accept any.
		upgrader: websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /chat.postMessage", s.postMessage)
	mux.HandleFunc("/conversations.history", s.conversationsHistory)
	mux.HandleFunc("/auth.test", s.authTest)
	mux.HandleFunc("POST /conversations.open", s.conversationsOpen)
	mux.HandleFunc("POST /apps.connections.open", s.connectionsOpen)
	mux.HandleFunc("GET /socket", s.socket)
	mux.HandleFunc("POST /response/{id}", s.response)
	mux.HandleFunc("POST /files.getUploadURLExternal", s.getUploadURL)
	mux.HandleFunc("POST /upload/{id}", s.upload)
	mux.HandleFunc("POST /files.completeUploadExternal", s.completeUpload)
	mux.HandleFunc("POST /conversations.join", s.join)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]any{"ok": false, "error": "unknown_method"})
	})
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL + "/"
	return s
}

// Close stops the server and drops Socket Mode connections.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.stop)
	}
	var conns []*wsConn
	for c := range s.all {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.c.Close()
	}
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// notify wakes waiters; call with s.mu held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor waits until cond (called with s.mu held) is true or ctx ends.
func (s *Server) waitFor(ctx context.Context, what string, cond func() bool) error {
	for {
		s.mu.Lock()
		ok := cond()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("slacktest: waiting for %s: %w", what, ctx.Err())
		}
	}
}

// FailNext makes the next chat.postMessage calls fail with fs, in order.
func (s *Server) FailNext(fs ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = append(s.failNext, fs...)
}

// FailChannel makes every post to channel fail with f until ClearFailures.
func (s *Server) FailChannel(channel string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failChan[channel] = f
}

// ClearFailures drops queued and per-channel failures, of posts and of
// conversations.history.
func (s *Server) ClearFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = nil
	s.failChan = make(map[string]Failure)
	s.failHistory = nil
	s.failHistCh = make(map[string]Failure)
}

// Posts returns the messages posted, in order.
func (s *Server) Posts() []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Post(nil), s.posts...)
}

// PostCount returns how many messages were posted, without copying them
// as Posts does (for a loop that polls).
func (s *Server) PostCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.posts)
}

// Attempts returns every chat.postMessage request, failed ones included.
func (s *Server) Attempts() []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Post(nil), s.attempts...)
}

// WaitPosts waits until at least n messages were posted and returns them.
func (s *Server) WaitPosts(ctx context.Context, n int) ([]Post, error) {
	err := s.waitFor(ctx, fmt.Sprintf("%d posts", n), func() bool { return len(s.posts) >= n })
	return s.Posts(), err
}

// ResponseURL returns a response_url on the fake that records what is
// posted to it under id.
func (s *Server) ResponseURL(id string) string { return s.URL + "response/" + id }

// Responses returns what was posted to response URLs, in order.
func (s *Server) Responses() []Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Response(nil), s.responses...)
}

// WaitResponses waits until at least n response_url posts arrived.
func (s *Server) WaitResponses(ctx context.Context, n int) ([]Response, error) {
	err := s.waitFor(ctx, fmt.Sprintf("%d responses", n), func() bool { return len(s.responses) >= n })
	return s.Responses(), err
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// postMessage fakes chat.postMessage, with a JSON body (the token a
// bearer token) or a form as slack-go sends it.
// https://docs.slack.dev/reference/methods/chat.postMessage
func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) {
	var p Post
	if isJSON(r.Header.Get("Content-Type")) {
		var ok bool
		if p, ok = readJSONPost(w, r); !ok {
			return
		}
	} else {
		if err := r.ParseForm(); err != nil {
			writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_form_data"})
			return
		}
		p = Post{
			Token:   requestToken(r),
			Channel: r.PostForm.Get("channel"),
			Text:    r.PostForm.Get("text"),
		}
		if b := r.PostForm.Get("blocks"); b != "" {
			p.Blocks = json.RawMessage(b)
		}
		if m := r.PostForm.Get("metadata"); m != "" {
			p.Metadata = json.RawMessage(m)
		}
	}

	// The checks that need no state, and the answer's writing, happen
	// outside the lock, so that parallel posts (Slack takes them at once)
	// wait for each other only while the state changes.
	blocksOK := p.Blocks == nil || validBlocks(p.Blocks)
	metadataOK := p.Metadata == nil || validMetadata(p.Metadata)
	fail, echo := s.record(&p, blocksOK, metadataOK)
	if fail == nil {
		// Slack echoes the message posted, blocks and all.
		writePosted(w, echo)
		return
	}
	writeFailure(w, fail)
}

// record applies a post to the fake's state: it decides the outcome,
// keeps the post and, when posted, the message, and returns the failure
// or the message to echo.
func (s *Server) record(p *Post, blocksOK, metadataOK bool) (*Failure, wireMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notify()
	p.At = s.now()
	var fail *Failure
	switch {
	case s.Token != "" && p.Token != s.Token:
		fail = &Failure{Error: "invalid_auth"}
	case p.Channel == "" || s.deleted[p.Channel] || strings.HasPrefix(p.Channel, "D") && !s.ims[p.Channel]:
		// An IM exists once conversations.open opened it.
		fail = &Failure{Error: "channel_not_found"}
	case p.Text == "" && p.Blocks == nil:
		fail = &Failure{Error: "no_text"}
	case !blocksOK:
		fail = &Failure{Error: "invalid_blocks"}
	case !metadataOK:
		fail = &Failure{Error: "invalid_metadata_format"}
	case len(s.failNext) > 0:
		f := s.failNext[0]
		s.failNext = s.failNext[1:]
		fail = &f
	default:
		if f, ok := s.failChan[p.Channel]; ok {
			fail = &f
		}
	}
	if fail == nil || fail.Posted {
		ts := s.nextTS()
		posted := *p
		posted.TS = ts
		s.posts = append(s.posts, posted)
		s.history[p.Channel] = append(s.history[p.Channel], Message{
			Channel: p.Channel, TS: ts, User: BotUserID, BotID: BotID, AppID: AppID,
			Text: p.Text, Blocks: p.Blocks, Metadata: p.Metadata,
		})
		if fail == nil {
			p.TS = ts
		}
	}
	p.Failure = fail
	s.attempts = append(s.attempts, *p)
	if fail != nil {
		return fail, wireMessage{}
	}
	h := s.history[p.Channel]
	return nil, h[len(h)-1].json(true)
}

// writeFailure answers with f: a dropped connection, a 429 (with
// Retry-After when f has one), a 5xx with an HTML body, or ok:false.
func writeFailure(w http.ResponseWriter, fail *Failure) {
	switch {
	case fail.Drop:
		dropConnection(w)
	case fail.Status == http.StatusTooManyRequests:
		if fail.RetryAfter != "" {
			w.Header().Set("Retry-After", fail.RetryAfter)
		}
		writeJSON(w, fail.Status, map[string]any{"ok": false, "error": "ratelimited"})
	case fail.Status >= 500:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(fail.Status)
		_, _ = w.Write([]byte("<html><body>Internal Server Error</body></html>"))
	case fail.Status != 0:
		writeJSON(w, fail.Status, map[string]any{"ok": false, "error": fail.Error})
	case fail.Needed != "":
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": fail.Error,
			"needed": fail.Needed, "provided": "commands,chat:write,chat:write.public"})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": fail.Error})
	}
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("slacktest: the server cannot drop connections")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic("slacktest: hijack: " + err.Error())
	}
	_ = conn.Close()
}

// requestToken is the token of a Web API request: the form field token,
// or the bearer token.
func requestToken(r *http.Request) string {
	if t := r.Form.Get("token"); t != "" {
		return t
	}
	return bearerToken(r)
}

// validBlocks checks what Slack would refuse outright: not a JSON array of
// objects each with a string type, or more than 50 blocks. The blocks are
// walked (wirejson) rather than decoded, once they are known to be valid
// JSON; a type written with escapes is decoded.
func validBlocks(raw json.RawMessage) bool {
	if !json.Valid(raw) {
		return false
	}
	if strings.TrimSpace(string(raw)) == "null" {
		return true // no blocks, as a form's "null" always read
	}
	blocks, ok := wirejson.Elements(raw)
	if !ok || len(blocks) > 50 {
		return false
	}
	for _, b := range blocks {
		if len(b) == 0 || b[0] != '{' {
			return false
		}
		vals, ok := wirejson.Pick(b, "type")
		if !ok {
			// Escaped member names, or one like "Type": decoded into a
			// map, whose keys are exact.
			var blk map[string]any
			if json.Unmarshal(b, &blk) != nil {
				return false
			}
			if t, _ := blk["type"].(string); t == "" {
				return false
			}
			continue
		}
		var typ string
		if vals[0] == nil || json.Unmarshal(vals[0], &typ) != nil || typ == "" {
			return false
		}
	}
	return true
}

// writePosted answers a successful chat.postMessage: ok, the channel, the
// ts and the message echoed. It is written directly rather than through
// encoding/json, which would check and copy the blocks again, byte by
// byte; they are valid JSON already (checked before posting).
func writePosted(w http.ResponseWriter, m wireMessage) {
	str := func(b []byte, s string) []byte {
		q, _ := json.Marshal(s) // a string always encodes
		return append(b, q...)
	}
	b := make([]byte, 0, 256+2*len(m.Text)+len(m.Blocks)+len(m.Metadata))
	b = append(b, `{"ok":true,"channel":`...)
	b = str(b, m.Channel)
	b = append(b, `,"ts":`...)
	b = str(b, m.TS)
	b = append(b, `,"message":{"type":`...)
	b = str(b, m.Type)
	for _, f := range [...]struct{ key, val string }{{"ts", m.TS}, {"text", m.Text}, {"user", m.User}, {"bot_id", m.BotID}, {"app_id", m.AppID}} {
		if f.val != "" || f.key == "text" {
			b = append(b, ',', '"')
			b = append(b, f.key...)
			b = append(b, '"', ':')
			b = str(b, f.val)
		}
	}
	if m.Blocks != nil {
		b = append(b, `,"blocks":`...)
		b = append(b, m.Blocks...)
	}
	if m.Metadata != nil {
		b = append(b, `,"metadata":`...)
		b = append(b, m.Metadata...)
	}
	b = append(b, "}}\n"...)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// maxJSONBody bounds a JSON body the fake reads.
const maxJSONBody = 1 << 20

// isJSON reports whether a Content-Type is application/json, with or
// without parameters.
func isJSON(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/json")
}

// readJSONPost reads a chat.postMessage JSON body, answering ok:false
// itself when it cannot. As on Slack, a JSON body's token comes only from
// the Authorization header, and blocks and metadata may be given as JSON
// or as a string holding JSON (as in a form).
func readJSONPost(w http.ResponseWriter, r *http.Request) (Post, bool) {
	data, err := readBody(w, r, maxJSONBody)
	if err != nil || !json.Valid(data) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_json"})
		return Post{}, false
	}
	// The body is valid JSON: its members are picked out rather than
	// decoded with the blocks, which validBlocks walks anyway.
	var body struct {
		Channel  string          `json:"channel"`
		Text     string          `json:"text"`
		Blocks   json.RawMessage `json:"blocks"`
		Metadata json.RawMessage `json:"metadata"`
	}
	if vals, ok := wirejson.Pick(data, "channel", "text", "blocks", "metadata"); ok {
		for i, dst := range []*string{&body.Channel, &body.Text} {
			if vals[i] != nil && json.Unmarshal(vals[i], dst) != nil {
				ok = false
			}
		}
		body.Blocks, body.Metadata = vals[2], vals[3]
		if !ok {
			writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_json"})
			return Post{}, false
		}
	} else if json.Unmarshal(data, &body) != nil {
		// Not an object, or a field of the wrong type.
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_json"})
		return Post{}, false
	}
	p := Post{
		Token:    bearerToken(r),
		Channel:  body.Channel,
		Text:     body.Text,
		Blocks:   unquoteJSON(body.Blocks),
		Metadata: unquoteJSON(body.Metadata),
	}
	return p, true
}

// readBody reads r's body, of at most limit bytes, into a buffer sized by
// its Content-Length.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	buf := bytes.NewBuffer(make([]byte, 0, min(max(r.ContentLength, 0), limit)+bytes.MinRead))
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	return buf.Bytes(), err
}

// unquoteJSON returns the JSON a field holds: the field itself, or the
// content of a JSON string; nil for an absent or null field. A string
// that holds no JSON is returned as it is, for the checks to refuse.
func unquoteJSON(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			if s == "" {
				return nil
			}
			return json.RawMessage(s)
		}
	}
	return raw
}

// bearerToken is the token of an Authorization: Bearer header.
func bearerToken(r *http.Request) string {
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
}

// response records a POST to a response_url.
func (s *Server) response(w http.ResponseWriter, r *http.Request) {
	var body json.RawMessage
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		http.Error(w, "bad JSON", http.StatusBadRequest)
		return
	}
	rec := Response{ID: r.PathValue("id"), Body: body}
	if err := json.Unmarshal(body, &rec); err != nil {
		http.Error(w, "bad JSON", http.StatusBadRequest)
		return
	}
	rec.ID = r.PathValue("id")
	rec.Body = body
	s.mu.Lock()
	s.responses = append(s.responses, rec)
	s.notify()
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}
