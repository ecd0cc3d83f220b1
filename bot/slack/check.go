package slack

import (
	"context"
	"errors"
	"fmt"

	"github.com/slack-go/slack"
)

// tokenRefused are the auth.test errors that mean the bot token itself is
// wrong, as opposed to Slack being unreachable.
// https://docs.slack.dev/reference/methods/auth.test#errors
var tokenRefused = map[string]bool{"invalid_auth": true, "not_authed": true, "account_inactive": true, "token_revoked": true,
	"token_expired": true, "not_allowed_token_type": true}

// CheckConnection asks auth.test whom the bot token belongs to, for the
// start-up line, and says how commands arrive. A refused token is named
// with what to fix, since every post would fail with it.
func (a *Adapter) CheckConnection(ctx context.Context) (string, error) {
	mode := "commands over HTTP"
	switch {
	case a.appToken != "":
		mode = "commands over Socket Mode"
	case a.secret == "":
		mode = "posting only, no commands (set SLACK_SIGNING_SECRET or SLACK_APP_TOKEN)"
	}
	r, err := a.api.AuthTestContext(ctx)
	var se slack.SlackErrorResponse
	switch {
	case errors.As(err, &se) && tokenRefused[se.Err]:
		return "", fmt.Errorf("slack: SLACK_BOT_TOKEN was refused by auth.test (%s): nothing can be posted until it is fixed", se.Err)
	case err != nil:
		return "", fmt.Errorf("slack: could not check SLACK_BOT_TOKEN with auth.test: %v", err)
	}
	return fmt.Sprintf("@%s in %s, %s", r.User, r.Team, mode), nil
}
