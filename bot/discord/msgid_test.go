package discord

import (
	"encoding/json"
	"testing"
)

var messageIDSeeds = []string{
	`{"id":"1250000000000000001","content":"x"}`,
	`{"type":0,"content":"a \"quoted\" } ] { [ \\","embeds":[{"title":"t","fields":[{"name":"id","value":"v"}]}],"author":{"id":"99"},"id":"123","flags":0}`,
	` { "id" : "7" , "x" : [ 1 , 2.5e3 , true , null , { } , [ ] ] } `,
	`{"nested":{"id":"no"},"list":[{"id":"no"}]}`,
	`{"id":"1","id":"2"}`,
	`{"ID":"5"}`,
	`{"\u0069d":"6"}`,
	`{"id":"\u0031"}`,
	"{\"id\":\"\xa8\"}",
	`{"id":"日米"}`,
	`{"İd":"8"}`,
	`{"id":7}`,
	`{"id":null}`,
	`[{"id":"1"}]`,
	`"id"`,
	`{"id":"1"`,
	`{"id":"1"} x`,
	``,
	`{}`,
}

// unmarshalID is what Send read before: json.Unmarshal into struct{ID}.
func unmarshalID(b []byte) (string, error) {
	var m struct {
		ID string `json:"id"`
	}
	err := json.Unmarshal(b, &m)
	return m.ID, err
}

func TestMessageIDMatchesUnmarshal(t *testing.T) {
	for _, s := range messageIDSeeds {
		checkMessageID(t, []byte(s))
	}
	// The id found past echoed embeds that hold other ids.
	if id, err := messageID([]byte(messageIDSeeds[1])); err != nil || id != "123" {
		t.Errorf("got %q, %v; want 123", id, err)
	}
	// Not an object, cut off, or an id that is no string: an error, as
	// Send took from json.Unmarshal.
	for _, s := range []string{`[{"id":"1"}]`, `{"id":"1"`, `{"id":7}`, ``, `<html>`} {
		if id, err := messageID([]byte(s)); err == nil {
			t.Errorf("%s: id %q without an error", s, id)
		}
	}
}

// checkMessageID: where json.Unmarshal reads an id, messageID reads the
// same. (Where it fails, messageID may still find the id: values it skips
// are not fully checked, and a created message's id is what matters.)
func checkMessageID(t *testing.T, b []byte) {
	t.Helper()
	got, gotErr := messageID(b)
	want, wantErr := unmarshalID(b)
	if wantErr == nil && (got != want || gotErr != nil) {
		t.Errorf("%s: messageID %q, %v; json.Unmarshal %q", b, got, gotErr, want)
	}
}

func FuzzMessageID(f *testing.F) {
	for _, s := range messageIDSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkMessageID(t, []byte(s)) })
}
