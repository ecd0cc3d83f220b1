// Package wirejson is the JSON the adapters' send path reads and writes by
// hand, because encoding/json cost more there than the rest of a send.
// Reading: the platforms answer a post with the whole message echoed
// (blocks, embeds, author), of which the adapters need one or two fields,
// and Pick finds them without decoding the rest. Writing: AppendString
// writes a string as encoding/json does, for request bodies built directly.
package wirejson

import "strings"

// Pick returns the raw JSON values of the members of the object b named
// exactly by keys, in the order of keys, nil for a key b lacks; when a
// name occurs twice the last wins, as in encoding/json. The values are
// for encoding/json to decode.
//
// Pick reports false, and the caller decodes b with encoding/json instead
// (which also reports the error of a malformed b), when b is not an
// object, ends early, or has a member name that encoding/json might match
// with a key where Pick would not: a name with escapes or non-ASCII bytes,
// or equal to a key ignoring case. The values Pick skips are checked only
// for closed strings and balanced brackets, not fully validated.
func Pick(b []byte, keys ...string) ([][]byte, bool) {
	out := make([][]byte, len(keys))
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return out, trailing(b, i+1)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return nil, false
		}
		end, ok := stringEnd(b, i)
		if !ok {
			return nil, false
		}
		name := b[i+1 : end-1]
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return nil, false
		}
		i = skipSpace(b, i+1)
		vend, ok := valueEnd(b, i)
		if !ok {
			return nil, false
		}
		if !plain(name) {
			return nil, false
		}
		for k, key := range keys {
			if string(name) == key {
				out[k] = b[i:vend]
			} else if strings.EqualFold(string(name), key) {
				return nil, false
			}
		}
		i = skipSpace(b, vend)
		if i >= len(b) {
			return nil, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return out, trailing(b, i+1)
		default:
			return nil, false
		}
	}
}

// Elements returns the raw JSON values of the elements of the array b,
// and false when b is not an array or ends early. Like Pick, it checks
// the elements only for closed strings and balanced brackets.
func Elements(b []byte) ([][]byte, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil, false
	}
	var out [][]byte
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return out, trailing(b, i+1)
	}
	for {
		end, ok := valueEnd(b, i)
		if !ok {
			return nil, false
		}
		out = append(out, b[i:end])
		i = skipSpace(b, end)
		if i >= len(b) {
			return nil, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			return out, trailing(b, i+1)
		default:
			return nil, false
		}
	}
}

// PlainString returns the content of v, a raw JSON string, when it is
// printable ASCII without escapes, so that its bytes are its value.
func PlainString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	s := v[1 : len(v)-1]
	if !plain(s) {
		return "", false
	}
	return string(s), true
}

// plain reports whether s is printable ASCII without backslashes or quotes.
func plain(s []byte) bool {
	for _, c := range s {
		if c < 0x20 || c >= 0x7f || c == '\\' || c == '"' {
			return false
		}
	}
	return true
}

// trailing reports whether only white space follows b[i:].
func trailing(b []byte, i int) bool { return skipSpace(b, i) == len(b) }

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string that starts at b[i]
// (a quote), and false when b ends first.
func stringEnd(b []byte, i int) (int, bool) {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++ // the escaped byte; \u's hex digits are plain bytes
		case '"':
			return i + 1, true
		}
	}
	return 0, false
}

// valueEnd returns the index just past the value that starts at b[i]: a
// string, an object or array (strings inside skipped, brackets
// balanced), or a number or literal (up to the next delimiter); false
// when it is missing, unbalanced or cut off.
func valueEnd(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		var buf [32]byte
		stack := buf[:0] // the closing brackets expected, innermost last
		for ; i < len(b); i++ {
			switch c := b[i]; c {
			case '"':
				end, ok := stringEnd(b, i)
				if !ok {
					return 0, false
				}
				i = end - 1
			case '{':
				stack = append(stack, '}')
			case '[':
				stack = append(stack, ']')
			case '}', ']':
				if len(stack) == 0 || stack[len(stack)-1] != c {
					return 0, false
				}
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					return i + 1, true
				}
			}
		}
		return 0, false
	case ',', '}', ']', ':':
		return 0, false
	default:
		start := i
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
			i++
		}
		return i, i > start
	}
}
