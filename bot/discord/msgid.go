package discord

import (
	"encoding/json"
	"strings"
)

// messageID returns the top-level "id" of a message Discord answered a
// create with, as json.Unmarshal into struct{ID string} would read it. The
// answer echoes the whole message, embeds and all; decoding it with
// encoding/json cost about as much as encoding the request. The answer is
// checked to be valid JSON first, then its top-level keys are walked
// without decoding the values; an id that is not a plain ASCII string
// (escapes, UTF-8, another type) or a key that only matches "id" ignoring case goes to
// encoding/json, so the result is always what it would give.
func messageID(resp []byte) (string, error) {
	if !json.Valid(resp) {
		var m struct{}
		return "", json.Unmarshal(resp, &m) // the syntax error
	}
	if id, ok := scanID(resp); ok {
		return id, nil
	}
	var m struct {
		ID string `json:"id"`
	}
	err := json.Unmarshal(resp, &m)
	return m.ID, err
}

// scanID walks the top-level object of valid JSON b for the key "id". It
// reports false when b is not an object or when encoding/json should
// decide (see messageID); the last "id" wins, as in encoding/json.
func scanID(b []byte) (string, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return "", false
	}
	i++
	id := ""
	for {
		i = skipSpace(b, i)
		if b[i] == '}' {
			return id, true // found or not: a missing id is ""
		}
		if b[i] == ',' {
			i = skipSpace(b, i+1)
		}
		end := stringEnd(b, i)
		key := b[i+1 : end-1]
		i = skipSpace(b, end)
		i = skipSpace(b, i+1) // the colon
		switch {
		case string(key) == "id":
			if b[i] != '"' {
				return "", false // a number or null: encoding/json's error
			}
			end := stringEnd(b, i)
			v := b[i+1 : end-1]
			if !plainASCII(v) {
				return "", false // escapes or UTF-8: encoding/json decodes those
			}
			id = string(v)
			i = end
		case !plainASCII(key) || strings.EqualFold(string(key), "id"):
			// "ID", an escaped key, or a key with letters that fold
			// into "id" ("İd"): encoding/json matches those too.
			return "", false
		default:
			i = valueEnd(b, i)
		}
	}
}

// plainASCII reports whether a string's content is ASCII without escapes,
// so that its bytes are its value.
func plainASCII(v []byte) bool {
	for _, c := range v {
		if c >= 0x80 || c == '\\' {
			return false
		}
	}
	return true
}

// skipSpace returns the index of the first non-space byte at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string starting at b[i] ('"').
func stringEnd(b []byte, i int) int {
	for i++; ; i++ {
		switch b[i] {
		case '\\':
			i++ // the escaped byte (for \u, the hex digits are plain bytes)
		case '"':
			return i + 1
		}
	}
}

// valueEnd returns the index just past the value starting at b[i]: a
// string, an object or array (by depth, strings skipped), or a number or
// literal (up to the next delimiter).
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
	default:
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
			i++
		}
		return i
	}
}
