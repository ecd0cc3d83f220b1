package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/chart"
	"github.com/policyteam/alertbot/watchers"
)

// timelineReply is a reply as /alerts timeline gives it, with a real
// picture of one tentative window and one day.
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
	return bot.Reply{Text: "Timeline of the open events #budget within 365d: 2 events *now*", Public: true,
		Attachment: &bot.Attachment{Name: "alertbot-timeline-budget.png", ContentType: "image/png", Data: buf.Bytes(),
			Alt: "Timeline of the open events #budget: upper house election, FY2027 budget."}}
}

// timelineEnv is an env whose handler answers every command with rep.
func timelineEnv(t *testing.T, rep bot.Reply) *env {
	t.Helper()
	e := newEnv(t, nil)
	mux := http.NewServeMux()
	e.adapter.Routes(mux, &replyHandler{fakeHandler: e.handler, reply: rep})
	e.http = httptest.NewServer(mux)
	t.Cleanup(e.http.Close)
	return e
}

// TestTimelineAttachment: /alerts timeline over the HTTP endpoint is
// deferred (public, as the reply is), then the original response is
// edited with a multipart body: payload_json naming the attachment with
// its description, and files[0] holding the same PNG.
func TestTimelineAttachment(t *testing.T) {
	want := timelineReply(t)
	e := timelineEnv(t, want)
	_, b := e.signedPost(t, commandBody(t, 2, "alerts", "timeline", strOpt("tag", "#budget")))
	r := decodeResponse(t, b)
	if r.Type != 5 || r.Data == nil || r.Data.Flags != 0 {
		t.Fatalf("response %s, want a public deferred answer (type 5, no flags)", b)
	}
	if got := e.handler.requests(); len(got) != 1 || strings.Join(got[0].Args, " ") != "timeline #budget" {
		t.Fatalf("requests %+v", got)
	}
	if err := e.fake.Wait(ctxTimeout(t), func() bool { return len(e.fake.Followups()) > 0 }); err != nil {
		t.Fatal(err)
	}
	f := e.fake.Followups()[0]
	if f.Method != http.MethodPatch || f.AppID != "1000" || f.Token != "itoken-timeline" || f.MessageID != "@original" {
		t.Errorf("follow-up %s %s/%s/%s, want PATCH 1000/itoken-timeline/@original", f.Method, f.AppID, f.Token, f.MessageID)
	}
	if len(f.Files) != 1 {
		t.Fatalf("%d files, want 1", len(f.Files))
	}
	file := f.Files[0]
	at := want.Attachment
	if file.Field != "files[0]" || file.Filename != at.Name || file.ContentType != "image/png" || !bytes.Equal(file.Data, at.Data) {
		t.Errorf("file part %s %q %q, %d bytes (want %d)", file.Field, file.Filename, file.ContentType, len(file.Data), len(at.Data))
	}
	img, err := png.Decode(bytes.NewReader(file.Data))
	if err != nil {
		t.Fatalf("files[0] is not a PNG: %v", err)
	}
	if img.Bounds().Dx() != 960*chart.PNGScale {
		t.Errorf("picture %v", img.Bounds())
	}
	var payload struct {
		Content     string `json:"content"`
		Attachments []struct {
			ID          int    `json:"id"`
			Filename    string `json:"filename"`
			Description string `json:"description"`
		} `json:"attachments"`
		AllowedMentions struct {
			Parse []string `json:"parse"`
		} `json:"allowed_mentions"`
	}
	if err := json.Unmarshal(f.Raw, &payload); err != nil {
		t.Fatalf("payload_json %s: %v", f.Raw, err)
	}
	if payload.Content != `Timeline of the open events #budget within 365d: 2 events \*now\*` || f.Content != payload.Content {
		t.Errorf("content %q", payload.Content)
	}
	wantAtt := []struct {
		ID          int    `json:"id"`
		Filename    string `json:"filename"`
		Description string `json:"description"`
	}{{0, at.Name, at.Alt}}
	if diff := cmp.Diff(wantAtt, payload.Attachments); diff != "" {
		t.Errorf("attachments (-want +got):\n%s", diff)
	}
	if payload.AllowedMentions.Parse == nil || len(payload.AllowedMentions.Parse) != 0 {
		t.Errorf("allowed_mentions %s", f.Raw)
	}
}

// TestTimelineAttachmentRefused: when Discord refuses the file, the
// caller still gets the reply's text, saying the picture is missing.
func TestTimelineAttachmentRefused(t *testing.T) {
	e := timelineEnv(t, timelineReply(t))
	// The first request the fake gets is the edit with the file.
	e.fake.FailNext(http.StatusForbidden)
	_, b := e.signedPost(t, commandBody(t, 2, "alerts", "timeline"))
	if r := decodeResponse(t, b); r.Type != 5 {
		t.Fatalf("response %s", b)
	}
	if err := e.fake.Wait(ctxTimeout(t), func() bool { return len(e.fake.Followups()) > 0 }); err != nil {
		t.Fatal(err)
	}
	f := e.fake.Followups()[0]
	if len(f.Files) != 0 || f.MessageID != "@original" ||
		!strings.HasPrefix(f.Content, "I could not attach the picture: Discord did not take the upload; try again later.") ||
		!strings.HasSuffix(f.Content, `2 events \*now\*`) {
		t.Errorf("fallback follow-up %s %s with %d files: %q", f.Method, f.MessageID, len(f.Files), f.Content)
	}
}

// TestTimelineAttachmentGateway: over the gateway the same answer goes
// through the callback endpoint (deferred, public) and the multipart
// edit of the original response.
func TestTimelineAttachmentGateway(t *testing.T) {
	want := timelineReply(t)
	e := newEnv(t, func(c *Config) {
		c.Gateway = true
		c.PublicKey = ""
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.adapter.Run(runCtx, &replyHandler{fakeHandler: e.handler, reply: want}) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	if err := e.fake.Wait(ctx, func() bool { return e.fake.Ready() == 1 }); err != nil {
		t.Fatalf("gateway never became ready: %v", err)
	}
	in := map[string]any{
		"id": "3001", "application_id": "1000", "type": 2, "token": "gw-timeline",
		"guild_id": "300", "channel_id": "400", "version": 1,
		"member": map[string]any{"user": map[string]any{"id": "500"}},
		"data":   map[string]any{"id": "9", "name": "alerts", "type": 1, "options": []opt{{Name: "timeline", Type: 1}}},
	}
	if n, err := e.fake.Dispatch("INTERACTION_CREATE", in); err != nil || n != 1 {
		t.Fatalf("dispatch reached %d clients: %v", n, err)
	}
	if err := e.fake.Wait(ctx, func() bool { return len(e.fake.Followups()) == 1 }); err != nil {
		t.Fatalf("no follow-up: %v", err)
	}
	cbs := e.fake.Callbacks()
	if len(cbs) != 1 || cbs[0].Response.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource ||
		cbs[0].Response.Data == nil || cbs[0].Response.Data.Flags != 0 {
		t.Fatalf("callbacks %+v, want one public deferred answer", cbs)
	}
	f := e.fake.Followups()[0]
	if f.Token != "gw-timeline" || f.MessageID != "@original" || len(f.Files) != 1 || !bytes.Equal(f.Files[0].Data, want.Attachment.Data) {
		t.Errorf("follow-up %s %s with %d files", f.Token, f.MessageID, len(f.Files))
	}
}
