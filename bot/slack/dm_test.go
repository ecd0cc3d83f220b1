package slack

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/slack/slacktest"
)

// TestSendDirectMessage: a delivery to "dm:<user>" opens the user's IM
// once (conversations.open, users=<user>) and posts there; later sends
// reuse the IM without opening it again.
func TestSendDirectMessage(t *testing.T) {
	fake, a := newResolveFake(t)
	ctx := testCtx(t)
	for id := int64(1); id <= 2; id++ {
		ts, err := a.Send(ctx, bot.Outgoing{DeliveryID: id, Channel: "dm:U0MEMBER", Message: bot.Message{Title: "personal"}})
		if err != nil || ts == "" {
			t.Fatalf("send %d: %q, %v", id, ts, err)
		}
	}
	if diff := cmp.Diff([]string{"U0MEMBER"}, fake.Opens()); diff != "" {
		t.Errorf("conversations.open users (-want +got):\n%s", diff)
	}
	im := slacktest.IMChannel("U0MEMBER")
	posts := fake.Posts()
	if len(posts) != 2 || posts[0].Channel != im || posts[1].Channel != im {
		t.Fatalf("posts %+v, want two to %s", posts, im)
	}
	// A bad user id never reaches Slack.
	_, err := a.Send(ctx, bot.Outgoing{DeliveryID: 3, Channel: "dm:u0/../x", Message: bot.Message{Title: "t"}})
	if se := sendErr(t, err); se.Retry {
		t.Errorf("bad user id: %v, want permanent", err)
	}
	if n := len(fake.Opens()); n != 1 {
		t.Errorf("%d opens after a bad id, want 1", n)
	}
}

// TestSendDirectMessageOpenFails: without im:write the send fails for
// good and says which scope is missing; a 5xx of conversations.open is
// retried, and nothing was posted.
func TestSendDirectMessageOpenFails(t *testing.T) {
	fake, a := newResolveFake(t)
	ctx := testCtx(t)
	fake.FailOpen(slacktest.MissingScope("im:write"))
	_, err := a.Send(ctx, bot.Outgoing{DeliveryID: 1, Channel: "dm:U0MEMBER", Message: bot.Message{Title: "t"}})
	if se := sendErr(t, err); se.Retry || !strings.Contains(err.Error(), "im:write") {
		t.Errorf("missing scope: %v, want a permanent error naming im:write", err)
	}
	fake.FailOpen(slacktest.InternalError)
	_, err = a.Send(ctx, bot.Outgoing{DeliveryID: 1, Channel: "dm:U0MEMBER", Message: bot.Message{Title: "t"}})
	if se := sendErr(t, err); !se.Retry {
		t.Errorf("5xx: %v, want transient", err)
	}
	if n := len(fake.Attempts()); n != 0 {
		t.Errorf("%d posts tried without an IM", n)
	}
	if _, err := a.Send(ctx, bot.Outgoing{DeliveryID: 1, Channel: "dm:U0MEMBER", Message: bot.Message{Title: "t"}}); err != nil {
		t.Errorf("after the failures: %v", err)
	}
}

// TestResolveDirectMessage: a DM post whose answer was lost is found in
// the user's IM history, so it is not posted again.
func TestResolveDirectMessage(t *testing.T) {
	fake, a := newResolveFake(t)
	ctx := testCtx(t)
	since := time.Now()
	fake.FailNext(slacktest.ResponseLost)
	if _, err := a.Send(ctx, bot.Outgoing{DeliveryID: 9, Channel: "dm:U0MEMBER", Message: bot.Message{Title: "lost"}}); err == nil {
		t.Fatal("lost answer: no error")
	}
	posts := fake.Posts()
	if len(posts) != 1 {
		t.Fatalf("%d posts, want 1", len(posts))
	}
	got, err := a.Resolve(ctx, bot.Unconfirmed{Channel: "dm:U0MEMBER", Since: since, Now: time.Now(), Deliveries: []int64{9}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[int64]string{9: posts[0].TS}, got); diff != "" {
		t.Errorf("found (-want +got):\n%s", diff)
	}
	reqs := fake.HistoryRequests()
	if len(reqs) != 1 || reqs[0].Channel != slacktest.IMChannel("U0MEMBER") {
		t.Errorf("history requests %+v, want one of the IM", reqs)
	}
}
