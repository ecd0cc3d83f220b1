package discord

import (
	"encoding/json"

	"github.com/policyteam/alertbot/bot/internal/wirejson"
)

// messageID returns the top-level "id" of the message Discord answered a
// create with, as json.Unmarshal into struct{ID string} reads it. The
// answer echoes the whole message, embeds and all; decoding it with
// encoding/json cost about as much as encoding the request, so the id is
// picked out (wirejson.Pick) and encoding/json decides only what Pick
// leaves to it: an id with escapes or of another type, a name that folds
// into "id", a malformed answer.
func messageID(resp []byte) (string, error) {
	if vals, ok := wirejson.Pick(resp, "id"); ok {
		if vals[0] == nil {
			return "", nil
		}
		if id, ok := wirejson.PlainString(vals[0]); ok {
			return id, nil
		}
	}
	var m struct {
		ID string `json:"id"`
	}
	err := json.Unmarshal(resp, &m)
	return m.ID, err
}
