package web

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/chart"
	"github.com/policyteam/alertbot/watchers"
)

//go:embed templates
var templateFS embed.FS

// Page limits: the status page stays one quick read even with 100,000
// events in the database.
const (
	maxOpenQueried = 1000 // open events read for the page
	maxMarks       = 120  // events drawn on the timeline and listed
	maxEventAlerts = 100  // alerts listed on an event's page
)

// pageTemplates are the parsed pages and their style sheet, whose hash
// the Content-Security-Policy names so that it is the only style allowed.
type pageTemplates struct {
	status, event *template.Template
	style         template.CSS
	styleHash     string
}

func parsePages() (*pageTemplates, error) {
	css, err := templateFS.ReadFile("templates/style.css")
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.Write(css)
	// The tag colours come from chart.Palette, which the picture of the
	// timeline (/alerts timeline) uses too: one list, not two.
	for i, c := range chart.Palette {
		fmt.Fprintf(&b, ".c%d{fill:%s;stroke:%s}\n", i, c, c)
	}
	p := &pageTemplates{style: template.CSS(b.String())}
	sum := sha256.Sum256([]byte(b.String()))
	p.styleHash = "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
	funcs := template.FuncMap{"f": func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }}
	if p.status, err = template.New("status").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/status.html"); err != nil {
		return nil, err
	}
	if p.event, err = template.New("event").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/event.html"); err != nil {
		return nil, err
	}
	return p, nil
}

// frame is what every page shows around its content.
type frame struct {
	PageTitle   string
	Zone        string // "Asia/Tokyo (JST)"
	Generated   string
	HomeURL     string
	CalendarURL string
	Style       template.CSS
}

func (s *Server) frame(r *http.Request, title string, now time.Time, loc *time.Location) frame {
	a := accessOf(r)
	return frame{
		PageTitle: title, Zone: zoneName(loc, now), Generated: fmtTime(now, loc),
		HomeURL: link(a, "/", nil), CalendarURL: link(a, "/calendar.ics", nil), Style: s.pages.style,
	}
}

// zoneName names a zone with its abbreviation now, "Asia/Tokyo (JST)".
func zoneName(loc *time.Location, now time.Time) string {
	abbr, _ := now.In(loc).Zone()
	if abbr == loc.String() {
		return abbr
	}
	return loc.String() + " (" + abbr + ")"
}

func fmtTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(loc).Format("Mon 2 Jan 2006 15:04 MST")
}

type statusView struct {
	frame
	Timeline     timelineView
	Hidden       int
	Open         []openRow
	Watchers     []watcherRow
	MaxRows      int
	Deliveries   []deliveryRow
	Channels     []channelRow
	Personal     int // users with personal reminders by direct message
	CalendarAbs  string
	TokenNeeded  bool
	TagCalendars []tagLink
}

// timelineView is the laid-out timeline with what the SVG needs beyond
// geometry: links, and the scale as data attributes, which let a test
// check that a bar spans its window.
type timelineView struct {
	chart.Timeline
	Marks            []markView
	FromMS, ToMS     int64
	NowMS            int64
	FromText, ToText string
	NowDX, NowAnchor string
}

type markView struct {
	chart.Mark
	URL            string
	StartMS, EndMS int64
	MarkY, MarkH   float64
	PointY, R      float64
	LabelY         float64
}

type openRow struct {
	ID, URL, Title, Due, Status string
	Overdue                     bool
	Tags                        []string
}

type watcherRow struct {
	ID, Kind, Schedule, LastRun, NextRun, LastError, Health string
	Failures                                                int
}

type deliveryRow struct {
	Time, Channel, Kind, Title, EventURL, State, Error string
	Attempts                                           int
}

type channelRow struct {
	Channel string
	Subs    []string
	Mutes   []string
	Quiet   string // "22:00-07:00 Asia/Tokyo"; "" none
	Digest  string // "daily 08:00 Asia/Tokyo"; "" none
}

type tagLink struct{ Tag, URL string }

