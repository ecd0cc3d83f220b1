package slacktest

import (
	"net/http"
	"strings"
)

// IMChannel is the id of the direct-message (IM) channel the fake opens
// for user: "D" followed by the user id, so tests can name it.
func IMChannel(user string) string { return "D" + user }

// conversationsOpen fakes conversations.open for a direct message with
// one user, answering as Slack does: {"ok":true,"channel":{"id":"D…"}},
// with "no_op" and "already_open" when the IM was open before. Group DMs
// (several users) and reopening by channel are not served.
// https://docs.slack.dev/reference/methods/conversations.open
func (s *Server) conversationsOpen(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_form_data"})
		return
	}
	user := r.PostForm.Get("users")
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notify()
	s.openReqs = append(s.openReqs, user)
	switch {
	case s.Token != "" && requestToken(r) != s.Token:
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	case user == "" || strings.Contains(user, ",") || !validChannel(user):
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "user_not_found"})
		return
	case len(s.failOpen) > 0:
		f := s.failOpen[0]
		s.failOpen = s.failOpen[1:]
		writeFailure(w, &f)
		return
	}
	id := IMChannel(user)
	open := s.ims[id]
	s.ims[id] = true
	resp := map[string]any{"ok": true, "channel": map[string]any{"id": id}}
	if open {
		resp["no_op"], resp["already_open"] = true, true
	}
	writeJSON(w, http.StatusOK, resp)
}

// Opens returns the user of every conversations.open request, in order.
func (s *Server) Opens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.openReqs...)
}

// FailOpen makes the next conversations.open requests fail with fs, one
// each, e.g. MissingScope("im:write").
func (s *Server) FailOpen(fs ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failOpen = append(s.failOpen, fs...)
}
