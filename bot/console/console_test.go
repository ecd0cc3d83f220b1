package console

import (
	"bytes"
	"context"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/chart"
	"github.com/policyteam/alertbot/watchers"
)

func TestCommand(t *testing.T) {
	for line, want := range map[string]string{
		"/alerts upcoming":      "upcoming",
		"  alerts  help mute  ": "help mute",
		"upcoming #budget":      "upcoming #budget",
		"/alerts":               "",
		"/alertsx":              "/alertsx",
	} {
		got, ok := Command(line)
		if !ok || got != want {
			t.Errorf("Command(%q) = %q, %v; want %q", line, got, ok, want)
		}
	}
	for _, line := range []string{"", "   ", "# a comment"} {
		if _, ok := Command(line); ok {
			t.Errorf("Command(%q) is a command", line)
		}
	}
}

func TestSendPrintsReadableAlert(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	var out bytes.Buffer
	c := New(&out, tokyo)
	due := time.Date(2025, 7, 20, 0, 0, 0, 0, tokyo)
	msg := bot.MessageFor(watchers.Alert{
		Kind: watchers.KindReminder, Watcher: "deadlines", Event: "upper-house-election-2025",
		Title: "House of Councillors election", Text: "Due in 7 days: Sun 20 July 2025.",
		Tags: []string{"japan", "election"}, Link: "https://example.org/in12466",
		Fields: []watchers.Field{{Name: "Due", Time: due}},
	})
	msg.Buttons = append(msg.Buttons, bot.AgainButtons(7)...)
	id, err := c.Send(context.Background(), bot.Outgoing{DeliveryID: 7, Channel: "local", Message: msg})
	if err != nil || id != "console-7" {
		t.Fatalf("Send = %q, %v", id, err)
	}
	for _, want := range []string{"[reminder] House of Councillors election", "Due in 7 days", "Due: Sun 20 Jul 2025 00:00 JST",
		"tags: #japan #election", "source: https://example.org/in12466", "deadlines · reminder",
		"[Mute 1 day] /alerts mute event:upper-house-election-2025 1d",
		"[Remind again in 1 hour] /alerts again 7 1h", "[Remind again tomorrow] /alerts again 7 tomorrow"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if n := strings.Count(out.String(), "/alerts again 7 1h"); n != 1 {
		t.Errorf("the Remind again button is listed %d times, want once:\n%s", n, out.String())
	}
}

// echo answers every command with its text.
type echo struct{ got []bot.Request }

func (e *echo) Handle(_ context.Context, r bot.Request) bot.Reply {
	e.got = append(e.got, r)
	return bot.Reply{Text: "echo: " + r.Text, Public: strings.HasPrefix(r.Text, "subscribe")}
}
func (e *echo) Slow(bot.Request) bool                             { return false }
func (e *echo) Complete(context.Context, string, string) []string { return nil }

func TestServeAnswersUntilInputEnds(t *testing.T) {
	var out bytes.Buffer
	c := New(&out, time.UTC)
	h := &echo{}
	in := strings.NewReader("/alerts upcoming\n\n# note\nsubscribe all\n")
	if err := c.Serve(context.Background(), in, h); err != nil {
		t.Fatal(err)
	}
	if len(h.got) != 2 || h.got[0].User != Address || h.got[0].Channel != Address || h.got[0].Platform != "console" {
		t.Fatalf("requests = %+v", h.got)
	}
	if want := "echo: upcoming\n[to channel] echo: subscribe all\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}

func TestServeStopsWithContext(t *testing.T) {
	c := New(io.Discard, time.UTC)
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx, pr, &echo{}) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not stop with its context")
	}
}

// picture answers "timeline" with a reply that carries a real PNG.
type picture struct{ data []byte }

func newPicture(t *testing.T) *picture {
	t.Helper()
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 5, 20, 10, 0, 0, 0, tokyo)
	d, err := watchers.ParseDue("2025-07", tokyo)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tl := chart.Layout([]chart.Item{{ID: "upper-house-election-2025", Title: "Upper House election", Due: d, Status: watchers.Tentative}}, now, tokyo)
	if err := chart.WritePNG(&buf, tl); err != nil {
		t.Fatal(err)
	}
	return &picture{data: buf.Bytes()}
}

func (p *picture) Handle(_ context.Context, r bot.Request) bot.Reply {
	return bot.Reply{Text: "Timeline of the open events within 365d: 1 event.", Public: true,
		Attachment: &bot.Attachment{Name: "alertbot-timeline.png", ContentType: "image/png", Data: p.data, Alt: "Upper House election, July 2025"}}
}
func (p *picture) Slow(bot.Request) bool                             { return false }
func (p *picture) Complete(context.Context, string, string) []string { return nil }

// TestServeWritesPicture: a reply's picture is written to a file whose
// absolute path is printed after the text; the file is the PNG, and
// asking again replaces it rather than piling up files.
func TestServeWritesPicture(t *testing.T) {
	p := newPicture(t)
	dir := t.TempDir()
	var out bytes.Buffer
	c := New(&out, time.UTC)
	c.SetFileDir(dir)
	if err := c.Serve(context.Background(), strings.NewReader("/alerts timeline\ntimeline\n"), p); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "alertbot-timeline.png")
	line := "[to channel] Timeline of the open events within 365d: 1 event.\nPicture: " + want + "\n"
	if out.String() != line+line {
		t.Errorf("output %q, want twice %q", out.String(), line)
	}
	checkPNG(t, want, p.data)
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in the directory, want 1", len(entries))
	}
}

// TestSaveFileWorkingDirectory: by default the picture goes to the
// working directory and its absolute path is returned; a directory that
// does not exist is an error, not a panic.
func TestSaveFileWorkingDirectory(t *testing.T) {
	p := newPicture(t)
	dir := t.TempDir()
	t.Chdir(dir)
	got := ReplyWithFile(p.Handle(context.Background(), bot.Request{}), "")
	want := filepath.Join(dir, "alertbot-timeline.png")
	if real, err := filepath.EvalSymlinks(dir); err == nil && real != dir {
		want = filepath.Join(real, "alertbot-timeline.png")
	}
	if !strings.HasSuffix(got, "\nPicture: "+want) || !filepath.IsAbs(want) {
		t.Errorf("reply %q, want it to end with the path %s", got, want)
	}
	checkPNG(t, want, p.data)
	got = ReplyWithFile(p.Handle(context.Background(), bot.Request{}), filepath.Join(dir, "missing"))
	if !strings.Contains(got, "The picture could not be written:") {
		t.Errorf("reply %q", got)
	}
	if _, err := SaveFile(dir, &bot.Attachment{Name: "../..", Data: p.data}); err == nil {
		t.Error("a name that is no file name was accepted")
	}
}

func checkPNG(t *testing.T, path string, want []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", path, err)
	}
	if !bytes.Equal(data, want) || img.Bounds().Dx() != 960*chart.PNGScale {
		t.Errorf("%s: %d bytes, %v; want the %d bytes of the reply", path, len(data), img.Bounds(), len(want))
	}
}
