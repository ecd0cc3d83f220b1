// Package discordtest is a fake Discord for tests: a loopback REST server
// (httptest) that records channel messages, interaction callbacks, webhook
// follow-ups (JSON, or multipart/form-data with files) and command
// registrations, honours enforce_nonce like Discord,
// lists a channel's messages (GET /channels/{id}/messages with before,
// after, around and limit) as Discord returns them, can fail on demand
// (429, 401, 403, 404, 500, a dropped response), and serves a minimal
// gateway (HELLO, IDENTIFY, READY, dispatches).
//
// Message ids are snowflakes of the fake's clock (SetNow), so paging by
// time works as on Discord.
//
// Point the adapter at it with discord.Config{APIURL: s.URL}.
package discordtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

// BotUserID is the user id of the bot the fake serves: the author of the
// messages created through the API, the answer to GET /users/@me and the
// user in READY. It differs from the application ids tests configure, as
// it may on Discord.
const BotUserID = "1250000000000000001"

// PersonID is the author of a message given to Post without one.
const PersonID = "1250000000000000777"

// Request is one HTTP request the server received.
type Request struct {
	Method string
	Path   string
	Query  string // the raw query, e.g. "after=123&limit=100"
	Auth   string // the Authorization header
	Body   []byte
}

// Message is one message in a channel.
type Message struct {
	ID              string
	ChannelID       string
	Nonce           string
	EnforceNonce    bool
	Content         string
	Embeds          []*discordgo.MessageEmbed
	Components      []Row
	AllowedMentions *discordgo.MessageAllowedMentions
	Raw             json.RawMessage // the request body; nil for Post

	AuthorID  string    // BotUserID for messages created through the API
	AuthorBot bool      // the author is a bot account
	Type      int       // Discord's message type: 0 default, 19 reply, 20 command answer
	WebhookID string    // set for messages a webhook posted
	Time      time.Time // when the fake created it, by its clock
}

// Row is an action row of a message.
type Row struct {
	Type       int         `json:"type"`
	Components []Component `json:"components"`
}

// Component is a button (or another component) in a Row. Empty fields
// are left out of what the fake returns, as Discord leaves them out.
type Component struct {
	Type     int    `json:"type"`
	Label    string `json:"label,omitempty"`
	Style    int    `json:"style,omitempty"`
	CustomID string `json:"custom_id,omitempty"`
	URL      string `json:"url,omitempty"`
}

// Callback is one interaction callback (POST /interactions/{id}/{token}/callback).
type Callback struct {
	InteractionID string
	Token         string
	Response      discordgo.InteractionResponse
	Raw           json.RawMessage // the JSON body, or payload_json of a multipart one
	Files         []File
}

// Followup is one webhook call with an interaction token: POST
// /webhooks/{app}/{token} or PATCH /webhooks/{app}/{token}/messages/{id}.
type Followup struct {
	Method    string
	AppID     string
	Token     string
	MessageID string // "@original" for an edit of the first response; "" for POST
	Content   string
	Raw       json.RawMessage // the JSON body, or payload_json of a multipart one
	Files     []File          // files[n] parts of a multipart body, in order
}

// File is one files[n] part of a multipart/form-data request, as Discord
// takes uploads (https://discord.com/developers/docs/reference#uploading-files).
type File struct {
	Field       string // "files[0]"
	Filename    string
	ContentType string
	Data        []byte
}

// Identify is the payload of a gateway IDENTIFY (op 2).
type Identify struct {
	Token   string `json:"token"`
	Intents int    `json:"intents"`
}

type failure struct {
	status     int
	retryAfter float64
	global     bool
	drop       bool
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL to use as the adapter's API URL.
	URL string

	srv *httptest.Server

	mu         sync.Mutex
	changed    chan struct{}
	now        time.Time // the clock; zero: real time
	lastID     uint64
	requests   []Request
	messages   map[string][]Message // by channel, oldest first
	count      int                  // messages in all channels
	channels   map[string]bool      // channels that exist
	dms        map[string]string    // user → DM channel (POST /users/@me/channels)
	noHistory  map[string]bool      // channels where the bot lacks Read Message History
	byNonce    map[string]Message
	failures   []failure
	callbacks  []Callback
	followups  []Followup
	commands   map[string][]*discordgo.ApplicationCommand
	remaining  int
	resetAfter float64
	identifies []Identify
	conns      map[*gwConn]bool
	seq        int64
}

