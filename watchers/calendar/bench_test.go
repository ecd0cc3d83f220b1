package calendar

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkCalendarParse measures parse and expansion throughput on a
// large real calendar (399 KB, 1321 yearly events).
func BenchmarkCalendarParse(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(testdataDir(b, "ics/ical4j"), "valid_mathBirthdays.ics"))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	opt := expandOptions{from: now.Add(-24 * time.Hour), to: now.Add(400 * 24 * time.Hour), floating: locZone{loc: time.UTC}}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		exp, err := expand(context.Background(), data, opt)
		if err != nil || len(exp.occ) < 1300 {
			b.Fatalf("expand: %d instances, %v", len(exp.occ), err)
		}
	}
}
