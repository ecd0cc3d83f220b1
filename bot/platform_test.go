package bot

import (
	"strings"
	"testing"
)

func TestSplitAddress(t *testing.T) {
	tests := []struct {
		addr         string
		platform, id string
		err          string // substring of the error; "" for none
	}{
		{"slack:C0123ABCD", "slack", "C0123ABCD", ""},
		{"slack:U0ADMIN1", "slack", "U0ADMIN1", ""},
		{"discord:80351110224678912", "discord", "80351110224678912", ""},
		{"console:local", "console", "local", ""},
		{"slack", "", "", `bad channel address "slack" (want slack:<id>`},
		{"slack:", "", "", `bad channel address "slack:" (want`},
		{"slack:c0123", "", "", "a Slack id is uppercase letters and digits"},
		{"slack:C1/../x", "", "", "a Slack id is uppercase letters and digits"},
		{"slack:C", "", "", "a Slack id is"},
		{"slack:" + strings.Repeat("C", 33), "", "", "a Slack id is"},
		{"discord:general", "", "", "a Discord id is a number"},
		{"discord:" + strings.Repeat("1", 21), "", "", "a Discord id is a number"},
		{"console:tty", "", "", "the console has only console:local"},
		{"irc:#x", "", "", `bad channel address "irc:#x": unknown platform "irc"`},
	}
	for _, tt := range tests {
		p, id, err := SplitAddress(tt.addr)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("SplitAddress(%q): %v", tt.addr, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("SplitAddress(%q) error %v, want …%s…", tt.addr, err, tt.err)
		case p != tt.platform || id != tt.id:
			t.Errorf("SplitAddress(%q) = %q, %q; want %q, %q", tt.addr, p, id, tt.platform, tt.id)
		}
	}
}
