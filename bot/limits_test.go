package bot

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestCutText(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
		cut  bool
	}{
		{"abc", 3, "abc", false},
		{"abcd", 3, "ab…", true},
		{"日本語テキスト", 4, "日本語…", true},
		{"🇯🇵🇺🇸", 3, "🇯🇵…", true},
		{"", 0, "", false},
		{"a", 0, "", true},
		{"ab", 1, "…", true},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		log := slog.New(slog.NewTextHandler(&buf, nil))
		if got := CutText(log, "title", tt.in, tt.n); got != tt.want {
			t.Errorf("CutText(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
		if logged := strings.Contains(buf.String(), "part=title"); logged != tt.cut {
			t.Errorf("CutText(%q, %d) logged %v, want %v: %s", tt.in, tt.n, logged, tt.cut, buf.String())
		}
	}
	// The log says what was cut, from how many runes to how many.
	var buf bytes.Buffer
	CutText(slog.New(slog.NewTextHandler(&buf, nil)), "embed title", strings.Repeat("日", 300), 256)
	for _, want := range []string{`part="embed title"`, "limit=256", "runes=300", "kept=256"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log lacks %s: %s", want, buf.String())
		}
	}
	if got := CutText(nil, "x", "abcd", 3); got != "ab…" {
		t.Errorf("CutText without a log = %q", got)
	}
}