// NewServer starts a fake Discord on a loopback port. Close it when done.
func NewServer() *Server {
	s := &Server{
		changed:    make(chan struct{}),
		messages:   make(map[string][]Message),
		channels:   make(map[string]bool),
		dms:        make(map[string]string),
		noHistory:  make(map[string]bool),
		byNonce:    make(map[string]Message),
		commands:   make(map[string][]*discordgo.ApplicationCommand),
		remaining:  4,
		resetAfter: 1,
		conns:      make(map[*gwConn]bool),
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close closes gateway connections and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	for c := range s.conns {
		c.ws.Close()
	}
	s.mu.Unlock()
	s.srv.Close()
}

// GatewayURL is the websocket URL of the fake gateway, which GET
// /api/v9/gateway also returns.
func (s *Server) GatewayURL() string {
	return "ws" + strings.TrimPrefix(s.URL, "http") + "/gateway"
}

// FailNext makes the next API request (gateway lookups aside) fail with
// status: 429 (retry_after 1.5 s, bucket exhausted), 401, 403 (Missing
// Access), 404 (Unknown Channel), 500 or another code. Calls queue up.
func (s *Server) FailNext(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, failure{status: status, retryAfter: 1.5})
}

// RateLimitNext makes the next API request answer 429 with retryAfter
// seconds, in the body and the X-RateLimit-* headers; global marks a
// global limit.
func (s *Server) RateLimitNext(retryAfter float64, global bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, failure{status: http.StatusTooManyRequests, retryAfter: retryAfter, global: global})
}

// DropNextResponse makes the next message create store the message and
// then close the connection without answering, like a response lost on the
// way back: the message is posted but the client cannot know. (The next
// request of another kind consumes the drop and is answered.)
func (s *Server) DropNextResponse() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, failure{drop: true})
}

// SetRateLimitHeaders sets X-RateLimit-Remaining and -Reset-After (seconds)
// sent with successful responses (default 4 and 1).
func (s *Server) SetRateLimitHeaders(remaining int, resetAfter float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remaining, s.resetAfter = remaining, resetAfter
}

// SetNow sets the fake's clock, which dates new messages and their ids;
// the zero time goes back to real time. Ids never go backwards: after the
// clock is set back, new ids are just above the last one.
func (s *Server) SetNow(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = t
}

// AddChannel makes channel exist, so reading it answers (with no messages)
// instead of 404 Unknown Channel. Creating or posting a message in a
// channel also makes it exist.
func (s *Server) AddChannel(channel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels[channel] = true
}

// DenyHistory takes Read Message History from the bot in channel: like
// Discord, reading its messages then answers 200 with none.
func (s *Server) DenyHistory(channel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noHistory[channel] = true
}

// Post puts m into channel as if someone else had posted it (another user,
// another bot, an older version of the bot with AuthorID BotUserID), at
// the fake's clock, and returns it with its id. AuthorID defaults to
// PersonID.
func (s *Server) Post(channel string, m Message) Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.AuthorID == "" {
		m.AuthorID = PersonID
	}
	m.ID, m.Time = s.id()
	m.ChannelID = channel
	s.channels[channel] = true
	s.messages[channel] = append(s.messages[channel], m)
	s.count++
	s.notify()
	return m
}

// Requests returns every API request so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Messages returns the messages created in channel, in order.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages[channel]...)
}

// MessageCount returns how many messages all channels hold, without
// copying them (for a loop that polls).
func (s *Server) MessageCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// MessageTimes returns when each message of every channel was created,
// by the fake's clock, in no particular order.
func (s *Server) MessageTimes() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]time.Time, 0, s.count)
	for _, ms := range s.messages {
		for _, m := range ms {
			out = append(out, m.Time)
		}
	}
	return out
}

// Callbacks returns the interaction callbacks so far.
func (s *Server) Callbacks() []Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Callback(nil), s.callbacks...)
}

// Followups returns the webhook follow-ups and edits so far.
func (s *Server) Followups() []Followup {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Followup(nil), s.followups...)
}

// Commands returns the last bulk overwrite for guild ("" for global), nil
// if none.
func (s *Server) Commands(guild string) []*discordgo.ApplicationCommand {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commands[guild]
}