func (s *Server) statusPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now, loc := s.o.Now(), s.o.Location()
	a := accessOf(r)
	v := statusView{frame: s.frame(r, "alertbot status", now, loc), MaxRows: s.maxRows, TokenNeeded: s.o.Public}
	v.CalendarAbs = absURL(r, "/calendar.ics")

	open, err := s.openEvents(ctx, now, loc)
	if err != nil {
		s.internalError(w, "open events", err)
		return
	}
	if len(open) > maxMarks {
		v.Hidden, open = len(open)-maxMarks, open[:maxMarks]
	}
	items := make([]chart.Item, len(open))
	tags := map[string]bool{}
	for i, rec := range open {
		items[i] = chart.Item{ID: rec.ID, Title: rec.Current.Title, Due: rec.Current.Due, Status: rec.Current.Status, Tags: rec.Tags}
		v.Open = append(v.Open, openRow{
			ID: rec.ID, URL: link(a, eventPath(rec.ID), nil), Title: rec.Current.Title, Due: bot.DueText(rec.Current, now),
			Status: string(rec.Current.Status), Overdue: !rec.Current.Due.End.After(now), Tags: rec.Tags,
		})
		for _, t := range rec.Tags {
			tags[t] = true
		}
	}
	v.Timeline = s.timelineView(chart.Layout(items, now, loc), a, loc)
	for _, t := range slices.Sorted(maps.Keys(tags)) {
		v.TagCalendars = append(v.TagCalendars, tagLink{Tag: t, URL: link(a, "/calendar.ics", url.Values{"tag": {t}})})
	}

	if v.Watchers, err = s.watcherRows(ctx, loc); err != nil {
		s.internalError(w, "watchers", err)
		return
	}
	ds, err := s.o.Deliveries.RecentDeliveries(ctx, s.maxRows)
	if err != nil {
		s.internalError(w, "deliveries", err)
		return
	}
	for _, d := range ds {
		at := d.Created
		if d.State == bot.DeliverySent && !d.SentAt.IsZero() {
			at = d.SentAt
		}
		row := deliveryRow{Time: fmtTime(at, loc), Channel: shownChannel(d.Channel), Kind: string(d.Alert.Kind), Title: d.Alert.Title,
			State: d.State, Error: d.LastError, Attempts: d.Attempts}
		if d.Alert.Event != "" && watchers.IDPattern.MatchString(d.Alert.Event) {
			row.EventURL = link(a, eventPath(d.Alert.Event), nil)
		}
		v.Deliveries = append(v.Deliveries, row)
	}
	if v.Channels, v.Personal, err = s.channelRows(ctx, now, loc); err != nil {
		s.internalError(w, "channels", err)
		return
	}
	s.render(w, s.pages.status, v)
}

// openEvents returns the events still open (tentative, scheduled or
// postponed) as of now, by window start. The stored state is refreshed
// on the bot's ticks; the page works it out again so that it is exact to
// the second.
func (s *Server) openEvents(ctx context.Context, now time.Time, loc *time.Location) ([]bot.EventRecord, error) {
	evs, err := s.o.Events.Events(ctx, bot.EventFilter{Active: true, Limit: maxOpenQueried})
	if err != nil {
		return nil, err
	}
	out := evs[:0]
	for _, rec := range evs {
		if err := bot.Materialize(&rec, now, loc); err != nil {
			s.log.Warn("web: event not shown", "event", rec.ID, "err", err)
			continue
		}
		if st := rec.Current.Status; st.Active() || st == watchers.Postponed {
			out = append(out, rec)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Current.Due.Start.Before(out[j].Current.Due.Start) })
	return out, nil
}

func (s *Server) timelineView(tl chart.Timeline, a access, loc *time.Location) timelineView {
	v := timelineView{Timeline: tl, FromMS: tl.From.UnixMilli(), ToMS: tl.To.UnixMilli(), NowMS: tl.Now.UnixMilli(),
		FromText: tl.From.In(loc).Format("Jan 2006"), ToText: tl.To.In(loc).Format("Jan 2006"), NowDX: "4", NowAnchor: "start"}
	if tl.NowX > tl.Width-60 {
		v.NowDX, v.NowAnchor = "-4", "end"
	}
	for _, m := range tl.Marks {
		v.Marks = append(v.Marks, markView{Mark: m, URL: link(a, eventPath(m.Event), nil),
			StartMS: m.Start.UnixMilli(), EndMS: m.End.UnixMilli(),
			MarkY: m.Y + chart.MarkTop, MarkH: chart.MarkHeight, PointY: m.Y + chart.MarkTop + chart.MarkHeight/2, R: chart.PointRadius,
			LabelY: m.Y + chart.LabelBaseline})
	}
	return v
}

