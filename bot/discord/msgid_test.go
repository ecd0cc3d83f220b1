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
	// The fake's answers: the id found past the echoed embeds.
	if id, err := messageID([]byte(messageIDSeeds[1])); err != nil || id != "123" {
		t.Errorf("got %q, %v; want 123", id, err)
	}
}

func checkMessageID(t *testing.T, b []byte) {
	t.Helper()
	got, gotErr := messageID(b)
	want, wantErr := unmarshalID(b)
	if got != want || (gotErr == nil) != (wantErr == nil) {
		t.Errorf("%s: messageID %q, %v; json.Unmarshal %q, %v", b, got, gotErr, want, wantErr)
	}
}

func FuzzMessageID(f *testing.F) {
	for _, s := range messageIDSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkMessageID(t, []byte(s)) })
}
