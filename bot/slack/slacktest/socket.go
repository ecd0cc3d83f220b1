package slacktest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// pingEvery keeps the client's dead-connection timer (30 s by default)
// from firing during long tests.
const pingEvery = 5 * time.Second

// connectionsOpen fakes apps.connections.open: it hands out a ws:// URL on
// this server. https://docs.slack.dev/reference/methods/apps.connections.open
func (s *Server) connectionsOpen(w http.ResponseWriter, r *http.Request) {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !strings.HasPrefix(tok, "xapp-") {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	s.mu.Lock()
	s.opens++
	n := s.opens
	s.notify()
	s.mu.Unlock()
	u := "ws" + strings.TrimPrefix(s.srv.URL, "http") + fmt.Sprintf("/socket?n=%d", n)
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "url": u})
}

// socket serves one Socket Mode connection: hello, then whatever the test
// sends; it records the acks.
func (s *Server) socket(w http.ResponseWriter, r *http.Request) {
	c, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	conn := &wsConn{c: c}
	defer c.Close()

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.all[conn] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.all, conn)
		s.mu.Unlock()
	}()
	hello := map[string]any{"type": "hello", "num_connections": 1,
		"debug_info":      map[string]any{"host": "slacktest", "approximate_connection_time": 3600},
		"connection_info": map[string]any{"app_id": "A0SLACKTEST"}}
	if err := conn.writeJSON(hello); err != nil {
		return
	}
	s.mu.Lock()
	s.hellos++
	s.conn = conn
	s.notify()
	s.mu.Unlock()

	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(pingEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-s.stop:
				return
			case <-t.C:
				_ = c.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(5*time.Second))
			}
		}
	}()

	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			s.mu.Lock()
			if s.conn == conn {
				s.conn = nil
				s.notify()
			}
			s.mu.Unlock()
			return
		}
		var ack Ack
		if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		s.mu.Lock()
		s.acks = append(s.acks, ack)
		s.notify()
		s.mu.Unlock()
	}
}

// Connections returns how many times apps.connections.open was called.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opens
}

// Hellos returns how many Socket Mode connections got their hello.
func (s *Server) Hellos() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hellos
}

// WaitHellos waits until n connections got their hello and one is open.
func (s *Server) WaitHellos(ctx context.Context, n int) error {
	return s.waitFor(ctx, fmt.Sprintf("%d hellos", n), func() bool { return s.hellos >= n && s.conn != nil })
}

// Send writes an envelope (any JSON value) to the current Socket Mode
// connection, waiting for one.
func (s *Server) Send(ctx context.Context, envelope any) error {
	var conn *wsConn
	err := s.waitFor(ctx, "a socket mode connection", func() bool { conn = s.conn; return conn != nil })
	if err != nil {
		return err
	}
	if err := conn.writeJSON(envelope); err != nil {
		return fmt.Errorf("slacktest: send envelope: %w", err)
	}
	return nil
}

// SendSlashCommand sends a slash_commands envelope with payload (the
// command's fields: user_id, channel_id, text, response_url, …).
func (s *Server) SendSlashCommand(ctx context.Context, envelopeID string, payload map[string]string) error {
	return s.Send(ctx, map[string]any{"envelope_id": envelopeID, "type": "slash_commands",
		"accepts_response_payload": true, "payload": payload})
}

// Disconnect asks the client to reconnect, as Slack does before it
// recycles a connection.
func (s *Server) Disconnect(ctx context.Context) error {
	return s.Send(ctx, map[string]any{"type": "disconnect", "reason": "refresh_requested",
		"debug_info": map[string]any{"host": "slacktest"}})
}

// Acks returns the Socket Mode acknowledgements received.
func (s *Server) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ack(nil), s.acks...)
}

// WaitAck waits for the acknowledgement of envelopeID.
func (s *Server) WaitAck(ctx context.Context, envelopeID string) (Ack, error) {
	var got Ack
	err := s.waitFor(ctx, "ack of "+envelopeID, func() bool {
		for _, a := range s.acks {
			if a.EnvelopeID == envelopeID {
				got = a
				return true
			}
		}
		return false
	})
	return got, err
}
