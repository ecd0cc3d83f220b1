package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// datesNotice is a paragraph of a government-style announcement.
const datesNotice = `令和7年6月20日
第27回参議院議員通常選挙は、令和7年7月3日（木）に公示され、7月20日（日）に投票が行われます。期日前投票は7月4日から7月19日まで。
お問い合わせ：03-3581-0101（https://www.soumu.go.jp/senkyo/2025/07/20/）
The count starts at 9 p.m. on July 20.
`

// runDates runs `alertbot dates` in-process with stdin, an environment
// and a clock.
func runDates(t *testing.T, stdin string, env map[string]string, now time.Time, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	m := &Main{
		Args:   append([]string{"dates"}, args...),
		Stdin:  strings.NewReader(stdin),
		Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] },
		Now:    func() time.Time { return now },
	}
	err = m.Run(context.Background())
	return out.String(), errb.String(), err
}

func TestDatesText(t *testing.T) {
	file := filepath.Join(t.TempDir(), "notice.txt")
	if err := os.WriteFile(file, []byte(datesNotice), 0o644); err != nil {
		t.Fatal(err)
	}
	// Flags may come after the file.
	out, stderr, err := runDates(t, "", nil, time.Time{}, file, "--ref", "2025-06-20")
	if err != nil {
		t.Fatalf("dates: %v\n%s", err, stderr)
	}
	s1 := "第27回参議院議員通常選挙は、令和7年7月3日（木）に公示され、7月20日（日）に投票が行われます。"
	s2 := "期日前投票は7月4日から7月19日まで。"
	at := func(s string) string { return fmt.Sprintf("%3d", strings.Index(datesNotice, s)) }
	want := strings.Join([]string{
		"2025-06-20              day            0  令和7年6月20日  令和7年6月20日",
		"2025-07-03              day          " + at("令和7年7月3日") + "  令和7年7月3日  " + s1,
		"2025-07-20              day          " + at("7月20日") + "  7月20日  " + s1,
		"2025-07-04              day          " + at("7月4日") + "  7月4日  " + s2,
		"2025-07-19              day          " + at("7月19日") + "  7月19日  " + s2,
		"2025-07-20T21:00+09:00  instant      " + at("9 p.m.") + "  9 p.m. on July 20  The count starts at 9 p.m. on July 20.",
	}, "\n") + "\n"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("dates output (-want +got):\n%s", diff)
	}
	// Offsets are bytes into the file.
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		var off int
		if err := json.Unmarshal([]byte(f[2]), &off); err != nil || !strings.HasPrefix(datesNotice[off:], f[3]) {
			t.Errorf("offset %s does not point at %q", f[2], f[3])
		}
	}

	out, _, err = runDates(t, "nothing to see here", nil, time.Time{}, "--ref", "2025-06-20")
	if err != nil || out != "No dates found.\n" {
		t.Errorf("no dates: %q, %v", out, err)
	}
}

func TestDatesJSONStdin(t *testing.T) {
	for _, args := range [][]string{{"--json", "--ref", "2025-06-20"}, {"--json", "--ref", "2025-06-20T10:00:00+09:00", "-"}} {
		out, stderr, err := runDates(t, datesNotice, nil, time.Time{}, args...)
		if err != nil {
			t.Fatalf("dates %v: %v\n%s", args, err, stderr)
		}
		var got []datesLine
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var d datesLine
			dec := json.NewDecoder(strings.NewReader(line))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&d); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			got = append(got, d)
		}
		if len(got) != 6 {
			t.Fatalf("dates %v: %d lines, want 6:\n%s", args, len(got), out)
		}
		want := datesLine{Text: "7月20日", Offset: strings.Index(datesNotice, "7月20日"), Due: "2025-07-20", Precision: "day",
			Context: "第27回参議院議員通常選挙は、令和7年7月3日（木）に公示され、7月20日（日）に投票が行われます。"}
		if diff := cmp.Diff(want, got[2]); diff != "" {
			t.Errorf("dates %v, third line (-want +got):\n%s", args, diff)
		}
		if got[5].Due != "2025-07-20T21:00+09:00" || got[5].Precision != "instant" {
			t.Errorf("dates %v, last line: %+v", args, got[5])
		}
		// The exact field names of DESIGN §10.
		if first := strings.SplitN(out, "\n", 2)[0]; !strings.HasPrefix(first, `{"text":"令和7年6月20日","offset":0,"due":"2025-06-20","precision":"day","context":`) {
			t.Errorf("first line %s", first)
		}
	}
}

// TestDatesRef: without --ref the reference is today in the config's
// zone, or Japan's without a config.
func TestDatesRef(t *testing.T) {
	// 31 December 2025 16:00 UTC is already 1 January 2026 in Tokyo, and
	// still 31 December in New York.
	now := time.Date(2025, 12, 31, 16, 0, 0, 0, time.UTC)
	cfg := filepath.Join(t.TempDir(), "ny.yaml")
	if err := os.WriteFile(cfg, []byte("timezone: America/New_York\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"tokyo by default", nil, []string{"--json"}, `"due":"2026"`},
		{"config flag", nil, []string{"--json", "--config", cfg}, `"due":"2025"`},
		{"config from the environment", map[string]string{"ALERTBOT_CONFIG": cfg}, []string{"--json"}, `"due":"2025"`},
		{"--ref wins", nil, []string{"--json", "--ref", "2024-05-01"}, `"due":"2024"`},
	} {
		out, stderr, err := runDates(t, "今年の予定", tc.env, now, tc.args...)
		if err != nil || !strings.Contains(out, tc.want) {
			t.Errorf("%s: %q (want %s), %v %s", tc.name, out, tc.want, err, stderr)
		}
	}
}

func TestDatesErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--ref", "yesterday"}, 2, `alertbot dates: --ref: bad time "yesterday" (want YYYY-MM-DD, RFC 3339`},
		{[]string{"--ref", "2025-02-30"}, 2, `alertbot dates: --ref: bad time "2025-02-30"`},
		{[]string{"--bogus"}, 2, "flag provided but not defined: -bogus"},
		{[]string{"a.txt", "b.txt"}, 2, "alertbot dates: give one FILE, or - for standard input, not 2"},
		{[]string{filepath.Join(t.TempDir(), "missing.txt")}, 1, "alertbot dates: open "},
		{[]string{"--config", filepath.Join(t.TempDir(), "missing.yaml")}, 1, "missing.yaml"},
	} {
		_, stderr, err := runDates(t, "", nil, time.Now(), tc.args...)
		var ex *exitError
		if !errors.As(err, &ex) || ex.code != tc.code || !strings.Contains(ex.msg+stderr, tc.msg) {
			t.Errorf("dates %v: %v, stderr %q; want exit %d with %q", tc.args, err, stderr, tc.code, tc.msg)
		}
	}
	// Text that is not UTF-8 is read, with a warning.
	_, stderr, err := runDates(t, "\x93\xfa7月20日", nil, time.Now(), "--ref", "2025-06-01")
	if err != nil || !strings.Contains(stderr, "not UTF-8") {
		t.Errorf("not UTF-8: %v, stderr %q", err, stderr)
	}
}