// Identifies returns the gateway IDENTIFY payloads received.
func (s *Server) Identifies() []Identify {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Identify(nil), s.identifies...)
}

// Wait blocks until cond is true (checked after every change the server
// records) or ctx ends.
func (s *Server) Wait(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("discordtest: wait: %w", ctx.Err())
		}
	}
}

// WaitMessages waits until channel holds at least n messages.
func (s *Server) WaitMessages(ctx context.Context, channel string, n int) ([]Message, error) {
	err := s.Wait(ctx, func() bool { return len(s.Messages(channel)) >= n })
	return s.Messages(channel), err
}

// notify wakes Wait; called with mu held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// discordEpoch is the zero of snowflake timestamps, 2015-01-01 in Unix
// milliseconds. The fake computes snowflakes on its own rather than with
// the adapter's code, so the two are checked against each other.
const discordEpoch = 1420070400000

// id returns a new snowflake for the clock's instant, and that instant;
// called with mu held.
func (s *Server) id() (string, time.Time) {
	now := s.now
	if now.IsZero() {
		now = time.Now()
	}
	var next uint64
	if ms := now.UnixMilli() - discordEpoch; ms > 0 {
		next = uint64(ms) << 22
	}
	s.lastID = max(s.lastID+1, next)
	return strconv.FormatUint(s.lastID, 10), now.UTC()
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/gateway" || r.URL.Path == "/gateway/" {
		s.serveGateway(w, r)
		return
	}
	// Sized by Content-Length, so the body is read without regrowing.
	buf := bytes.NewBuffer(make([]byte, 0, min(max(r.ContentLength, 0), 8<<20)+bytes.MinRead))
	_, err := buf.ReadFrom(io.LimitReader(r.Body, 8<<20))
	body := buf.Bytes()
	if err != nil {
		writeError(w, http.StatusBadRequest, 0, "unreadable body")
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/api/v9/")
	if !ok {
		writeError(w, http.StatusNotFound, 0, "404: Not Found")
		return
	}
	parts := strings.Split(path, "/")
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization"), Body: body})
	s.notify()
	if r.Method == http.MethodGet && (path == "gateway" || path == "gateway/bot") {
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{
			"url": s.GatewayURL(), "shards": 1,
			"session_start_limit": map[string]int{"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1},
		})
		return
	}
	var f *failure
	if len(s.failures) > 0 {
		f = &s.failures[0]
		s.failures = s.failures[1:]
	}
	s.mu.Unlock()

	webhook := parts[0] == "webhooks" || parts[0] == "interactions"
	if f != nil && !f.drop {
		s.fail(w, *f)
		return
	}
	if !webhook && !strings.HasPrefix(r.Header.Get("Authorization"), "Bot ") {
		writeError(w, http.StatusUnauthorized, 0, "401: Unauthorized")
		return
	}
	s.rateHeaders(w, path)
	switch {
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "channels" && parts[2] == "messages":
		s.createMessage(w, r, parts[1], body, f != nil && f.drop)
	case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "channels" && parts[2] == "messages":
		s.listMessages(w, r, parts[1])
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "users" && parts[1] == "@me" && parts[2] == "channels":
		s.createDM(w, body)
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "users" && parts[1] == "@me":
		writeJSON(w, http.StatusOK, map[string]any{
			"id": BotUserID, "username": "alertbot", "discriminator": "0", "global_name": nil, "avatar": nil, "bot": true,
		})
	case r.Method == http.MethodPost && len(parts) == 4 && parts[0] == "interactions" && parts[3] == "callback":
		s.callback(w, r, parts[1], parts[2], body)
	case parts[0] == "webhooks" && len(parts) >= 3:
		s.webhook(w, r, parts, body)
	case r.Method == http.MethodPut && parts[0] == "applications" && (len(parts) == 3 && parts[2] == "commands" ||
		len(parts) == 5 && parts[2] == "guilds" && parts[4] == "commands"):
		guild := ""
		if len(parts) == 5 {
			guild = parts[3]
		}
		s.bulkOverwrite(w, parts[1], guild, body)
	default:
		writeError(w, http.StatusNotFound, 0, "404: Not Found")
	}
}

