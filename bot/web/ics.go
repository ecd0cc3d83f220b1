package web

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	ics "github.com/arran4/golang-ical"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/chart"
	"github.com/policyteam/alertbot/watchers"
)

// UIDDomain ends every event's UID, "<event id>@alertbot": an event keeps
// its UID through every change, so calendar apps update it in place.
const UIDDomain = "alertbot"

// refreshInterval is how often calendar apps are asked to poll; a poll
// that finds nothing new costs a 304.
const refreshInterval = "PT1H"

func (s *Server) calendarFeed(w http.ResponseWriter, r *http.Request) {
	tag := r.URL.Query().Get("tag")
	if utf8.RuneCountInString(tag) > 64 || strings.IndexFunc(tag, unicode.IsControl) >= 0 || !utf8.ValidString(tag) {
		http.Error(w, "Bad tag.", http.StatusBadRequest)
		return
	}
	now, loc := s.o.Now(), s.o.Location()
	evs, err := s.o.Events.Events(r.Context(), bot.EventFilter{Tag: tag})
	if err != nil {
		s.internalError(w, "calendar events", err)
		return
	}
	name := "alertbot events"
	if tag != "" {
		name += " #" + tag
	}
	body := []byte(buildCalendar(evs, now, loc, name, s.log.Warn))
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	// no-cache: keep it, but ask (If-None-Match) before using it again.
	if s.o.Public {
		h.Set("Cache-Control", "private, no-cache")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "text/calendar; charset=utf-8")
	h.Set("Content-Disposition", `inline; filename="alertbot.ics"`)
	_, _ = w.Write(body)
}

// etagMatch applies If-None-Match (RFC 9110 §13.1.2): "*" or a list of
// tags, compared weakly.
func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// buildCalendar writes events as a VCALENDAR as of now (DESIGN §11). The
// output depends only on the events and their state at now — DTSTAMP is
// the last change, not the time of the request — so an unchanged calendar
// has an unchanged ETag.
func buildCalendar(evs []bot.EventRecord, now time.Time, def *time.Location, name string, warn func(string, ...any)) string {
	cal := ics.NewCalendar()
	cal.SetProductId("-//policyteam//alertbot//EN")
	cal.SetMethod(ics.MethodPublish)
	cal.SetCalscale("GREGORIAN")
	cal.SetName(name)
	cal.SetXWRCalName(name)
	cal.SetXWRTimezone(def.String())
	cal.SetRefreshInterval(refreshInterval) // golang-ical adds VALUE=DURATION
	cal.SetXPublishedTTL(refreshInterval)
	sort.Slice(evs, func(i, j int) bool { return evs[i].ID < evs[j].ID })
	for i := range evs {
		rec := &evs[i]
		if err := bot.Materialize(rec, now, def); err != nil {
			warn("web: event left out of the calendar", "event", rec.ID, "err", err)
			continue
		}
		addEvent(cal, rec, now)
	}
	// RFC 5545 lines end in CRLF; golang-ical writes LF unless told.
	return cal.Serialize(ics.WithNewLine("\r\n"))
}

func addEvent(cal *ics.Calendar, rec *bot.EventRecord, now time.Time) {
	cur := rec.Current
	ev := cal.AddEvent(rec.ID + "@" + UIDDomain)
	applied := 0
	stamp := rec.CreatedAt
	for _, c := range rec.Changes {
		if c.At.After(now) {
			break
		}
		applied++
		stamp = later(stamp, c.At)
	}
	stamp = later(stamp, rec.UpdatedAt)
	if stamp.IsZero() {
		stamp = time.Unix(0, 0)
	}
	ev.SetDtStampTime(stamp)
	ev.SetModifiedAt(stamp)
	if !rec.CreatedAt.IsZero() {
		ev.SetCreatedTime(rec.CreatedAt)
	}
	// Every change of the due date, status, title or source is a dated
	// change of the event, so their count only grows: SEQUENCE.
	ev.SetSequence(applied)
	ev.SetSummary(clean(Summary(cur)))
	ev.SetStatus(icsStatus(cur.Status))
	if cur.Due.Precision == watchers.Instant {
		ev.SetStartAt(cur.Due.Start) // in UTC: no VTIMEZONE needed
	} else {
		// The window's local dates in the event's zone, DTEND exclusive.
		ev.SetAllDayStartAt(cur.Due.Start)
		ev.SetAllDayEndAt(cur.Due.End)
	}
	// Deadlines and windows do not make anyone busy.
	ev.SetProperty(ics.ComponentPropertyTransp, "TRANSPARENT")
	ev.SetDescription(clean(description(rec)))
	if src := cur.Source; httpURL(src) && strings.IndexFunc(src, unicode.IsSpace) < 0 {
		ev.SetURL(src)
	}
	for _, t := range rec.Tags {
		ev.AddCategory(clean(t))
	}
}

// Summary is an event's calendar title: for a window of a month or more
// the precision is said, since an all-day span over a whole month or year
// looks like an event lasting that long: "Upper House election (expected
// July 2025)".
func Summary(st watchers.State) string {
	s := st.Title
	if st.Due.Coarse() {
		s += " (expected " + expected(st.Due) + ")"
	}
	if st.Status == watchers.Postponed {
		s += " [postponed]"
	}
	return s
}

func expected(d watchers.Due) string {
	switch d.Precision {
	case watchers.Month:
		return d.Start.Format("January 2006")
	case watchers.Quarter, watchers.Half, watchers.Year:
		return chart.ShortDue(d)
	}
	// Fiscal years: "JFY2025, April 2025 – March 2026".
	return d.Raw + ", " + d.Start.Format("January 2006") + " – " + d.End.AddDate(0, 0, -1).Format("January 2006")
}

func icsStatus(st watchers.Status) ics.ObjectStatus {
	switch st {
	case watchers.Scheduled, watchers.Happened:
		return ics.ObjectStatusConfirmed
	case watchers.Cancelled:
		return ics.ObjectStatusCancelled
	}
	return ics.ObjectStatusTentative // tentative, and postponed: its date no longer holds
}

func description(rec *bot.EventRecord) string {
	cur := rec.Current
	var b strings.Builder
	b.WriteString("Due: " + cur.Due.Describe())
	if cur.Due.Coarse() {
		b.WriteString(" — exact date not set")
	}
	b.WriteString("\nStatus: " + string(cur.Status))
	if cur.Note != "" {
		b.WriteString("\nNote: " + cur.Note)
	}
	if len(rec.Tags) > 0 {
		b.WriteString("\nTags: #" + strings.Join(rec.Tags, " #"))
	}
	if cur.Source != "" {
		b.WriteString("\nSource: " + cur.Source)
	}
	b.WriteString("\nalertbot event " + rec.ID)
	return b.String()
}

// clean drops control characters but newlines from text that came from
// outside: golang-ical escapes \n, but a bare CR would end the line for
// some readers and let a title inject properties.
func clean(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		if r == '\n' || !unicode.IsControl(r) {
			return r
		}
		return -1
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
