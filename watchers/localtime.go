package watchers

import "time"

// Date is time.Date with the rule of RFC 5545 §3.3.5 (DESIGN §4) for
// local times that a daylight-saving change skips or repeats:
//   - a time in a gap is read with the offset in force before the gap, so
//     02:30 on New York's spring-forward day is 03:30 EDT;
//   - a time that occurs twice is the first occurrence, so 01:30 on the
//     autumn day is 01:30 EDT in New York and 01:30 BST in London.
//
// time.Date leaves both unspecified, and in practice moves a gap time
// back (01:30 EST) and picks the first or the second occurrence depending
// on the sign of the zone's offset. Every place where a local wall time
// becomes an instant goes through Date, so that the rule holds everywhere.
// Out-of-range fields are normalized as time.Date does.
func Date(year int, month time.Month, day, hour, min, sec, nsec int, loc *time.Location) time.Time {
	t := time.Date(year, month, day, hour, min, sec, nsec, loc)
	if loc == time.UTC || loc == nil {
		return t
	}
	// The wall time as seconds, with the fields normalized as above.
	w := time.Date(year, month, day, hour, min, sec, nsec, time.UTC)
	wall := w.Unix()
	_, off := t.Zone()
	if t.Unix()+int64(off) == wall {
		// The time exists. It may also exist earlier, with the larger
		// offset in force before a fall-back change: then that is its
		// first occurrence. Repeated spans are at most a few hours, so
		// a larger offset a few hours back is the sign of one; the
		// usual case costs one lookup more.
		if _, back := t.Add(-maxRepeat).Zone(); back <= off {
			return t
		}
		start, _ := t.ZoneBounds()
		if start.IsZero() {
			return t
		}
		_, prevOff := start.Add(-time.Nanosecond).Zone()
		if prevOff > off {
			if first := time.Unix(wall-int64(prevOff), int64(w.Nanosecond())).In(loc); first.Before(start) {
				return first
			}
		}
		return t
	}
	// A gap: wall lies between the last wall time shown before a
	// transition and the first one after it. Read it with the offset
	// before that transition, which is t's own offset when time.Date
	// stayed before the gap, else the offset before t's period.
	start, end := t.ZoneBounds()
	before := off
	switch {
	case !end.IsZero() && wall >= end.Unix()+int64(off):
		// t is before the gap; its offset is the one before it.
	case !start.IsZero():
		_, before = start.Add(-time.Nanosecond).Zone()
	}
	return time.Unix(wall-int64(before), int64(w.Nanosecond())).In(loc)
}

// maxRepeat is longer than any span of local time a zone change repeats
// (one hour for DST in most zones, two at most on record).
const maxRepeat = 3 * time.Hour