func (s *Server) rateHeaders(w http.ResponseWriter, path string) {
	s.mu.Lock()
	rem, after := s.remaining, s.resetAfter
	s.mu.Unlock()
	h := w.Header()
	h.Set("X-RateLimit-Limit", "5")
	h.Set("X-RateLimit-Remaining", strconv.Itoa(rem))
	h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(after, 'f', 3, 64))
	h.Set("X-RateLimit-Bucket", fmt.Sprintf("%08x", len(path)))
}

func (s *Server) fail(w http.ResponseWriter, f failure) {
	switch f.status {
	case http.StatusTooManyRequests:
		h := w.Header()
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(f.retryAfter))))
		h.Set("X-RateLimit-Limit", "5")
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(f.retryAfter, 'f', 3, 64))
		h.Set("X-RateLimit-Bucket", "fakebucket")
		scope := "user"
		if f.global {
			h.Set("X-RateLimit-Global", "true")
			scope = "global"
		}
		h.Set("X-RateLimit-Scope", scope)
		writeJSON(w, http.StatusTooManyRequests, map[string]any{
			"message": "You are being rate limited.", "retry_after": f.retryAfter, "global": f.global,
		})
	case http.StatusForbidden:
		writeError(w, f.status, 50001, "Missing Access")
	case http.StatusNotFound:
		writeError(w, f.status, 10003, "Unknown Channel")
	case http.StatusUnauthorized:
		writeError(w, f.status, 0, "401: Unauthorized")
	default:
		writeError(w, f.status, 0, http.StatusText(f.status))
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{"code": code, "message": msg})
}

// createBody is what Discord's create message accepts (the parts checked).
type createBody struct {
	Content         string                            `json:"content"`
	Nonce           any                               `json:"nonce"`
	EnforceNonce    bool                              `json:"enforce_nonce"`
	Embeds          []*discordgo.MessageEmbed         `json:"embeds"`
	Components      []Row                             `json:"components"`
	AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions"`
}

func (s *Server) createMessage(w http.ResponseWriter, r *http.Request, channel string, body []byte, drop bool) {
	var b createBody
	if err := json.Unmarshal(body, &b); err != nil {
		writeError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return
	}
	if msg := validate(b); msg != "" {
		writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body: "+msg)
		return
	}
	nonce := ""
	switch n := b.Nonce.(type) {
	case string:
		nonce = n
	case float64:
		nonce = strconv.FormatFloat(n, 'f', -1, 64)
	}
	s.mu.Lock()
	m, dup := s.byNonce[nonce]
	if !(dup && b.EnforceNonce && nonce != "") {
		m = Message{
			ChannelID: channel, Nonce: nonce, EnforceNonce: b.EnforceNonce,
			Content: b.Content, Embeds: b.Embeds, Components: b.Components,
			AllowedMentions: b.AllowedMentions, Raw: json.RawMessage(body),
			AuthorID: BotUserID, AuthorBot: true,
		}
		m.ID, m.Time = s.id()
		s.channels[channel] = true
		s.messages[channel] = append(s.messages[channel], m)
		s.count++
		if nonce != "" && !dup {
			s.byNonce[nonce] = m
		}
		s.notify()
	}
	s.mu.Unlock()
	if drop {
		hijackClose(w)
		return
	}
	// The answer to a create carries the nonce; a fetched message does not.
	out := wire(m)
	out.Nonce = m.Nonce
	writeJSON(w, http.StatusOK, out)
}

// wireMessage is a message as Discord returns it. The fields without
// omitempty are always present, null included, as on Discord.
type wireMessage struct {
	ID              string                    `json:"id"`
	ChannelID       string                    `json:"channel_id"`
	Type            int                       `json:"type"`
	Content         string                    `json:"content"`
	Author          wireUser                  `json:"author"`
	Embeds          []*discordgo.MessageEmbed `json:"embeds"`
	Components      []Row                     `json:"components"`
	Attachments     []struct{}                `json:"attachments"`
	Mentions        []struct{}                `json:"mentions"`
	MentionRoles    []string                  `json:"mention_roles"`
	MentionEveryone bool                      `json:"mention_everyone"`
	Pinned          bool                      `json:"pinned"`
	TTS             bool                      `json:"tts"`
	Flags           int                       `json:"flags"`
	Timestamp       string                    `json:"timestamp"`
	EditedTimestamp *string                   `json:"edited_timestamp"`
	WebhookID       string                    `json:"webhook_id,omitempty"`
	Nonce           string                    `json:"nonce,omitempty"`
}