func (s *Server) watcherRows(ctx context.Context, loc *time.Location) ([]watcherRow, error) {
	ws, err := s.o.Watchers.Watchers(ctx)
	if err != nil {
		return nil, err
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].Spec.ID < ws[j].Spec.ID })
	out := make([]watcherRow, 0, len(ws))
	for _, w := range ws {
		row := watcherRow{ID: w.Spec.ID, Kind: w.Spec.Kind, Schedule: w.Spec.Schedule, LastRun: fmtTime(w.LastRun, loc),
			LastError: w.LastError, Failures: w.Failures, NextRun: "—"}
		switch {
		case w.Spec.Paused:
			row.Health = "paused"
		case w.Failures > 0:
			row.Health = "failing"
		case w.LastRun.IsZero():
			row.Health = "not run yet"
		default:
			row.Health = "ok"
		}
		if s.o.Runs != nil && !w.Spec.Paused {
			if next, ok := s.o.Runs.NextRun(w.Spec.ID); ok {
				row.NextRun = fmtTime(next, loc)
			}
		}
		out = append(out, row)
	}
	return out, nil
}

// shownChannel is a delivery's address as the page shows it: a direct
// message is "direct message", because whoever reads the page need not
// learn which people asked for personal reminders.
func shownChannel(ch string) string {
	if isDM(ch) {
		return "direct message"
	}
	return ch
}

// isDM reports whether the address is a direct message to a user.
func isDM(addr string) bool {
	_, ch, err := bot.SplitAddress(addr)
	if err != nil {
		return false
	}
	_, dm := bot.DMUser(ch)
	return dm
}

// channelRows lists the channels with their subscriptions, mutes and
// settings, and counts the people with personal reminders (direct
// messages are counted, not listed; see shownChannel).
func (s *Server) channelRows(ctx context.Context, now time.Time, loc *time.Location) ([]channelRow, int, error) {
	subs, err := s.o.Channels.Subscriptions(ctx)
	if err != nil {
		return nil, 0, err
	}
	mutes, err := s.o.Channels.Mutes(ctx, now)
	if err != nil {
		return nil, 0, err
	}
	people := map[string]bool{}
	subs = slices.DeleteFunc(subs, func(sub bot.Subscription) bool {
		dm := isDM(sub.Channel)
		if dm {
			people[sub.Channel] = true
		}
		return dm
	})
	mutes = slices.DeleteFunc(mutes, func(m bot.Mute) bool { return isDM(m.Channel) })
	rows := map[string]*channelRow{}
	row := func(ch string) *channelRow {
		if rows[ch] == nil {
			rows[ch] = &channelRow{Channel: ch}
		}
		return rows[ch]
	}
	for _, sub := range subs {
		r := row(sub.Channel)
		r.Subs = append(r.Subs, sub.Target)
	}
	for _, m := range mutes {
		r := row(m.Channel)
		r.Mutes = append(r.Mutes, fmt.Sprintf("%s until %s", m.Target, fmtTime(m.Until, loc)))
	}
	all, err := s.o.Channels.ChannelSettings(ctx)
	if err != nil {
		return nil, 0, err
	}
	for _, cs := range all {
		if isDM(cs.Channel) {
			continue
		}
		r := row(cs.Channel)
		zone := cmp.Or(cs.Zone, loc.String())
		if cs.Quiet != "" {
			r.Quiet = cs.Quiet + " " + zone
		}
		if cs.Digest != "" {
			r.Digest = cs.Digest + " " + zone
		}
	}
	out := make([]channelRow, 0, len(rows))
	for _, ch := range slices.Sorted(maps.Keys(rows)) {
		r := rows[ch]
		sort.Strings(r.Subs)
		out = append(out, *r)
	}
	return out, len(people), nil
}

