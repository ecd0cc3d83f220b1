package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
)

// writeLog commits alerts until the write-ahead log holds more than
// SQLite's own checkpoint threshold (1,000 pages, about 4 MB).
func writeLog(t *testing.T, db *DB) {
	t.Helper()
	ctx := testCtx(t)
	if err := db.SaveWatcher(ctx, mkWatcher("deadlines", "countdown")); err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("The Diet passes the budget. ", 40)
	for run := range 20 {
		rec := bot.RunRecord{At: testNow}
		for i := range 200 {
			a := mkAlert(fmt.Sprintf("deadlines/e%d-%d", run, i), fmt.Sprintf("e%d", i))
			a.Text = body
			rec.Alerts = append(rec.Alerts, bot.NewAlert{Alert: a, Channels: []string{fmt.Sprintf("slack:C%04d", i)}})
		}
		if _, err := db.CommitRun(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestCheckpointsBesideWrites: the write connection leaves the log to the
// background checkpoints (the database file does not grow while the log
// passes SQLite's threshold), checkpoint copies the log into the database
// file, and the background checkpoints do so by themselves.
func TestCheckpointsBesideWrites(t *testing.T) {
	const mb = 1 << 20
	t.Run("the writer does not checkpoint", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "alertbot.db")
		db, err := Open(testCtx(t), path, WithNow(func() time.Time { return testNow }), withCheckpointEvery(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		before := fileSize(t, path)
		writeLog(t, db)
		if after := fileSize(t, path); after > before+mb {
			t.Fatalf("the database file grew from %d to %d bytes: a commit checkpointed on the write connection", before, after)
		}
		if wal := fileSize(t, path+"-wal"); wal < 5*mb {
			t.Fatalf("the log is %d bytes; the test means to write more than SQLite's 4 MB threshold", wal)
		}
		logPages, done, err := db.checkpoint(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		if logPages < 1000 || done != logPages {
			t.Errorf("checkpoint = %d pages of log, %d copied; want all of more than 1,000", logPages, done)
		}
		if after := fileSize(t, path); after < before+4*mb {
			t.Errorf("the database file is %d bytes after checkpoint (%d before the writes); want the log copied in", after, before)
		}
	})
	t.Run("in the background", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "alertbot.db")
		db, err := Open(testCtx(t), path, WithNow(func() time.Time { return testNow }), withCheckpointEvery(20*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		before := fileSize(t, path)
		writeLog(t, db)
		deadline := time.Now().Add(20 * time.Second)
		for fileSize(t, path) < before+4*mb {
			if time.Now().After(deadline) {
				t.Fatalf("the database file is still %d bytes (%d before the writes): no background checkpoint", fileSize(t, path), before)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