// wireUser is a message's author as Discord returns it.
type wireUser struct {
	ID            string  `json:"id"`
	Username      string  `json:"username"`
	Discriminator string  `json:"discriminator"`
	GlobalName    *string `json:"global_name"`
	Avatar        *string `json:"avatar"`
	Bot           bool    `json:"bot"`
}

// wire is a message as Discord returns it: the fields a client reads,
// components and embeds as stored, no nonce.
func wire(m Message) wireMessage {
	name := "user"
	if m.AuthorID == BotUserID {
		name = "alertbot"
	}
	embeds := make([]*discordgo.MessageEmbed, 0, len(m.Embeds))
	for _, e := range m.Embeds {
		if e == nil {
			continue
		}
		c := *e
		c.Type = discordgo.EmbedTypeRich
		embeds = append(embeds, &c)
	}
	components := m.Components
	if components == nil {
		components = []Row{}
	}
	return wireMessage{
		ID: m.ID, ChannelID: m.ChannelID, Type: m.Type, Content: m.Content,
		Author:      wireUser{ID: m.AuthorID, Username: name, Discriminator: "0", Bot: m.AuthorBot},
		Embeds:      embeds,
		Components:  components,
		Attachments: []struct{}{}, Mentions: []struct{}{}, MentionRoles: []string{},
		Timestamp: m.Time.Format("2006-01-02T15:04:05.000000-07:00"),
		WebhookID: m.WebhookID,
	}
}

// listMessages answers GET /channels/{id}/messages like Discord: at most
// limit (1–100, default 50) messages before, after or around a message
// id, or the latest ones; before, after and around exclude each other.
// With after it is the oldest messages after the id, with before the
// newest before it; either way the page is newest first. A bot without
// Read Message History gets an empty page, not an error.
func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, channel string) {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body: limit: must be between 1 and 100")
			return
		}
		limit = n
	}
	var anchor uint64
	var mode string
	for _, k := range []string{"before", "after", "around"} {
		v := q.Get(k)
		if v == "" {
			continue
		}
		if mode != "" {
			writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body: only one of before, after and around")
			return
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, 50035, fmt.Sprintf("Invalid Form Body: %s: Value %q is not snowflake.", k, v))
			return
		}
		anchor, mode = n, k
	}
	s.mu.Lock()
	known, hidden := s.channels[channel], s.noHistory[channel]
	all := append([]Message(nil), s.messages[channel]...)
	s.mu.Unlock()
	if !known {
		writeError(w, http.StatusNotFound, 10003, "Unknown Channel")
		return
	}
	if hidden {
		writeJSON(w, http.StatusOK, []any{})
		return
	}
	id := func(m Message) uint64 {
		n, _ := strconv.ParseUint(m.ID, 10, 64)
		return n
	}
	// all is oldest first; i is the first message at or after anchor.
	i := 0
	for i < len(all) && id(all[i]) < anchor {
		i++
	}
	var page []Message
	switch mode {
	case "after":
		if i < len(all) && id(all[i]) == anchor {
			i++
		}
		page = all[i:min(len(all), i+limit)]
	case "before":
		page = all[max(0, i-limit):i]
	case "around":
		start := max(0, i-limit/2)
		page = all[start:min(len(all), start+limit)]
	default:
		page = all[max(0, len(all)-limit):]
	}
	out := make([]wireMessage, 0, len(page))
	for j := len(page) - 1; j >= 0; j-- {
		out = append(out, wire(page[j]))
	}
	writeJSON(w, http.StatusOK, out)
}

// hijackClose closes the connection without a response.
func hijackClose(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		// HTTP/2: aborting the handler resets the stream instead.
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	conn.Close()
}

