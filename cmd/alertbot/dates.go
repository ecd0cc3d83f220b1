package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/policyteam/alertbot/watchers/datex"
)

// datesLine is one line of `dates --json` (DESIGN §10).
type datesLine struct {
	Text      string `json:"text"`
	Offset    int    `json:"offset"`
	Due       string `json:"due"`
	Precision string `json:"precision"`
	Context   string `json:"context"`
}

const datesUsage = "usage: alertbot dates [--json] [--ref DATE] [--config F] [FILE|-]"

// dates prints the date expressions found in a file or standard input
// (DESIGN §10).
func (m *Main) dates(args []string) error {
	fs := newFlagSet("dates", m.Stderr)
	asJSON := fs.Bool("json", false, "one JSON object per line: text, offset, due, precision, context")
	ref := fs.String("ref", "", "reference date for dates written without a year: YYYY-MM-DD or RFC 3339 (default: today)")
	config := fs.String("config", m.env("ALERTBOT_CONFIG", ""), "config file whose timezone is used (default: Asia/Tokyo) [ALERTBOT_CONFIG]")
	// Flags may also follow the file name: `alertbot dates notice.txt --json`.
	var files []string
	for rest := args; ; {
		if err := parseFlags(fs, rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(files) > 1 {
		return &exitError{2, fmt.Sprintf("alertbot dates: give one FILE, or - for standard input, not %d\n%s", len(files), datesUsage)}
	}
	// Without a config, Japan time: the team's sources are mostly Japanese,
	// and the binary embeds the zone database.
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		return &exitError{1, "alertbot dates: " + err.Error()}
	}
	if *config != "" {
		cfg, err := m.loadConfig(*config)
		if err != nil {
			return err
		}
		loc = cfg.Location
	}
	refTime := m.now().In(loc)
	if *ref != "" {
		t, err := parseWhen(*ref, loc)
		if err != nil {
			return &exitError{2, "alertbot dates: --ref: " + err.Error()}
		}
		refTime = t
	}

	name, r := "standard input", m.Stdin
	if len(files) == 1 && files[0] != "-" {
		f, err := os.Open(files[0])
		if err != nil {
			return &exitError{1, "alertbot dates: " + err.Error()}
		}
		defer f.Close()
		name, r = files[0], f
	}
	data, err := io.ReadAll(io.LimitReader(r, datex.MaxInput+1))
	if err != nil {
		return &exitError{1, fmt.Sprintf("alertbot dates: read %s: %v", name, err)}
	}
	if len(data) > datex.MaxInput {
		return &exitError{1, fmt.Sprintf("alertbot dates: %s is larger than %d MiB; split it", name, datex.MaxInput>>20)}
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if !utf8.Valid(data) {
		fmt.Fprintf(m.Stderr, "alertbot dates: warning: %s is not UTF-8; dates in other encodings are missed (convert it, e.g. iconv -f SHIFT_JIS -t UTF-8)\n", name)
	}

	matches := datex.Extract(string(data), datex.Options{Ref: refTime, Location: loc})
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetEscapeHTML(false)
		for _, d := range matches {
			if err := enc.Encode(datesLine{Text: d.Text, Offset: d.Offset, Due: d.Due.Raw, Precision: datex.PrecisionName(d.Due.Precision), Context: d.Context}); err != nil {
				return err
			}
		}
		return nil
	}
	if len(matches) == 0 {
		fmt.Fprintln(m.Stdout, "No dates found.")
		return nil
	}
	// Columns: due, precision, byte offset, the text as written, its sentence.
	dueW, offW := 0, len(fmt.Sprint(matches[len(matches)-1].Offset))
	for _, d := range matches {
		dueW = max(dueW, len(d.Due.Raw))
	}
	oneLine := strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ")
	for _, d := range matches {
		fmt.Fprintf(m.Stdout, "%-*s  %-11s  %*d  %s  %s\n", dueW, d.Due.Raw, datex.PrecisionName(d.Due.Precision), offW, d.Offset, oneLine.Replace(d.Text), d.Context)
	}
	return nil
}
