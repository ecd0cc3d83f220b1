package wirejson

import (
	"bytes"
	"encoding/json"
	"testing"
)

var seeds = []string{
	`{"ok":true,"channel":"C1","ts":"1752364800.000100","message":{"type":"message","ts":"1752364800.000100","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"a \"}]{[\\"}}]},"warning":"w","response_metadata":{"warnings":["w"]}}`,
	`{"ok":false,"error":"channel_not_found"}`,
	` { "id" : "7" , "x" : [ 1 , -2.5e3 , true , null , { } , [ ] ] } `,
	`{"nested":{"id":"no"},"list":[{"id":"no"}],"id":"yes"}`,
	`{"id":"1","id":"2"}`,
	`{"ID":"5"}`,
	`{"\u0069d":"6"}`,
	`{"İd":"8"}`,
	`{"id":"\u0031"}`,
	`{"id":7}`,
	`{}`,
	`[]`,
	`{"id":"1"`,
	`{"id":"1"} x`,
	`{"id":"1",}`,
	`{"id":}`,
	`{"a":[1,2}`,
	`{"a":{"b":]}`,
	`{"a":"unterminated}`,
	``,
}

var keys = []string{"id", "ok", "ts", "error"}

// check compares Pick with encoding/json's reading of b into a map of raw
// values: where both read b, the values are the same bytes.
func check(t *testing.T, b []byte) {
	t.Helper()
	got, ok := Pick(b, keys...)
	var m map[string]json.RawMessage
	err := json.Unmarshal(b, &m)
	if !ok || err != nil {
		return
	}
	for i, k := range keys {
		if want, has := m[k]; !bytes.Equal(got[i], want) || (got[i] != nil) != has {
			t.Errorf("%s: %s = %q, encoding/json %q", b, k, got[i], want)
		}
	}
}

func TestPick(t *testing.T) {
	for _, s := range seeds {
		check(t, []byte(s))
	}
	for _, tt := range []struct {
		in    string
		ok    bool
		id    string // raw value of "id"
		plain string
	}{
		{seeds[2], true, `"7"`, "7"},
		{seeds[3], true, `"yes"`, "yes"},
		{seeds[4], true, `"2"`, "2"},
		{`{"ok":true}`, true, "", ""},
		{`{}`, true, "", ""},
		{`{"ID":"5"}`, false, "", ""},
		{`{"\u0069d":"6"}`, false, "", ""},
		{`{"İd":"8"}`, false, "", ""},
		{`{"id":"\u0031"}`, true, `"\u0031"`, ""},
		{`[]`, false, "", ""},
		{`{"id":"1"`, false, "", ""},
		{`{"id":"1"} x`, false, "", ""},
		{`{"id":"1",}`, false, "", ""},
		{`{"id":}`, false, "", ""},
		{`{"a":[1,2}`, false, "", ""},
		{`{"a":{"b":]}`, false, "", ""},
		{`{"a":"unterminated}`, false, "", ""},
		{``, false, "", ""},
	} {
		vals, ok := Pick([]byte(tt.in), "id")
		if ok != tt.ok {
			t.Errorf("%s: ok %v, want %v", tt.in, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		if string(vals[0]) != tt.id {
			t.Errorf("%s: id %s, want %s", tt.in, vals[0], tt.id)
		}
		if p, _ := PlainString(vals[0]); p != tt.plain {
			t.Errorf("%s: plain %q, want %q", tt.in, p, tt.plain)
		}
	}
}

func FuzzPick(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		check(t, []byte(s))
		// A plain string is its own value.
		if vals, ok := Pick([]byte(s), "id"); ok && vals[0] != nil {
			if p, ok := PlainString(vals[0]); ok {
				var v string
				if err := json.Unmarshal(vals[0], &v); err != nil || v != p {
					t.Errorf("%s: plain %q, encoding/json %q, %v", vals[0], p, v, err)
				}
			}
		}
	})
}

func TestElements(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string // nil: not ok
	}{
		{`[]`, []string{}},
		{` [ {"type":"a","x":[1,{"y":"]"}]} , "s" , 1 , null , [ ] ] `, []string{`{"type":"a","x":[1,{"y":"]"}]}`, `"s"`, `1`, `null`, `[ ]`}},
		{`[1,]`, nil},
		{`[1`, nil},
		{`[1] x`, nil},
		{`{"a":1}`, nil},
		{`["unterminated]`, nil},
		{``, nil},
	} {
		got, ok := Elements([]byte(tt.in))
		if ok != (tt.want != nil) {
			t.Errorf("%s: ok %v", tt.in, ok)
			continue
		}
		if !ok {
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: %q, want %q", tt.in, got, tt.want)
			continue
		}
		for i := range got {
			if string(got[i]) != tt.want[i] {
				t.Errorf("%s: element %d %s, want %s", tt.in, i, got[i], tt.want[i])
			}
		}
	}
}

func FuzzElements(f *testing.F) {
	for _, s := range []string{`[]`, `[{"type":"a"},"s",1,null,[]]`, `[1,]`, `["]"]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := Elements([]byte(s))
		var want []json.RawMessage
		if !ok || json.Unmarshal([]byte(s), &want) != nil {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d elements, encoding/json %d", s, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Errorf("%s: element %d %s, encoding/json %s", s, i, got[i], want[i])
			}
		}
	})
}
