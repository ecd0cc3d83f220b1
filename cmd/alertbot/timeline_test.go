package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExecTimeline: alertbot exec -- timeline writes the picture into the
// working directory and prints its absolute path after the caption.
// Not parallel: it changes the working directory.
func TestExecTimeline(t *testing.T) {
	dir := t.TempDir()
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	t.Chdir(dir)
	db := newDBFile(t, filepath.Join(dir, "a.db"))
	out, _, err := runMain(t, "exec", "--db", db, "--", "timeline", "#budget", "1000d")
	if err != nil {
		t.Fatalf("exec timeline: %v\n%s", err, out)
	}
	path := filepath.Join(dir, "alertbot-timeline-budget.png")
	if !strings.HasPrefix(out, "Timeline of the open events #budget within 1000d: ") || !strings.HasSuffix(out, "\nPicture: "+path+"\n") {
		t.Fatalf("output %q", out)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(data)); err != nil {
		t.Fatalf("%s is not a PNG: %v", path, err)
	}
}