// validate applies Discord's documented message limits; "" when valid.
func validate(b createBody) string {
	n := utf8.RuneCountInString
	if n(b.Content) > 2000 {
		return "content: must be 2000 or fewer in length"
	}
	if s, ok := b.Nonce.(string); ok && len(s) > 25 {
		return "nonce: must be 25 or fewer in length"
	}
	if len(b.Embeds) > 10 {
		return "embeds: must be 10 or fewer in length"
	}
	if b.Content == "" && len(b.Embeds) == 0 && len(b.Components) == 0 {
		return "Cannot send an empty message"
	}
	total := 0
	for _, e := range b.Embeds {
		if e == nil {
			continue
		}
		if n(e.Title) > 256 || n(e.Description) > 4096 || len(e.Fields) > 25 {
			return "embeds: title, description or field count over limit"
		}
		total += n(e.Title) + n(e.Description)
		for _, f := range e.Fields {
			if f.Name == "" || f.Value == "" || n(f.Name) > 256 || n(f.Value) > 1024 {
				return "embeds: field name or value empty or over limit"
			}
			total += n(f.Name) + n(f.Value)
		}
		if e.Footer != nil {
			if n(e.Footer.Text) > 2048 {
				return "embeds: footer over limit"
			}
			total += n(e.Footer.Text)
		}
		if e.Author != nil {
			total += n(e.Author.Name)
		}
	}
	if total > 6000 {
		return "embeds: exceed maximum size of 6000"
	}
	if len(b.Components) > 5 {
		return "components: must be 5 or fewer in length"
	}
	for _, r := range b.Components {
		if len(r.Components) > 5 {
			return "components: action row holds more than 5"
		}
		for _, c := range r.Components {
			if len(c.CustomID) > 100 || n(c.Label) > 80 {
				return "components: custom_id or label over limit"
			}
		}
	}
	return ""
}

func (s *Server) callback(w http.ResponseWriter, r *http.Request, id, token string, body []byte) {
	body, files, msg := splitMultipart(r, body)
	if msg != "" {
		writeError(w, http.StatusBadRequest, 50035, msg)
		return
	}
	var resp discordgo.InteractionResponse
	if err := json.Unmarshal(body, &resp); err != nil || resp.Type == 0 {
		writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body")
		return
	}
	s.mu.Lock()
	s.callbacks = append(s.callbacks, Callback{InteractionID: id, Token: token, Response: resp, Raw: json.RawMessage(body), Files: files})
	s.notify()
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) webhook(w http.ResponseWriter, r *http.Request, parts []string, body []byte) {
	body, files, msg := splitMultipart(r, body)
	if msg != "" {
		writeError(w, http.StatusBadRequest, 50035, msg)
		return
	}
	f := Followup{Method: r.Method, AppID: parts[1], Token: parts[2], Raw: json.RawMessage(body), Files: files}
	switch {
	case r.Method == http.MethodPost && len(parts) == 3:
	case r.Method == http.MethodPatch && len(parts) == 5 && parts[3] == "messages":
		f.MessageID = parts[4]
	default:
		writeError(w, http.StatusNotFound, 10015, "Unknown Webhook")
		return
	}
	var c struct {
		Content *string `json:"content"`
	}
	if err := json.Unmarshal(body, &c); err != nil {
		writeError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return
	}
	if c.Content != nil {
		if utf8.RuneCountInString(*c.Content) > 2000 {
			writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body: content over 2000")
			return
		}
		f.Content = *c.Content
	}
	s.mu.Lock()
	s.followups = append(s.followups, f)
	id, _ := s.id()
	s.notify()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "content": f.Content, "channel_id": "0"})
}

func (s *Server) bulkOverwrite(w http.ResponseWriter, app, guild string, body []byte) {
	var cmds []*discordgo.ApplicationCommand
	if err := json.Unmarshal(body, &cmds); err != nil {
		writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body")
		return
	}
	s.mu.Lock()
	for _, c := range cmds {
		c.ID, _ = s.id()
		c.ApplicationID = app
		c.GuildID = guild
		c.Version = c.ID
	}
	s.commands[guild] = cmds
	s.notify()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, cmds)
}

// gwConn is one gateway client.
type gwConn struct {
	ws    *websocket.Conn
	mu    sync.Mutex // serialises writes
	ready bool
}

