package slack

import (
	"bytes"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/chart"
	"github.com/policyteam/alertbot/bot/slack/slacktest"
	"github.com/policyteam/alertbot/watchers"
)

// timelineReply is a reply as /alerts timeline gives it: a caption and a
// real picture of one tentative window and one day.
func timelineReply(t *testing.T) bot.Reply {
	t.Helper()
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	var items []chart.Item
	for _, e := range []struct{ id, due string }{{"upper-house-election-2025", "2025-07"}, {"jp-fy2027-budget", "2027-03-31"}} {
		d, err := watchers.ParseDue(e.due, tokyo)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, chart.Item{ID: e.id, Title: e.id, Due: d, Status: watchers.DefaultStatus(d.Precision), Tags: []string{"budget"}})
	}
	var buf bytes.Buffer
	if err := chart.WritePNG(&buf, chart.Layout(items, testNow, tokyo)); err != nil {
		t.Fatal(err)
	}
	return bot.Reply{Text: "Timeline of the open events #budget within 365d: 2 events <& more>", Public: true,
		Attachment: &bot.Attachment{Name: "alertbot-timeline-budget.png", ContentType: "image/png", Data: buf.Bytes(),
			Alt: "Timeline of the open events #budget: upper house election, FY2027 budget."}}
}

// TestTimelineUploadedToChannel: a signed /alerts timeline is answered at
// once, and the picture goes through Slack's three steps — the upload URL
// for its name and length, the same PNG bytes to that URL, and the
// completion that shares it in the command's channel with the caption.
func TestTimelineUploadedToChannel(t *testing.T) {
	want := timelineReply(t)
	h := &fakeHandler{reply: func(bot.Request) bot.Reply { return want }}
	e := newHTTPEnv(t, h)
	e.fake.Token = testToken
	resp, body := e.post(t, "/slack/commands", commandForm("U0MEMBER1", "C0123ABCD", "timeline #budget", e.fake.ResponseURL("r1")))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if r := decodeReply(t, body); r.ResponseType != "ephemeral" || !strings.Contains(r.Text, "Posting alertbot-timeline-budget.png in this channel") {
		t.Errorf("ack %s", body)
	}
	ups, err := e.fake.WaitShared(testCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(ups) != 1 {
		t.Fatalf("%d uploads, want 1", len(ups))
	}
	u := ups[0]
	at := want.Attachment
	if u.Token != testToken || u.Filename != at.Name || u.Length != len(at.Data) || u.AltText != at.Alt {
		t.Errorf("getUploadURLExternal: token %q file %q length %d alt %q", u.Token, u.Filename, u.Length, u.AltText)
	}
	if !bytes.Equal(u.Data, at.Data) || u.UploadAuth != "Bearer "+testToken {
		t.Errorf("upload: %d bytes (want %d), auth %q", len(u.Data), len(at.Data), u.UploadAuth)
	}
	img, err := png.Decode(bytes.NewReader(u.Data))
	if err != nil {
		t.Fatalf("uploaded bytes are not a PNG: %v", err)
	}
	wantImg, _ := png.Decode(bytes.NewReader(at.Data))
	if img.Bounds() != wantImg.Bounds() || img.Bounds().Dx() != 960*chart.PNGScale {
		t.Errorf("uploaded picture %v, want %v", img.Bounds(), wantImg.Bounds())
	}
	if !u.Completed || u.Channel != "C0123ABCD" || u.Title != "alertbot-timeline-budget" ||
		u.InitialComment != "Timeline of the open events #budget within 365d: 2 events &lt;&amp; more&gt;" || u.ThreadTS != "" {
		t.Errorf("completeUploadExternal: %+v", u)
	}
	e.a.bg.Drain(e.a.log, shutdownWait)
	if rs := e.fake.Responses(); len(rs) != 0 {
		t.Errorf("response_url got %d posts after a good upload: %+v", len(rs), rs)
	}
	if len(e.fake.Posts()) != 0 {
		t.Error("the picture was also posted as a message")
	}
}

// TestTimelineUploadErrors: when Slack refuses the file, the caller is
// told privately what to do, followed by the reply's text.
func TestTimelineUploadErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		fail func(*slacktest.Server)
		want string
	}{
		{"bot not in private channel", func(f *slacktest.Server) { f.NotMember("C0PRIVATE", true) },
			"the bot is not a member of this channel. Invite it with /invite @alertbot"},
		{"archived", func(f *slacktest.Server) { f.FailChannel("C0PRIVATE", slacktest.SlackError("is_archived")) },
			"this channel is archived"},
		{"no files:write", func(f *slacktest.Server) { f.FailFiles(slacktest.MissingScope("files:write")) },
			"the Slack app lacks the files:write scope"},
		{"server error", func(f *slacktest.Server) { f.FailFiles(slacktest.InternalError) },
			"the upload to Slack failed. Try again later."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep := timelineReply(t)
			e := newHTTPEnv(t, &fakeHandler{reply: func(bot.Request) bot.Reply { return rep }})
			tt.fail(e.fake)
			resp, body := e.post(t, "/slack/commands", commandForm("U0MEMBER1", "C0PRIVATE", "timeline", e.fake.ResponseURL("r1")))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			rs, err := e.fake.WaitResponses(testCtx(t), 1)
			if err != nil {
				t.Fatal(err)
			}
			r := rs[0]
			if r.ResponseType != "ephemeral" || !strings.Contains(r.Text, tt.want) ||
				!strings.HasSuffix(r.Text, "\n\nTimeline of the open events #budget within 365d: 2 events &lt;&amp; more&gt;") {
				t.Errorf("response %q %q, want ephemeral with %q and the caption", r.ResponseType, r.Text, tt.want)
			}
			for _, u := range e.fake.Uploads() {
				if u.Completed {
					t.Errorf("file shared despite the failure: %+v", u)
				}
			}
			// Only a refusal for want of membership makes the bot try to join.
			wantJoins := 0
			if strings.Contains(tt.want, "not a member") {
				wantJoins = 1
			}
			if got := e.fake.Joins(); len(got) != wantJoins {
				t.Errorf("conversations.join calls %v, want %d", got, wantJoins)
			}
		})
	}
}

// TestTimelineJoinsPublicChannel: sharing a file needs membership even
// where chat:write.public posts without it; in a public channel the bot
// joins and shares, and the caller hears nothing more.
func TestTimelineJoinsPublicChannel(t *testing.T) {
	rep := timelineReply(t)
	e := newHTTPEnv(t, &fakeHandler{reply: func(bot.Request) bot.Reply { return rep }})
	e.fake.NotMember("C0PUBLIC", false)
	resp, body := e.post(t, "/slack/commands", commandForm("U0MEMBER1", "C0PUBLIC", "timeline", e.fake.ResponseURL("r1")))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	ups, err := e.fake.WaitShared(testCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(ups) != 1 || ups[0].Channel != "C0PUBLIC" || !bytes.Equal(ups[0].Data, rep.Attachment.Data) {
		t.Errorf("uploads %d, channel %q", len(ups), ups[0].Channel)
	}
	if got := e.fake.Joins(); len(got) != 1 || got[0] != "C0PUBLIC" {
		t.Errorf("joins %v, want [C0PUBLIC]", got)
	}
	e.a.bg.Drain(e.a.log, shutdownWait)
	if rs := e.fake.Responses(); len(rs) != 0 {
		t.Errorf("response_url got %+v after the file was shared", rs)
	}
}
