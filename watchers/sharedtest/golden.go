package sharedtest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	udiff "github.com/aymanbagabas/go-udiff"
)

// update is the one -update flag of every package's golden tests.
var update = flag.Bool("update", false, "rewrite golden files with what the tests got")

// Golden compares got with the golden file at path and fails t with a
// unified diff when they differ. Run with -update, it writes got to path
// instead, creating the directory, so an intended change is reviewed as a
// diff of the golden file.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file: %v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from what the test got (run go test -update if that is intended):\n%s",
			path, udiff.Unified(path, "got", string(want), string(got)))
	}
}
