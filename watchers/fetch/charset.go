package fetch

import (
	"bytes"
	"mime"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/encoding/unicode/utf32"
)

// sniffLen is how far into a body declarations are looked for, as in the
// HTML and XML sniffing rules.
const sniffLen = 1024

var (
	xmlDeclRe = regexp.MustCompile(`<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']`)
	metaRe    = regexp.MustCompile(`(?i)<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)`)
	// encAttrRe finds the encoding attribute of an XML declaration so that
	// it can be rewritten once the body is UTF-8; otherwise an XML parser
	// would transcode the text a second time.
	encAttrRe = regexp.MustCompile(`^(\s*(?:<!--[\s\S]*?-->\s*)*<\?xml[^>]*?\sencoding\s*=\s*)(["'])[^"']*["']`)
)

// ToUTF8 returns body as UTF-8 and the name of the encoding it was read in.
// The encoding is taken, in order, from a byte order mark, the UTF-16/32
// byte patterns of "<", the charset of contentType (which overrides the
// document's own declaration), an XML declaration, an HTML meta charset;
// with none of those, valid UTF-8 is kept, and other bytes are tested for
// Shift_JIS and EUC-JP before falling back to Windows-1252 (Latin-1's
// superset). Bytes invalid in the chosen encoding become U+FFFD, so the
// result is always valid UTF-8. An XML declaration's encoding attribute
// is rewritten to "utf-8".
func ToUTF8(body []byte, contentType string) ([]byte, string) {
	out, name := toUTF8(body, contentType)
	if m := encAttrRe.FindSubmatchIndex(out); m != nil {
		// Replace just the quoted value, keeping everything else.
		q := out[m[4]]
		end := bytes.IndexByte(out[m[5]:], q)
		if end >= 0 {
			end += m[5]
			fixed := make([]byte, 0, len(out))
			fixed = append(fixed, out[:m[5]]...)
			fixed = append(fixed, "utf-8"...)
			fixed = append(fixed, out[end:]...)
			out = fixed
		}
	}
	return out, name
}

func toUTF8(body []byte, contentType string) ([]byte, string) {
	if enc, name, n := bomEncoding(body); enc != nil {
		return decode(enc, body[n:]), name
	}
	if enc, name := utf16or32(body); enc != nil {
		return decode(enc, body), name
	}
	label := contentTypeCharset(contentType)
	if _, name := charset.Lookup(label); name == "" {
		label = declaredCharset(body)
	}
	enc, name := charset.Lookup(label)
	if enc != nil && name != "utf-8" {
		return decode(enc, body), name
	}
	// Declared UTF-8, or nothing usable declared.
	if utf8.Valid(body) {
		return body, "utf-8"
	}
	if enc, name := sniffJapanese(body); enc != nil {
		return decode(enc, body), name
	}
	if name == "utf-8" {
		// Declared UTF-8 with some bad bytes: keep what is readable.
		return bytes.ToValidUTF8(body, []byte("\uFFFD")), "utf-8"
	}
	enc, name = charset.Lookup("windows-1252")
	return decode(enc, body), name
}

func decode(enc encoding.Encoding, b []byte) []byte {
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		// x/text decoders replace bad input rather than fail; this is a
		// last resort that still yields valid UTF-8.
		return bytes.ToValidUTF8(b, []byte("\uFFFD"))
	}
	return bytes.ToValidUTF8(out, []byte("\uFFFD"))
}

func bomEncoding(b []byte) (encoding.Encoding, string, int) {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		return encoding.Nop, "utf-8", 3
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE, 0, 0}):
		return utf32.UTF32(utf32.LittleEndian, utf32.IgnoreBOM), "utf-32le", 4
	case bytes.HasPrefix(b, []byte{0, 0, 0xFE, 0xFF}):
		return utf32.UTF32(utf32.BigEndian, utf32.IgnoreBOM), "utf-32be", 4
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		return unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), "utf-16le", 2
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		return unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), "utf-16be", 2
	}
	return nil, "", 0
}

