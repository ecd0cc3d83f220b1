// Package console is the platform alertbot uses when no chat platform is
// configured: alerts are printed on stdout as readable text, and /alerts
// commands typed on stdin are answered there as the local admin.
package console

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/policyteam/alertbot/bot"
)

// Address is the console's channel and user address.
const Address = "console:local"

// Console prints alerts and answers commands on a terminal or pipe.
type Console struct {
	mu  sync.Mutex // one message at a time, so lines never interleave
	out io.Writer
	loc *time.Location
	dir string // where files of replies go; "" is the working directory
}

var _ bot.Platform = (*Console)(nil)

// New returns a console writing to out; times are shown in loc. Files
// that replies carry (the timeline picture) are written to the working
// directory, where a user at the terminal looks first; SetFileDir
// changes that.
func New(out io.Writer, loc *time.Location) *Console {
	return &Console{out: out, loc: loc}
}

// SetFileDir sets the directory Serve writes the files of replies to; ""
// is the working directory. Call it before Serve.
func (c *Console) SetFileDir(dir string) { c.dir = dir }

// Name returns "console".
func (c *Console) Name() string { return "console" }

// Send prints one alert.
func (c *Console) Send(ctx context.Context, out bot.Outgoing) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// PlainText lists the buttons as the commands they run, to type at
	// the prompt (Remind again, Mute 1 day).
	text := "\n" + bot.PlainText(out.Message, c.loc)
	if _, err := io.WriteString(c.out, text); err != nil {
		return "", bot.Transient(fmt.Errorf("console: write: %w", err), time.Second)
	}
	return "console-" + strconv.FormatInt(out.DeliveryID, 10), nil
}

// Println prints a line, serialised with alerts.
func (c *Console) Println(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintln(c.out, s)
}

// Serve reads commands from in, one per line ("/alerts upcoming",
// "alerts upcoming" or just "upcoming"), and prints each reply, until in
// ends or ctx is done. At the end of input it returns nil: the bot keeps
// running and only prints alerts.
func (c *Console) Serve(ctx context.Context, in io.Reader, h bot.Handler) error {
	lines := make(chan string)
	errc := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		errc <- sc.Err()
		close(lines)
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case line, ok := <-lines:
			if !ok {
				return <-errc
			}
			text, ok := Command(line)
			if !ok {
				continue
			}
			reply := h.Handle(ctx, bot.Request{Platform: "console", User: Address, Channel: Address, Text: text})
			c.Println(ReplyWithFile(reply, c.dir))
		}
	}
}

// Command extracts the text after /alerts from a typed line; blank lines
// and comments are not commands.
func Command(line string) (string, bool) {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return "", false
	}
	for _, p := range []string{"/alerts", "alerts"} {
		if rest, ok := strings.CutPrefix(line, p); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			return strings.TrimSpace(rest), true
		}
	}
	return line, true
}

// Reply formats a command reply for the terminal.
func Reply(r bot.Reply) string {
	if r.Public {
		return "[to channel] " + r.Text
	}
	return r.Text
}

// ReplyWithFile formats a reply as Reply does and, when it carries a
// file, writes the file into dir ("" for the working directory) and adds
// its absolute path, or why it could not be written.
func ReplyWithFile(r bot.Reply, dir string) string {
	text := Reply(r)
	if r.Attachment == nil {
		return text
	}
	path, err := SaveFile(dir, r.Attachment)
	if err != nil {
		return text + "\nThe picture could not be written: " + err.Error()
	}
	return text + "\nPicture: " + path
}

// SaveFile writes a reply's file into dir ("" for the working directory)
// under its name, replacing an earlier file of that name (the picture of
// the same command, drawn again), and returns its absolute path. The
// file appears whole or not at all: it is written under a temporary name
// and renamed.
func SaveFile(dir string, at *bot.Attachment) (string, error) {
	name := filepath.Base(filepath.Clean("/" + at.Name))
	if name == "/" || name == "." || strings.HasPrefix(name, ".") {
		return "", fmt.Errorf("bad file name %q", at.Name)
	}
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(filepath.Join(dir, name))
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(abs), ".alertbot-*.tmp")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	if _, err := tmp.Write(at.Data); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), abs); err != nil {
		return "", err
	}
	return abs, nil
}
