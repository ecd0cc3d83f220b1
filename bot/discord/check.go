package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/bwmarrin/discordgo"
)

// CheckConnection asks Discord whom the bot token belongs to (GET
// /users/@me), for the start-up line, and says how interactions arrive. A
// refused token is named with what to fix.
func (a *Adapter) CheckConnection(ctx context.Context) (string, error) {
	mode := "interactions over the gateway"
	switch {
	case a.gateway && a.pub != nil:
		mode = "interactions over the gateway and HTTP"
	case a.pub != nil:
		mode = "interactions over HTTP"
	case !a.gateway:
		mode = "posting only, no commands (set DISCORD_PUBLIC_KEY)"
	}
	endpoint := discordgo.EndpointUser("@me")
	const what = "check DISCORD_BOT_TOKEN"
	if err := a.gate(ctx, what, http.MethodGet, endpoint); err != nil {
		return "", err
	}
	body, err := a.session.RequestWithBucketID(http.MethodGet, endpoint, nil, routeKey(http.MethodGet, endpoint), discordgo.WithContext(ctx))
	var re *discordgo.RESTError
	switch {
	case errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == http.StatusUnauthorized,
		errors.Is(err, discordgo.ErrUnauthorized):
		return "", errors.New("discord: DISCORD_BOT_TOKEN was refused (401 Unauthorized): nothing can be posted until it is fixed")
	case err != nil:
		return "", fmt.Errorf("discord: could not check DISCORD_BOT_TOKEN: %w", classify(what, err))
	}
	var u struct {
		ID       string `json:"id"`
		Username string `json:"username"`
	}
	if err := json.Unmarshal(body, &u); err != nil || u.Username == "" {
		return "", fmt.Errorf("discord: %s: no user in the answer", what)
	}
	return fmt.Sprintf("%s (user %s), %s", u.Username, u.ID, mode), nil
}