type eventView struct {
	frame
	ID, Due, Status, EventZone, Note string
	Origin, UpdatedBy, UpdatedAt     string
	Tags                             []string
	Sources                          []sourceLink
	History                          []historyRow
	Alerts                           []alertRow
}

type sourceLink struct {
	URL  string
	Link bool // an http(s) address: shown as a link
}

type historyRow struct {
	At, What, By string
	Planned      bool
}

type alertRow struct {
	At, Kind, Title, Text string
	Skipped               bool
}

func (s *Server) eventPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	if !watchers.IDPattern.MatchString(id) {
		http.Error(w, "No such event.", http.StatusNotFound)
		return
	}
	rec, err := s.o.Events.Event(ctx, id)
	if errors.Is(err, bot.ErrNotFound) {
		http.Error(w, "No such event.", http.StatusNotFound)
		return
	}
	if err != nil {
		s.internalError(w, "event", err)
		return
	}
	now, def := s.o.Now(), s.o.Location()
	evLoc, err := rec.Location(def)
	if err != nil {
		s.internalError(w, "event zone", err)
		return
	}
	if err := bot.Materialize(&rec, now, def); err != nil {
		s.internalError(w, "event state", err)
		return
	}
	cur := rec.Current
	v := eventView{frame: s.frame(r, cur.Title, now, def), ID: rec.ID, Due: bot.DueText(cur, now), Status: string(cur.Status),
		EventZone: evLoc.String(), Note: cur.Note, Tags: rec.Tags, UpdatedBy: rec.UpdatedBy, UpdatedAt: fmtTime(rec.UpdatedAt, def)}
	switch {
	case rec.Origin == "config":
		v.Origin = "defined in the config file"
	case strings.HasPrefix(rec.Origin, "calendar:"):
		v.Origin = "imported by the " + strings.TrimPrefix(rec.Origin, "calendar:") + " watcher"
	default:
		v.Origin = "created in chat"
	}
	seen := map[string]bool{}
	addSource := func(u string) {
		if u == "" || seen[u] {
			return
		}
		seen[u] = true
		v.Sources = append(v.Sources, sourceLink{URL: u, Link: httpURL(u)})
	}
	addSource(rec.Source)
	for _, c := range rec.Changes {
		addSource(c.Source)
	}
	v.History = history(&rec, now, evLoc, def)
	alerts, err := s.o.Alerts.AlertsForEvent(ctx, rec.ID, maxEventAlerts)
	if err != nil {
		s.internalError(w, "event alerts", err)
		return
	}
	for _, al := range alerts {
		v.Alerts = append(v.Alerts, alertRow{At: fmtTime(al.Alert.At, def), Kind: string(al.Alert.Kind),
			Title: al.Alert.Title, Text: al.Alert.Text, Skipped: al.Skipped})
	}
	s.render(w, s.pages.event, v)
}

// history describes each change by what it changed, as /alerts event
// does: the state before and after it.
func history(rec *bot.EventRecord, now time.Time, evLoc, loc *time.Location) []historyRow {
	var out []historyRow
	for i, ch := range rec.Changes {
		what, ok := bot.DescribeChange(rec, i, evLoc)
		if !ok {
			continue
		}
		out = append(out, historyRow{At: fmtTime(ch.At, loc), What: what, By: ch.By, Planned: ch.At.After(now)})
	}
	return out
}

// render executes t into a buffer first, so that a failure half-way
// answers 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		s.internalError(w, "render", err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

func eventPath(id string) string { return "/events/" + url.PathEscape(id) }

// absURL is path on the host the request came to, for copying into a
// calendar app; behind a TLS proxy the forwarded scheme is used.
func absURL(r *http.Request, path string) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return (&url.URL{Scheme: scheme, Host: r.Host, Path: path}).String()
}

// httpURL reports whether s is an absolute http(s) address, the only
// kind shown as a link.
func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
