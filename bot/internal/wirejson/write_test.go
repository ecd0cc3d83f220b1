package wirejson

import (
	"bytes"
	"encoding/json"
	"testing"
)

// marshalString is s as encoding/json writes it without HTML escaping.
func marshalString(t testing.TB, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

var stringSeeds = []string{
	"", "plain", `quote " and \ backslash`, "tab\tnew\nline\rcr\b\f", "\x00\x01\x1f\x7f",
	"R&D <b> > &amp;", "日米関係 🇯🇵", "bad \xff\xfe utf-8 \xe6\x97", "line\u2028para\u2029end", "\ufffd",
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range stringSeeds {
		if got, want := AppendString(nil, s), marshalString(t, s); !bytes.Equal(got, want) {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range stringSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := AppendString(nil, s), marshalString(t, s); !bytes.Equal(got, want) {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
	})
}
