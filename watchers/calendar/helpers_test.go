package calendar

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/fetch"
	"github.com/policyteam/alertbot/watchers/sharedtest"
	"github.com/policyteam/alertbot/watchers/sourcetest"
)

// newSource serves body as an iCalendar feed from a loopback server,
// with an ETag that follows the body, as calendar servers send.
func newSource(t *testing.T, body string) *sourcetest.Source {
	t.Helper()
	s := sourcetest.New(t, "text/calendar; charset=utf-8", body)
	s.HashETag()
	return s
}

// testFetcher is the production fetcher, allowed to reach loopback.
func testFetcher() watchers.Fetcher {
	return fetch.New(fetch.Options{Timeout: 10 * time.Second})
}

func tokyo(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skipf("no zone data: %v", err)
	}
	return loc
}

// testdataDir returns ../shared/testdata/<sub> from the repository root,
// skipping the test when it is absent.
func testdataDir(t testing.TB, sub string) string {
	return sharedtest.Path(t, sub)
}

// readShared reads one file of ../shared/testdata/<sub>, skipping the
// test when the material is absent.
func readShared(t testing.TB, sub, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testdataDir(t, sub), name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
