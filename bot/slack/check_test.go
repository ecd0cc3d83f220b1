package slack

import (
	"strings"
	"testing"

	"github.com/policyteam/alertbot/bot/slack/slacktest"
)

// TestCheckConnection: the start-up check names the bot and its team and
// how commands arrive, and says plainly when the token is refused.
func TestCheckConnection(t *testing.T) {
	fake := slacktest.NewServer()
	defer fake.Close()
	fake.Token = testToken
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{BotToken: testToken, SigningSecret: testSecret}, "@alertbot in slacktest, commands over HTTP"},
		{Config{BotToken: testToken, AppToken: "xapp-1-A1-x"}, "@alertbot in slacktest, commands over Socket Mode"},
		{Config{BotToken: testToken}, "@alertbot in slacktest, posting only, no commands (set SLACK_SIGNING_SECRET or SLACK_APP_TOKEN)"},
	} {
		tt.cfg.APIURL = fake.URL
		a, err := New(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := a.CheckConnection(testCtx(t)); err != nil || got != tt.want {
			t.Errorf("CheckConnection = %q, %v; want %q", got, err, tt.want)
		}
	}
	a, err := New(Config{BotToken: "xoxb-wrong", SigningSecret: testSecret, APIURL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.CheckConnection(testCtx(t))
	if err == nil || !strings.Contains(err.Error(), "SLACK_BOT_TOKEN was refused by auth.test (invalid_auth)") || strings.Contains(err.Error(), "xoxb-wrong") {
		t.Errorf("wrong token: %v", err)
	}
	fake.Close()
	if _, err := a.CheckConnection(testCtx(t)); err == nil || !strings.Contains(err.Error(), "could not check SLACK_BOT_TOKEN") {
		t.Errorf("Slack unreachable: %v", err)
	}
}
