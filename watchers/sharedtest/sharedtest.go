// Package sharedtest holds the test helpers every package shares: Path
// finds the project's shared test material (../shared/testdata beside the
// repository), and Golden checks output against golden files.
package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Path returns ../shared/testdata/<parts…> found from the repository root
// (the directory holding go.mod), skipping the test when it is absent:
// the material is read in place and never copied into the repository.
func Path(t testing.TB, parts ...string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("repository root not found")
		}
		dir = parent
	}
	p := filepath.Join(append([]string{dir, "..", "shared", "testdata"}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared test material absent: %s", p)
	}
	return p
}
