package discordtest

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// createDM fakes POST /users/@me/channels {recipient_id}: it returns the
// user's DM channel, the same one on every call as Discord does, as a
// channel object of type 1 (DM) with the user among its recipients.
// https://discord.com/developers/docs/resources/user#create-dm
func (s *Server) createDM(w http.ResponseWriter, body []byte) {
	var b struct {
		RecipientID string `json:"recipient_id"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		writeError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return
	}
	if _, err := strconv.ParseUint(b.RecipientID, 10, 64); err != nil {
		writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body: recipient_id: Value is not snowflake.")
		return
	}
	s.mu.Lock()
	ch, ok := s.dms[b.RecipientID]
	if !ok {
		ch, _ = s.id()
		s.dms[b.RecipientID] = ch
		s.channels[ch] = true
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"id": ch, "type": 1, "last_message_id": nil, "flags": 0,
		"recipients": []map[string]any{{"id": b.RecipientID, "username": "user" + b.RecipientID, "discriminator": "0", "global_name": nil, "avatar": nil}},
	})
}

// DMChannel returns the DM channel the fake opened for user, "" if none.
func (s *Server) DMChannel(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dms[user]
}