// utf16or32 recognises a document starting with "<" (or whitespace) in
// UTF-16 or UTF-32 without a byte order mark (XML 1.0 appendix F).
func utf16or32(b []byte) (encoding.Encoding, string) {
	if len(b) < 4 {
		return nil, ""
	}
	lt := func(c byte) bool { return c == '<' || c == ' ' || c == '\n' || c == '\r' || c == '\t' }
	switch {
	case b[0] == 0 && b[1] == 0 && b[2] == 0 && lt(b[3]):
		return utf32.UTF32(utf32.BigEndian, utf32.IgnoreBOM), "utf-32be"
	case lt(b[0]) && b[1] == 0 && b[2] == 0 && b[3] == 0:
		return utf32.UTF32(utf32.LittleEndian, utf32.IgnoreBOM), "utf-32le"
	case b[0] == 0 && lt(b[1]) && b[2] == 0 && b[3] != 0:
		return unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), "utf-16be"
	case lt(b[0]) && b[1] == 0 && b[2] != 0 && b[3] == 0:
		return unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), "utf-16le"
	}
	return nil, ""
}

// contentTypeCharset returns the charset parameter of a Content-Type,
// tolerating the spaces around "=" that some servers send.
func contentTypeCharset(ct string) string {
	if ct == "" {
		return ""
	}
	if _, params, err := mime.ParseMediaType(ct); err == nil {
		return strings.TrimSpace(params["charset"])
	}
	for _, part := range strings.Split(ct, ";")[1:] {
		k, v, ok := strings.Cut(part, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "charset") {
			return strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	return ""
}

// declaredCharset returns the encoding named by an XML declaration or an
// HTML meta tag near the start of b.
func declaredCharset(b []byte) string {
	head := b[:min(len(b), sniffLen)]
	if m := xmlDeclRe.FindSubmatch(head); m != nil {
		return strings.TrimSpace(string(m[1]))
	}
	if m := metaRe.FindSubmatch(head); m != nil {
		return string(m[1])
	}
	return ""
}

// sniffJapanese decides whether b, which is not UTF-8, is Shift_JIS or
// EUC-JP: the bytes must be well formed in that encoding and the text
// must contain kana, which Latin-1 text read as either never yields in any
// amount (its accented letters read as isolated kanji or half-width
// katakana, which are not counted).
func sniffJapanese(b []byte) (encoding.Encoding, string) {
	best, bestName, bestScore := encoding.Encoding(nil), "", 0.0
	for _, c := range []struct {
		enc   encoding.Encoding
		name  string
		valid func([]byte) bool
	}{
		{japanese.EUCJP, "euc-jp", validEUCJP},
		{japanese.ShiftJIS, "shift_jis", validShiftJIS},
	} {
		if !c.valid(b) {
			continue
		}
		out, err := c.enc.NewDecoder().Bytes(b)
		if err != nil {
			continue
		}
		if s := kanaScore(out); s > bestScore {
			best, bestName, bestScore = c.enc, c.name, s
		}
	}
	if bestScore < 0.15 {
		return nil, ""
	}
	return best, bestName
}

// kanaScore is the share of full-width kana among the non-ASCII runes of
// s, or 0 when there are fewer than two kana or any undecodable runes.
func kanaScore(s []byte) float64 {
	var kana, other int
	for len(s) > 0 {
		r, n := utf8.DecodeRune(s)
		s = s[n:]
		switch {
		case r < 0x80:
		case r == utf8.RuneError:
			return 0
		case r >= 0x3041 && r <= 0x30FF:
			kana++
		default:
			other++
		}
	}
	if kana < 2 {
		return 0
	}
	return float64(kana) / float64(kana+other)
}

func validEUCJP(b []byte) bool {
	in := func(c, lo, hi byte) bool { return c >= lo && c <= hi }
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c < 0x80:
			i++
		case c == 0x8E: // half-width katakana
			if i+1 >= len(b) || !in(b[i+1], 0xA1, 0xDF) {
				return false
			}
			i += 2
		case c == 0x8F: // JIS X 0212
			if i+2 >= len(b) || !in(b[i+1], 0xA1, 0xFE) || !in(b[i+2], 0xA1, 0xFE) {
				return false
			}
			i += 3
		case in(c, 0xA1, 0xFE):
			if i+1 >= len(b) || !in(b[i+1], 0xA1, 0xFE) {
				return false
			}
			i += 2
		default:
			return false
		}
	}
	return true
}

func validShiftJIS(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c < 0x80, c >= 0xA1 && c <= 0xDF:
			i++
		case c >= 0x81 && c <= 0x9F, c >= 0xE0 && c <= 0xFC:
			if i+1 >= len(b) {
				return false
			}
			t := b[i+1]
			if t < 0x40 || t == 0x7F || t > 0xFC {
				return false
			}
			i += 2
		default:
			return false
		}
	}
	return true
}
