package discord

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot/discord/discordtest"
)

// TestCheckConnection: the start-up check names the bot user and how
// interactions arrive, and says plainly when the token is refused.
func TestCheckConnection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e := newEnv(t, func(c *Config) { c.Gateway = true })
	got, err := e.adapter.CheckConnection(ctx)
	if err != nil || !strings.Contains(got, "alertbot (user "+discordtest.BotUserID+")") || !strings.Contains(got, "gateway and HTTP") {
		t.Errorf("CheckConnection = %q, %v", got, err)
	}
	e.fake.FailNext(401)
	if _, err := e.adapter.CheckConnection(ctx); err == nil || !strings.Contains(err.Error(), "DISCORD_BOT_TOKEN was refused (401 Unauthorized)") {
		t.Errorf("refused token: %v", err)
	}
	e.fake.FailNext(503)
	if _, err := e.adapter.CheckConnection(ctx); err == nil || !strings.Contains(err.Error(), "could not check DISCORD_BOT_TOKEN") || strings.Contains(err.Error(), "refused") {
		t.Errorf("Discord down: %v", err)
	}
	http := newEnv(t, nil)
	if got, err := http.adapter.CheckConnection(ctx); err != nil || !strings.HasSuffix(got, "interactions over HTTP") {
		t.Errorf("HTTP only: %q, %v", got, err)
	}
}