func (c *gwConn) write(v any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ws.WriteJSON(v)
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &gwConn{ws: ws}
	s.mu.Lock()
	s.conns[c] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		ws.Close()
	}()
	// A long heartbeat interval: tests end long before one is due.
	if c.write(map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": 45000}}) != nil {
		return
	}
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var frame struct {
			Op int             `json:"op"`
			D  json.RawMessage `json:"d"`
		}
		if json.Unmarshal(data, &frame) != nil {
			return
		}
		switch frame.Op {
		case 1: // heartbeat
			if c.write(map[string]any{"op": 11}) != nil {
				return
			}
		case 2: // identify
			var id Identify
			if json.Unmarshal(frame.D, &id) != nil {
				return
			}
			s.mu.Lock()
			s.identifies = append(s.identifies, id)
			s.seq++
			seq := s.seq
			s.mu.Unlock()
			ready := map[string]any{"op": 0, "t": "READY", "s": seq, "d": map[string]any{
				"v": 9, "session_id": "fake-session", "resume_gateway_url": s.GatewayURL(),
				"user":   map[string]any{"id": BotUserID, "username": "alertbot", "bot": true},
				"guilds": []any{}, "application": map[string]any{"id": "1", "flags": 0},
			}}
			c.mu.Lock()
			err := c.ws.WriteJSON(ready)
			c.ready = err == nil
			c.mu.Unlock()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.notify()
			s.mu.Unlock()
		}
	}
}

// Dispatch sends a gateway dispatch (op 0) of type event with data to every
// client that is past READY and returns how many got it.
func (s *Server) Dispatch(event string, data any) (int, error) {
	s.mu.Lock()
	var conns []*gwConn
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.seq++
	seq := s.seq
	s.mu.Unlock()
	sent := 0
	for _, c := range conns {
		c.mu.Lock()
		if c.ready {
			if err := c.ws.WriteJSON(map[string]any{"op": 0, "t": event, "s": seq, "d": data}); err != nil {
				c.mu.Unlock()
				return sent, fmt.Errorf("discordtest: dispatch %s: %w", event, err)
			}
			sent++
		}
		c.mu.Unlock()
	}
	return sent, nil
}

// Ready reports how many gateway clients are past READY.
func (s *Server) Ready() int {
	s.mu.Lock()
	conns := make([]*gwConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	n := 0
	for _, c := range conns {
		c.mu.Lock()
		if c.ready {
			n++
		}
		c.mu.Unlock()
	}
	return n
}

// splitMultipart returns the JSON of a request and its files: the body as
// it is for a JSON request; payload_json and the files[n] parts of a
// multipart/form-data one. Like Discord, it refuses a multipart body
// without payload_json, a part of another name, and attachments whose ids
// do not match the files[n] parts one to one. msg is the refusal.
func splitMultipart(r *http.Request, body []byte) (payload []byte, files []File, msg string) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return body, nil, ""
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, "Invalid Form Body: " + err.Error()
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return nil, nil, "Invalid Form Body: " + err.Error()
		}
		name := p.FormName()
		switch {
		case name == "payload_json":
			payload = data
		case strings.HasPrefix(name, "files[") && strings.HasSuffix(name, "]"):
			files = append(files, File{Field: name, Filename: p.FileName(), ContentType: p.Header.Get("Content-Type"), Data: data})
		default:
			return nil, nil, "Invalid Form Body: unexpected part " + strconv.Quote(name)
		}
	}
	if payload == nil {
		return nil, nil, "Invalid Form Body: no payload_json"
	}
	var refs struct {
		Attachments []struct {
			ID json.RawMessage `json:"id"`
		} `json:"attachments"`
		Data *struct {
			Attachments []struct {
				ID json.RawMessage `json:"id"`
			} `json:"attachments"`
		} `json:"data"`
	}
	if err := json.Unmarshal(payload, &refs); err != nil {
		return nil, nil, "Invalid Form Body: payload_json is not JSON"
	}
	atts := refs.Attachments
	if refs.Data != nil {
		atts = refs.Data.Attachments // an interaction callback's message
	}
	if atts != nil {
		fields := map[string]bool{}
		for _, f := range files {
			fields[f.Field] = true
		}
		if len(atts) != len(files) {
			return nil, nil, fmt.Sprintf("Invalid Form Body: %d attachments for %d files", len(atts), len(files))
		}
		for _, a := range atts {
			if id := strings.Trim(string(a.ID), `"`); !fields["files["+id+"]"] {
				return nil, nil, "Invalid Form Body: attachment id " + id + " names no files[n] part"
			}
		}
	}
	return payload, files, ""
}
